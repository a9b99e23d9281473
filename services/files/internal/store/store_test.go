package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
	"bureau/services/platform/sqldb"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bothEngines runs f on a SQLite file and on a real PostgreSQL database.
func bothEngines(t *testing.T, f func(t *testing.T, ctx context.Context, st *store.Store)) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "files.db") },
		"postgres": func(t *testing.T) string { return testenv.SharedPostgres(t).NewDatabase(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			db, err := sqldb.Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st, err := store.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Open(ctx, db); err != nil { // migrating twice is a no-op
				t.Fatal(err)
			}
			f(t, ctx, st)
		})
	}
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestSpacesAndMembers(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		must(t, st.CreateSpace(ctx, store.Space{ID: "p1", Kind: store.SpacePersonal, Name: "Mon espace", OwnerID: "alice", CreatedBy: "alice", CreatedAt: t0}))
		err := st.CreateSpace(ctx, store.Space{ID: "p2", Kind: store.SpacePersonal, Name: "Mon espace", OwnerID: "alice", CreatedBy: "alice", CreatedAt: t0})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second personal space: %v", err)
		}
		must(t, st.CreateSpace(ctx, store.Space{ID: "t1", Kind: store.SpaceTeam, Name: "Projet", CreatedBy: "alice", CreatedAt: t0}))
		must(t, st.AddMember(ctx, store.Member{SpaceID: "t1", UserID: "bob", Role: store.RoleReader, AddedBy: "alice", AddedAt: t0}))
		if err := st.AddMember(ctx, store.Member{SpaceID: "t1", UserID: "bob", Role: store.RoleEditor, AddedBy: "alice", AddedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate member: %v", err)
		}
		spaces, err := st.SpacesOf(ctx, "alice")
		must(t, err)
		if len(spaces) != 2 || spaces[0].ID != "p1" || spaces[1].Role != store.RoleOwner {
			t.Fatalf("alice's spaces: %+v", spaces)
		}
		sp, err := st.SpaceFor(ctx, "t1", "bob")
		if err != nil || sp.Role != store.RoleReader || sp.Name != "Projet" {
			t.Fatalf("bob in t1: %+v %v", sp, err)
		}
		if _, err := st.SpaceFor(ctx, "p1", "bob"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob in alice's personal space: %v", err)
		}
		ms, err := st.Members(ctx, "t1")
		if err != nil || len(ms) != 2 || ms[0].UserID != "alice" || ms[1].Role != store.RoleReader {
			t.Fatalf("members: %+v %v", ms, err)
		}
	})
}

func TestTreeVersionsScans(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		must(t, st.CreateSpace(ctx, store.Space{ID: "s", Kind: store.SpaceTeam, Name: "S", CreatedBy: "a", CreatedAt: t0}))
		folder := func(id, parent, name string) error {
			return st.CreateFolder(ctx, store.Node{ID: id, SpaceID: "s", ParentID: parent, Name: name, CreatedBy: "a", CreatedAt: t0, ModifiedAt: t0})
		}
		must(t, folder("f1", "", "Rapports"))
		if err := folder("f2", "", "rapports"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("case-insensitive duplicate: %v", err)
		}
		must(t, folder("f3", "f1", "rapports")) // same name, other folder

		v := store.Version{ID: "v1", NodeID: "n1", BlobKey: "v/v1/v1", Size: 10, ContentType: "text/plain", UploadedBy: "a", CreatedAt: t0, Scan: store.ScanPending}
		n, err := st.AddVersion(ctx, "s", "f1", "Note.txt", v)
		if err != nil || n.ID != "n1" || n.Size != 10 || n.Scan != store.ScanPending || n.BlobKey != "v/v1/v1" {
			t.Fatalf("first version: %+v %v", n, err)
		}
		v2 := v
		v2.ID, v2.NodeID, v2.Size, v2.CreatedAt = "v2", "ignored", 20, t0.Add(time.Minute)
		n, err = st.AddVersion(ctx, "s", "f1", "NOTE.txt", v2)
		if err != nil || n.ID != "n1" || n.VersionID != "v2" || n.Size != 20 || n.Name != "Note.txt" {
			t.Fatalf("second version: %+v %v", n, err)
		}
		if _, err := st.AddVersion(ctx, "s", "", "RAPPORTS", store.Version{ID: "v3", NodeID: "n3", Scan: store.ScanPending, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("file over a folder: %v", err)
		}
		if _, err := st.AddVersion(ctx, "s", "nope", "x", store.Version{ID: "v4", NodeID: "n4", Scan: store.ScanPending, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing parent: %v", err)
		}

		pending, err := st.PendingScans(ctx, 10)
		if err != nil || len(pending) != 2 || pending[0].ID != "v1" || pending[0].Name != "Note.txt" || pending[0].SpaceID != "s" {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		ok, err := st.SetScan(ctx, "v2", store.ScanInfected, "Eicar", t0)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if ok, _ := st.SetScan(ctx, "v2", store.ScanClean, "", t0); ok {
			t.Fatal("a verdict overwrote another")
		}
		if n, _ := st.Node(ctx, "s", "n1"); n.Scan != store.ScanInfected {
			t.Fatalf("node scan %q", n.Scan)
		}

		// Listing: folders first, then by the chosen order, paginated.
		for i, name := range []string{"b", "A", "c"} {
			_, err := st.AddVersion(ctx, "s", "", name, store.Version{ID: "w" + name, NodeID: "m" + name, Size: int64(3 - i), Scan: store.ScanClean, CreatedAt: t0})
			must(t, err)
		}
		items, total, err := st.Children(ctx, "s", "", "name", false, 2, 0)
		must(t, err)
		if total != 4 || len(items) != 2 || items[0].Name != "Rapports" || items[1].Name != "A" {
			t.Fatalf("page 1: %d %+v", total, names(items))
		}
		items, _, err = st.Children(ctx, "s", "", "size", true, 10, 1)
		if err != nil || len(items) != 3 || items[0].Name != "b" || items[2].Name != "c" {
			t.Fatalf("by size desc, offset 1: %v %v", names(items), err)
		}

		// Rename onto a taken name, trash, reuse the name, restore.
		if err := st.Place(ctx, "s", "mb", "", "a", t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		must(t, st.Trash(ctx, "s", "mA", "a", t0))
		must(t, st.Place(ctx, "s", "mb", "", "a", t0))
		if err := st.Restore(ctx, "s", "mA"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("restore onto a taken name: %v", err)
		}
		trashed, err := st.Trashed(ctx, "s")
		if err != nil || len(trashed) != 1 || trashed[0].ID != "mA" || trashed[0].TrashedBy != "a" {
			t.Fatalf("trash: %+v %v", trashed, err)
		}
		must(t, st.Place(ctx, "s", "mb", "f1", "b", t0))
		must(t, st.Restore(ctx, "s", "mA"))
	})
}

func TestUploads(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		must(t, st.CreateSpace(ctx, store.Space{ID: "s", Kind: store.SpaceTeam, Name: "S", CreatedBy: "a", CreatedAt: t0}))
		must(t, st.CreateUpload(ctx, store.Upload{ID: "u1", UserID: "a", SpaceID: "s", Name: "big.bin", ContentType: "x/y", Length: 100, BlobKey: "v/u1", MultipartID: "mp", CreatedAt: t0}))
		if _, err := st.Upload(ctx, "u1", "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("someone else's upload: %v", err)
		}
		must(t, st.Commit(ctx, "u1", "", []blob.Part{{Number: 1, ETag: "e1", Size: 40}}, 7, -1, t0))
		must(t, st.Commit(ctx, "u1", "", []blob.Part{{Number: 2, ETag: "e2", Size: 40}}, 0, 40, t0))
		up, err := st.Upload(ctx, "u1", "a")
		if err != nil || up.PartsSize != 80 || up.TailSize != 0 || up.Offset() != 80 {
			t.Fatalf("upload: %+v %v", up, err)
		}
		// A part uploaded again replaces the old one, not adds to it.
		must(t, st.Commit(ctx, "u1", "", []blob.Part{{Number: 2, ETag: "e2b", Size: 40}}, 5, -1, t0))
		parts, err := st.Parts(ctx, "u1")
		if err != nil || len(parts) != 2 || parts[1].ETag != "e2b" {
			t.Fatalf("parts: %+v %v", parts, err)
		}
		if up, _ := st.Upload(ctx, "u1", "a"); up.Offset() != 85 {
			t.Fatalf("offset %d", up.Offset())
		}
		must(t, st.DeleteUpload(ctx, "u1"))
		if _, err := st.Upload(ctx, "u1", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted upload: %v", err)
		}
	})
}

func names(ns []store.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMembershipChangesAndInvitations(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		must(t, st.CreateSpace(ctx, store.Space{ID: "t1", Kind: store.SpaceTeam, Name: "Projet", CreatedBy: "alice", CreatedAt: t0}))
		if err := st.SetRole(ctx, "t1", "alice", store.RoleEditor); !errors.Is(err, store.ErrLastOwner) {
			t.Fatalf("demote last owner: %v", err)
		}
		if err := st.RemoveMember(ctx, "t1", "alice"); !errors.Is(err, store.ErrLastOwner) {
			t.Fatalf("remove last owner: %v", err)
		}
		if err := st.SetRole(ctx, "t1", "nobody", store.RoleEditor); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("role of a non-member: %v", err)
		}
		exp := t0.Add(time.Hour)
		must(t, st.CreateSpace(ctx, store.Space{ID: "t2", Kind: store.SpaceTeam, Name: "Ancien", CreatedBy: "alice", CreatedAt: t0}))
		must(t, st.Invite(ctx, store.Member{SpaceID: "t1", Email: "Emma@X.fr", Role: store.RoleEditor, AddedBy: "alice", AddedAt: t0, ExpiresAt: &exp}))
		if err := st.Invite(ctx, store.Member{SpaceID: "t1", Email: "emma@x.fr", Role: store.RoleReader, AddedBy: "alice", AddedAt: t0, ExpiresAt: &exp}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second invitation: %v", err)
		}
		old := t0.Add(-time.Minute)
		must(t, st.Invite(ctx, store.Member{SpaceID: "t2", Email: "emma@x.fr", Role: store.RoleEditor, AddedBy: "alice", AddedAt: t0.Add(-time.Hour), ExpiresAt: &old}))
		claimed, expired, err := st.SeeAgent(ctx, "emma", "EMMA@x.fr", t0)
		if err != nil || len(claimed) != 1 || claimed[0].SpaceID != "t1" || claimed[0].Role != store.RoleEditor {
			t.Fatalf("claimed: %+v %v", claimed, err)
		}
		if len(expired) != 1 || expired[0].SpaceID != "t2" || !expired[0].ExpiresAt.Equal(old) {
			t.Fatalf("expired: %+v", expired)
		}
		if again, _, err := st.SeeAgent(ctx, "emma", "emma@x.fr", t0); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice: %+v %v", again, err)
		}
		// Sent again, the expired invitation is valid and claimed.
		renewed := t0.Add(time.Hour)
		must(t, st.RenewInvitation(ctx, store.Member{SpaceID: "t2", Email: "EMMA@x.fr", Role: store.RoleReader, AddedBy: "alice", AddedAt: t0, ExpiresAt: &renewed}))
		if claimed, _, err := st.ClaimInvitations(ctx, "emma", "emma@x.fr", t0); err != nil || len(claimed) != 1 || claimed[0].Role != store.RoleReader {
			t.Fatalf("renewed: %+v %v", claimed, err)
		}
		if id, err := st.AgentByEmail(ctx, "Emma@x.fr"); err != nil || id != "emma" {
			t.Fatalf("agent by email: %q %v", id, err)
		}
		must(t, st.SetRole(ctx, "t1", "emma", store.RoleOwner))
		must(t, st.RemoveMember(ctx, "t1", "alice"))
		ms, err := st.Members(ctx, "t1")
		if err != nil || len(ms) != 1 || ms[0].UserID != "emma" || ms[0].Email != "emma@x.fr" || ms[0].Status != store.StatusMember {
			t.Fatalf("members: %+v %v", ms, err)
		}
	})
}

// Search by substring through each engine's index, kept up to date by
// renames and deletions, limited to the agent's spaces.
func TestSearch(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		for _, sp := range []string{"s1", "s2"} {
			must(t, st.CreateSpace(ctx, store.Space{ID: sp, Kind: store.SpaceTeam, Name: "Espace " + sp, CreatedBy: "a", CreatedAt: t0}))
		}
		add := func(space, id, name, scan string) {
			_, err := st.AddVersion(ctx, space, "", name, store.Version{ID: "v" + id, NodeID: id, Scan: scan, CreatedAt: t0, UploadedBy: "a"})
			must(t, err)
		}
		add("s1", "n1", "Rapport Annuel.pdf", store.ScanClean)
		add("s1", "n2", "rapport_100%.txt", store.ScanClean)
		add("s1", "n3", "virus-rapport.exe", store.ScanPending)
		add("s1", "n4", "Été.txt", store.ScanClean)
		add("s2", "n5", "rapport de b.pdf", store.ScanClean)
		must(t, st.AddMember(ctx, store.Member{SpaceID: "s2", UserID: "b", Role: store.RoleOwner, AddedBy: "a", AddedAt: t0}))
		_, err := st.SetScan(ctx, "vn3", store.ScanInfected, "x", t0)
		must(t, err)
		must(t, st.RemoveMember(ctx, "s2", "a"))

		search := func(user, q string) []string {
			t.Helper()
			hits, err := st.Search(ctx, user, q, store.Cursor{}, 10)
			must(t, err)
			var out []string
			for _, h := range hits {
				out = append(out, h.Name+"@"+h.SpaceName)
			}
			return out
		}
		if got := search("a", "RAPPORT"); len(got) != 2 || got[0] != "Rapport Annuel.pdf@Espace s1" || got[1] != "rapport_100%.txt@Espace s1" {
			t.Fatalf("a searches rapport: %v", got)
		}
		if got := search("a", "%"); len(got) != 1 || got[0] != "rapport_100%.txt@Espace s1" {
			t.Fatalf("LIKE wildcards are literal: %v", got)
		}
		if got := search("a", "t_1"); len(got) != 1 {
			t.Fatalf("underscore is literal: %v", got)
		}
		if got := search("a", "ÉT"); len(got) != 1 || got[0] != "Été.txt@Espace s1" {
			t.Fatalf("accents, short query: %v", got)
		}
		if got := search("b", "rapport"); len(got) != 1 || got[0] != "rapport de b.pdf@Espace s2" {
			t.Fatalf("b's search: %v", got)
		}
		// Renamed, trashed, deleted: the index follows.
		must(t, st.Place(ctx, "s1", "n1", "", "Bilan.pdf", t0))
		must(t, st.Trash(ctx, "s1", "n2", "a", t0))
		if got := search("a", "rapport"); len(got) != 0 {
			t.Fatalf("after rename and trash: %v", got)
		}
		if got := search("a", "bilan"); len(got) != 1 {
			t.Fatalf("new name: %v", got)
		}
		_, err = st.DeleteNodes(ctx, "s1", []string{"n1"})
		must(t, err)
		if got := search("a", "bilan"); len(got) != 0 {
			t.Fatalf("after deletion: %v", got)
		}
	})
}

// The lease of a PATCH: one holder at a time, taken only at the expected
// offset, lapsing, and commits refused once lost.
func TestUploadLease(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		must(t, st.CreateSpace(ctx, store.Space{ID: "s", Kind: store.SpaceTeam, Name: "S", CreatedBy: "a", CreatedAt: t0}))
		must(t, st.CreateUpload(ctx, store.Upload{ID: "u1", UserID: "a", SpaceID: "s", Name: "f", Length: 100, BlobKey: "k", MultipartID: "m", CreatedAt: t0}))
		until := t0.Add(10 * time.Second)
		if err := st.Lease(ctx, "u1", "a", 5, "A", t0, until); !errors.Is(err, store.ErrOffset) {
			t.Fatalf("lease at a wrong offset: %v", err)
		}
		if err := st.Lease(ctx, "u1", "b", 0, "A", t0, until); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lease of another's upload: %v", err)
		}
		must(t, st.Lease(ctx, "u1", "a", 0, "A", t0, until))
		if err := st.Lease(ctx, "u1", "a", 0, "B", t0.Add(time.Second), until); !errors.Is(err, store.ErrBusy) {
			t.Fatalf("second lease: %v", err)
		}
		must(t, st.Commit(ctx, "u1", "A", []blob.Part{{Number: 1, ETag: "e", Size: 40}}, 0, -1, t0))
		if err := st.Commit(ctx, "u1", "B", nil, 3, -1, t0); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("commit without the lease: %v", err)
		}
		// A lapses; B takes it over at the committed offset; A is out.
		must(t, st.Lease(ctx, "u1", "a", 40, "B", until.Add(time.Millisecond), until.Add(time.Minute)))
		if err := st.Renew(ctx, "u1", "A", until.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("renewal of a lost lease: %v", err)
		}
		if err := st.Commit(ctx, "u1", "A", nil, 3, -1, t0); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("commit of a lost lease: %v", err)
		}
		must(t, st.Release(ctx, "u1", "B"))
		must(t, st.Lease(ctx, "u1", "a", 40, "C", until, until.Add(time.Second)))
	})
}

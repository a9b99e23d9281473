package store

import (
	"context"
	"testing"
	"time"

	"bureau/services/meet/internal/rooms"
	"bureau/services/platform/identity"
	"bureau/services/platform/sqldb"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// databases are the two backends the store runs on.
var databases = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return "sqlite://" + t.TempDir() + "/meet.db" },
	"postgres": func(t *testing.T) string { return testenv.SharedPostgres(t).NewDatabase(t) },
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Purge deletes the meetings over for more than the retention period —
// cancelled, ended, or instant and unused — with their people, guest links
// and bans, and keeps everything else (SQLite file and PostgreSQL).
func TestPurge(t *testing.T) {
	for name, dsn := range databases {
		t.Run(name, func(t *testing.T) { testPurge(t, open(t, dsn(t))) })
	}
}

func testPurge(t *testing.T, s *Store) {
	ctx := context.Background()
	host := identity.User{ID: "u1", GivenName: "Alice", Ministry: "interieur"}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mk := func(created time.Time, start, end time.Time) *rooms.Room {
		spec := rooms.Spec{Invitees: []string{"bob@interieur.gouv.fr"}}
		if !start.IsZero() {
			spec.StartsAt, spec.EndsAt = &start, &end
		}
		r, err := rooms.New(host, spec, created)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
		g := &GuestLink{ID: "gl" + r.ID[:14], RoomID: r.ID, CreatedBy: host.ID, CreatedAt: created}
		_, hash := NewGuestToken()
		if err := s.CreateGuestLink(ctx, g, hash); err != nil {
			t.Fatal(err)
		}
		if err := s.Ban(ctx, r.ID, "guest-x", host.ID, created); err != nil {
			t.Fatal(err)
		}
		if err := s.Admit(ctx, r.ID, "guest-y", Admission{Role: rooms.RoleSpeaker, Hand: true}, created); err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := now.Add(-200 * day)
	endedLongAgo := mk(old, old.Add(day), old.Add(day+time.Hour))
	endedRecently := mk(old, now.Add(-10*day), now.Add(-10*day+time.Hour))
	upcoming := mk(old, now.Add(day), now.Add(day+time.Hour))
	instantUnused := mk(old, time.Time{}, time.Time{})
	instantUsed := mk(old, time.Time{}, time.Time{})
	if err := s.Used(ctx, instantUsed.ID, now.Add(-5*day)); err != nil {
		t.Fatal(err)
	}
	cancelledLongAgo := mk(old, time.Time{}, time.Time{})
	if err := s.CancelRoom(ctx, cancelledLongAgo.ID, old.Add(day)); err != nil {
		t.Fatal(err)
	}
	cancelledRecently := mk(old, time.Time{}, time.Time{})
	if err := s.CancelRoom(ctx, cancelledRecently.ID, now.Add(-day)); err != nil {
		t.Fatal(err)
	}

	n, err := s.Purge(ctx, now.Add(-90*day))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("purged %d meetings, want 3", n)
	}
	for _, r := range []*rooms.Room{endedLongAgo, instantUnused, cancelledLongAgo} {
		if _, err := s.Room(ctx, r.ID); err != ErrNotFound {
			t.Errorf("room %s still there: %v", r.ID, err)
		}
		if ls, err := s.GuestLinks(ctx, r.ID); err != nil || len(ls) != 0 {
			t.Errorf("room %s: guest links left: %v %v", r.ID, ls, err)
		}
		if st, err := s.Standing(ctx, r.ID, "guest-x"); err != nil || st.Banned {
			t.Errorf("room %s: ban left: %+v %v", r.ID, st, err)
		}
		if st, err := s.Standing(ctx, r.ID, "guest-y"); err != nil || st.Admitted {
			t.Errorf("room %s: admission left: %+v %v", r.ID, st, err)
		}
	}
	for _, r := range []*rooms.Room{endedRecently, upcoming, instantUsed, cancelledRecently} {
		got, err := s.Room(ctx, r.ID)
		if err != nil {
			t.Fatalf("room %s purged: %v", r.ID, err)
		}
		if len(got.Invitees) != 1 {
			t.Errorf("room %s lost its invitees: %v", r.ID, got.Invitees)
		}
		if st, err := s.Standing(ctx, r.ID, "guest-x"); err != nil || !st.Banned {
			t.Errorf("room %s lost its ban: %+v %v", r.ID, st, err)
		}
		if st, err := s.Standing(ctx, r.ID, "guest-y"); err != nil || !st.Admitted || st.Was.Role != rooms.RoleSpeaker || !st.Was.Hand {
			t.Errorf("room %s lost its admission: %+v %v", r.ID, st, err)
		}
	}
	var people, links int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM meet_room_people), (SELECT COUNT(*) FROM meet_guest_links)`).Scan(&people, &links); err != nil {
		t.Fatal(err)
	}
	if people != 4 || links != 4 {
		t.Fatalf("left %d people and %d links, want 4 and 4", people, links)
	}
	// Nothing more to purge.
	if n, err := s.Purge(ctx, now.Add(-90*day)); err != nil || n != 0 {
		t.Fatalf("second purge: %d %v", n, err)
	}
}

// Admissions: recorded, replaced (a promotion, a hand), cleared one by one
// (removal) or for the whole meeting (end), separately per room; the
// webinar chat setting is stored and read back (SQLite file and
// PostgreSQL).
func TestAdmissionsAndChatScope(t *testing.T) {
	for name, dsn := range databases {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn(t))
			ctx := context.Background()
			host := identity.User{ID: "u1", GivenName: "Alice", Ministry: "interieur"}
			now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			stage := rooms.ChatStage
			r1, err := rooms.New(host, rooms.Spec{Kind: rooms.KindWebinar, WebinarChat: &stage}, now)
			if err != nil {
				t.Fatal(err)
			}
			r2, _ := rooms.New(host, rooms.Spec{}, now)
			for _, r := range []*rooms.Room{r1, r2} {
				if err := s.CreateRoom(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := s.Room(ctx, r1.ID); err != nil || got.WebinarChat != rooms.ChatStage {
				t.Fatalf("webinar chat at creation: %+v %v", got, err)
			}
			if got, _ := s.Room(ctx, r2.ID); got.WebinarChat != rooms.ChatEveryone {
				t.Fatalf("default webinar chat: %q", got.WebinarChat)
			}
			if err := s.SetWebinarChat(ctx, r1.ID, rooms.ChatOff); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Room(ctx, r1.ID); got.WebinarChat != rooms.ChatOff {
				t.Fatalf("webinar chat after a change: %q", got.WebinarChat)
			}

			want := func(room, subject string, ok bool, a Admission) {
				t.Helper()
				st, err := s.Standing(ctx, room, subject)
				if err != nil || st.Admitted != ok || st.Was != a || st.Banned {
					t.Fatalf("admission of %s in %s: %+v %v, want %+v %v", subject, room, st, err, a, ok)
				}
			}
			want(r1.ID, "guest-a", false, Admission{})
			for _, sub := range []string{"guest-a", "ub"} {
				if err := s.Admit(ctx, r1.ID, sub, Admission{Role: rooms.RoleAttendee}, now); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Admit(ctx, r2.ID, "guest-a", Admission{Role: rooms.RoleGuest}, now); err != nil {
				t.Fatal(err)
			}
			if err := s.Admit(ctx, r1.ID, "guest-a", Admission{Role: rooms.RoleSpeaker, Hand: true}, now.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			want(r1.ID, "guest-a", true, Admission{Role: rooms.RoleSpeaker, Hand: true})
			if err := s.ForgetAdmission(ctx, r1.ID, "ub"); err != nil {
				t.Fatal(err)
			}
			want(r1.ID, "ub", false, Admission{})
			want(r1.ID, "guest-a", true, Admission{Role: rooms.RoleSpeaker, Hand: true})
			if err := s.ForgetAdmissions(ctx, r1.ID); err != nil {
				t.Fatal(err)
			}
			want(r1.ID, "guest-a", false, Admission{})
			want(r2.ID, "guest-a", true, Admission{Role: rooms.RoleGuest})
		})
	}
}

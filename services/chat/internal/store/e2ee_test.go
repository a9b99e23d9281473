package store_test

import (
	"errors"
	"slices"
	"testing"

	"bureau/services/chat/internal/store"
)

// TestE2EEAndAccountStore runs every query of the encryption, account data
// and directory parts on both engines.
func TestE2EEAndAccountStore(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []store.User{{UserID: "@a:x", BureauID: "a", DisplayName: "Alice"}, {UserID: "@b:x", BureauID: "b", DisplayName: "Bob_"}} {
			_, err := s.EnsureUser(ctx, u, 1)
			must(err)
			must(s.PutDevice(ctx, store.Device{UserID: u.UserID, DeviceID: "D"}, u.BureauID+"tok", 1))
		}
		must(s.SetAffiliation(ctx, "@a:x", "interieur", false))
		must(s.SetAffiliation(ctx, "@b:x", "interieur", false))
		_, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$j", "$c", "m.room.member", sk("@a:x"), `{"membership":"join"}`),
			ev("!r:x", "$j2", "$j", "m.room.member", sk("@b:x"), `{"membership":"join"}`),
		})
		must(err)
		p0, _ := s.MaxPos(ctx)

		changed, err := s.UploadKeys(ctx, store.KeyUpload{UserID: "@a:x", DeviceID: "D", DeviceKeys: `{"k":1}`,
			OneTimeKeys:  []store.OneTimeKey{{Algorithm: "signed_curve25519", KeyID: "A", JSON: `{}`}},
			FallbackKeys: []store.OneTimeKey{{Algorithm: "signed_curve25519", KeyID: "F", JSON: `{}`}}})
		must(err)
		if !changed {
			t.Fatal("first device keys not a change")
		}
		if changed, _ := s.UploadKeys(ctx, store.KeyUpload{UserID: "@a:x", DeviceID: "D", DeviceKeys: `{"k":1}`}); changed {
			t.Fatal("same device keys counted as a change")
		}
		p1, _ := s.MaxPos(ctx)
		if got, err := s.KeyChanges(ctx, p0, p1, []string{"@a:x", "@b:x"}); err != nil || !slices.Equal(got, []string{"@a:x"}) {
			t.Fatalf("key changes %v %v", got, err)
		}
		counts, err := s.OneTimeKeyCounts(ctx, "@a:x", "D")
		if err != nil || counts["signed_curve25519"] != 1 {
			t.Fatalf("counts %v %v", counts, err)
		}
		for _, want := range []string{"A", "F", "F"} {
			k, err := s.ClaimKey(ctx, store.Claim{UserID: "@a:x", DeviceID: "D", Algorithm: "signed_curve25519"})
			if err != nil || k.KeyID != want {
				t.Fatalf("claim %v %v, want %s", k, err, want)
			}
		}
		if _, err := s.ClaimKey(ctx, store.Claim{UserID: "@b:x", DeviceID: "D", Algorithm: "signed_curve25519"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim none: %v", err)
		}
		if types, err := s.UnusedFallbackTypes(ctx, "@a:x", "D"); err != nil || len(types) != 0 {
			t.Fatalf("fallback %v %v", types, err)
		}
		dk, err := s.DeviceKeys(ctx, map[string][]string{"@a:x": nil})
		if err != nil || dk["@a:x"]["D"] != `{"k":1}` {
			t.Fatalf("device keys %v %v", dk, err)
		}
		must(s.PutCrossSigningKeys(ctx, "@a:x", []store.CrossSigningKey{{Type: "master", JSON: `{"m":1}`}}))
		if has, err := s.HasMasterKey(ctx, "@a:x"); err != nil || !has {
			t.Fatalf("master %v %v", has, err)
		}
		must(s.PutSignatures(ctx, []store.Signature{{TargetUser: "@a:x", TargetKey: "D", SignerUser: "@a:x", SignerKey: "ed25519:S", Signature: "sig"}}))
		if sigs, err := s.Signatures(ctx, "@a:x"); err != nil || len(sigs) != 1 {
			t.Fatalf("sigs %v %v", sigs, err)
		}
		shares, err := s.SharedMembers(ctx, "@b:x")
		if err != nil || len(shares) != 2 {
			t.Fatalf("shares %v %v", shares, err)
		}
		if mc, err := s.MembershipChanges(ctx, []string{"!r:x"}, 0, p1); err != nil || len(mc) != 2 {
			t.Fatalf("membership changes %v %v", mc, err)
		}

		must(s.SendToDevice(ctx, "@a:x", "D", "t1", []store.ToDevice{{UserID: "@b:x", DeviceID: "D", Sender: "@a:x", Type: "m.x", ContentJSON: `{}`}, {UserID: "@b:x", DeviceID: "D", Sender: "@a:x", Type: "m.y", ContentJSON: `{}`}}))
		must(s.SendToDevice(ctx, "@a:x", "D", "t1", []store.ToDevice{{UserID: "@b:x", DeviceID: "D", Sender: "@a:x", Type: "m.z", ContentJSON: `{}`}}))
		p2, _ := s.MaxPos(ctx)
		msgs, more, err := s.TakeToDevice(ctx, "@b:x", "D", 0, p2, 1)
		if err != nil || len(msgs) != 1 || !more || msgs[0].Type != "m.x" {
			t.Fatalf("to-device %v %v %v", msgs, more, err)
		}
		msgs, more, err = s.TakeToDevice(ctx, "@b:x", "D", msgs[0].Pos, p2, 10)
		if err != nil || len(msgs) != 1 || more || msgs[0].Type != "m.y" {
			t.Fatalf("to-device after ack %v %v %v", msgs, more, err)
		}
		if ids, err := s.DeviceIDs(ctx, "@b:x"); err != nil || !slices.Equal(ids, []string{"D"}) {
			t.Fatalf("device ids %v %v", ids, err)
		}

		v, err := s.CreateBackup(ctx, "@a:x", "alg", `{}`)
		must(err)
		if _, err := s.PutBackupKeys(ctx, "@a:x", v, []store.BackupKey{{RoomID: "!r:x", SessionID: "s", JSON: `{"a":1}`}}, func(string, string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutBackupKeys(ctx, "@a:x", v, []store.BackupKey{{RoomID: "!r:x", SessionID: "s", JSON: `{"a":2}`}}, func(string, string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		b, err := s.Backup(ctx, "@a:x", 0)
		if err != nil || b.Version != v || b.Count != 1 || b.ETag != 2 {
			t.Fatalf("backup %+v %v", b, err)
		}
		must(s.UpdateBackup(ctx, "@a:x", v, `{"x":1}`))
		if keys, err := s.BackupKeys(ctx, "@a:x", v, "!r:x", "s"); err != nil || len(keys) != 1 || keys[0].JSON != `{"a":2}` {
			t.Fatalf("backup keys %v %v", keys, err)
		}
		if _, err := s.DeleteBackupKeys(ctx, "@a:x", v, "!r:x", ""); err != nil {
			t.Fatal(err)
		}
		must(s.DeleteBackup(ctx, "@a:x", v))
		if _, err := s.Backup(ctx, "@a:x", v); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted backup: %v", err)
		}

		// Account data, receipts, profile, directory, devices.
		must(s.PutAccountData(ctx, "@a:x", "", "m.direct", `{}`))
		must(s.PutAccountData(ctx, "@a:x", "!r:x", "m.tag", `{}`))
		if ads, err := s.AccountDataSince(ctx, "@a:x", p2, p2+10); err != nil || len(ads) != 2 {
			t.Fatalf("account data %v %v", ads, err)
		}
		if c, err := s.GetAccountData(ctx, "@a:x", "!r:x", "m.tag"); err != nil || c != `{}` {
			t.Fatalf("get account data %q %v", c, err)
		}
		must(s.PutReceipt(ctx, store.Receipt{RoomID: "!r:x", UserID: "@a:x", Type: "m.read", EventID: "$j2", TS: 5}))
		if rs, err := s.Receipts(ctx, []string{"!r:x"}, 0, p2+10); err != nil || len(rs) != 1 {
			t.Fatalf("receipts %v %v", rs, err)
		}
		if _, err := s.AllocPos(ctx); err != nil {
			t.Fatal(err)
		}
		must(s.SetProfileField(ctx, "@a:x", "avatar_url", "mxc://x/y"))
		if p, err := s.GetProfile(ctx, "@a:x"); err != nil || p.AvatarURL != "mxc://x/y" {
			t.Fatalf("profile %v %v", p, err)
		}
		if us, _, err := s.SearchUsers(ctx, "@a:x", "bob_", 10); err != nil || len(us) != 1 {
			t.Fatalf("search %v %v", us, err)
		}
		if us, _, err := s.SearchUsers(ctx, "@a:x", "o%", 10); err != nil || len(us) != 0 {
			t.Fatalf("search wildcard %v %v", us, err)
		}
		must(s.RenameDevice(ctx, "@a:x", "D", "phone"))
		must(s.DeleteDevice(ctx, "@a:x", "D"))
		if dk, _ := s.DeviceKeys(ctx, map[string][]string{"@a:x": nil}); len(dk["@a:x"]) != 0 {
			t.Fatalf("keys of a deleted device: %v", dk)
		}
	})
}

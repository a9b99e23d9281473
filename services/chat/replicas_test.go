package chat_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/platform/testenv"
)

// replicas starts two chat services on one real PostgreSQL database and
// one real Redis, as two replicas behind a load balancer.
func replicas(t *testing.T) (*env, *env) {
	rd := testenv.StartRedis(t)
	a := newEnvOn(t, testenv.SharedPostgres(t).NewDatabase(t), "redis://"+rd.Addr)
	a.start()
	t.Cleanup(a.stop)
	b := *a // same database, Redis, identity key and signing key
	b.start()
	t.Cleanup(b.stop)
	return a, &b
}

// on returns a client of the same device talking to another replica.
func on(t *testing.T, e *env, cli *mautrix.Client) *mautrix.Client {
	c, err := mautrix.NewClient(e.srv.URL, cli.UserID, cli.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	c.DeviceID = cli.DeviceID
	return c
}

// A /sync parked on one replica wakes when the other replica stores an
// event (through the Redis bus), long before its timeout.
func TestReplicasWakeEachOther(t *testing.T) {
	ra, rb := replicas(t)
	ctx := t.Context()
	a := ra.login(alice)
	b := rb.login(bob)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name             string
		sender, receiver *mautrix.Client
		parkedOn         *env
	}{
		{"a→b", a, b, rb},
		{"b→a", b, a, ra},
	} {
		t.Run(c.name, func(t *testing.T) {
			first, err := c.receiver.SyncRequest(ctx, 0, "", "", false, "")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan *mautrix.RespSync, 1)
			go func() {
				r, err := c.receiver.SyncRequest(ctx, 20000, first.NextBatch, "", false, "")
				if err != nil {
					t.Error(err)
				}
				done <- r
			}()
			waitFor(t, func() bool { return c.parkedOn.handlerWaiting(nil) })
			start := time.Now()
			if _, err := c.sender.SendText(ctx, room.RoomID, "via "+c.name); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r == nil {
				t.FailNow()
			}
			if got := timelineBodies(r, room.RoomID); !slices.Equal(got, []string{"via " + c.name}) || time.Since(start) > 10*time.Second {
				t.Fatalf("woken after %v with %v", time.Since(start), got)
			}
			t.Logf("%s: delivered across replicas in %v", c.name, time.Since(start))
		})
	}
	// Typing set through one replica reaches a sync parked on the other.
	first, err := b.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *mautrix.RespSync, 1)
	go func() {
		r, err := b.SyncRequest(ctx, 20000, first.NextBatch, "", false, "")
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitFor(t, func() bool { return rb.handlerWaiting(nil) })
	start := time.Now()
	if _, err := a.UserTyping(ctx, room.RoomID, true, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r == nil {
		t.FailNow()
	}
	var typing []id.UserID
	if jr := r.Rooms.Join[room.RoomID]; jr != nil {
		for _, ev := range jr.Ephemeral.Events {
			if ev.Type == event.EphemeralEventTyping {
				_ = ev.Content.ParseRaw(ev.Type)
				typing = ev.Content.AsTyping().UserIDs
			}
		}
	}
	if !slices.Equal(typing, []id.UserID{a.UserID}) || time.Since(start) > 10*time.Second {
		t.Fatalf("typing across replicas: %v after %v", typing, time.Since(start))
	}
}

// Stream positions are global across replicas: a reader whose incremental
// syncs alternate between the replicas, while both replicas take sends
// into one room, sees every event exactly once, in /messages order.
func TestReplicasShareOneStream(t *testing.T) {
	ra, rb := replicas(t)
	ctx := t.Context()
	a, b, c := ra.login(alice), rb.login(bob), ra.login(carol)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cli := range []*mautrix.Client{b, c} {
		if _, err := cli.JoinRoomByID(ctx, room.RoomID); err != nil {
			t.Fatal(err)
		}
	}
	readers := []*mautrix.Client{c, on(t, rb, c)}
	filter := `{"room":{"timeline":{"limit":100}}}`
	first, err := c.SyncRequest(ctx, 0, "", filter, false, "")
	if err != nil {
		t.Fatal(err)
	}
	const each = 40
	var wg sync.WaitGroup
	for _, s := range []*mautrix.Client{a, b} {
		wg.Go(func() {
			for i := range each {
				if _, err := s.SendText(ctx, room.RoomID, fmt.Sprintf("%s %d", s.UserID, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var seen []id.EventID
	since := first.NextBatch
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; len(seen) < 2*each; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d messages", len(seen), 2*each)
		}
		r, err := readers[i%2].SyncRequest(ctx, 5000, since, filter, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if jr := r.Rooms.Join[room.RoomID]; jr != nil {
			if jr.Timeline.Limited {
				t.Fatal("limited timeline: a gap between replicas' tokens")
			}
			for _, ev := range jr.Timeline.Events {
				if ev.Type == event.EventMessage {
					seen = append(seen, ev.ID)
				}
			}
		}
		since = r.NextBatch
	}
	wg.Wait()
	page, err := a.Messages(ctx, room.RoomID, "", "", mautrix.DirectionBackward, nil, 200)
	if err != nil {
		t.Fatal(err)
	}
	var stored []id.EventID
	for _, ev := range page.Chunk {
		if ev.Type == event.EventMessage {
			stored = append(stored, ev.ID)
		}
	}
	slices.Reverse(stored)
	if !slices.Equal(seen, stored) {
		t.Fatalf("sync across replicas saw %d events %v,\n/messages has %d %v", len(seen), seen, len(stored), stored)
	}
}

package files_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
)

// events follows the notification topic of an in-process bus.
type events struct {
	t   *testing.T
	b   bus.Bus
	ch  <-chan bus.Message
	ctx context.Context
}

// watch subscribes before anything is done, so nothing is missed.
func watch(t *testing.T, b bus.Bus) *events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	ch, err := b.Subscribe(ctx, notify.Topic)
	if err != nil {
		t.Fatal(err)
	}
	return &events{t: t, b: b, ch: ch, ctx: ctx}
}

// next returns the next event for user, skipping the others, within 10s.
func (w *events) next(user string) notify.Event {
	w.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case msg, ok := <-w.ch:
			if !ok {
				w.t.Fatal("subscription closed")
			}
			ev, err := notify.Decode(msg)
			if err != nil {
				w.t.Fatal(err)
			}
			if ev.User == user {
				return ev
			}
		case <-deadline.C:
			w.t.Fatalf("no event for %s", user)
		}
	}
}

// sentinel publishes a marker event for user: anything user receives
// before it was published before it.
func (w *events) sentinel(user string) {
	w.t.Helper()
	if _, err := notify.Publish(w.ctx, w.b, notify.Event{User: user, Type: "test.sentinel"}); err != nil {
		w.t.Fatal(err)
	}
}

func note(t *testing.T, ev notify.Event) notify.Notification {
	t.Helper()
	n, err := ev.Notification()
	if err != nil {
		t.Fatalf("event %+v: %v", ev, err)
	}
	return n
}

// Members are told live of what is added to a space and of being added
// to one; the actor and outsiders are not; link creators hear of their
// links' use, throttled.
func TestLiveNotifications(t *testing.T) {
	t.Parallel()
	e, w := newBusEnv(t)

	var sp space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Projet Marianne"}, 201, &sp)
	base := "/api/files/spaces/" + sp.ID
	e.call(&alice, "POST", base+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)

	ev := w.next(bruno.ID)
	if n := note(t, ev); ev.Type != "files.shared" || !strings.Contains(n.Title, "Alice Martin") ||
		!strings.Contains(n.Title, "Projet Marianne") || n.Link != "/fichiers/"+sp.ID {
		t.Fatalf("shared: %+v %+v", ev, n)
	}

	// A uploads: B hears of it, with the folder's link.
	var dir node
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Comptes rendus"}, 201, &dir)
	ev = w.next(bruno.ID)
	if n := note(t, ev); ev.Type != "files.added" || !strings.Contains(n.Body, "Comptes rendus") || n.Link != "/fichiers/"+sp.ID {
		t.Fatalf("folder added: %+v %+v", ev, n)
	}
	e.putFile(&alice, sp.ID, dir.ID, "cr.txt", []byte("compte rendu"))
	ev = w.next(bruno.ID)
	n := note(t, ev)
	if ev.Type != "files.added" || n.Title != "Nouveau fichier dans « Projet Marianne »" ||
		n.Body != "cr.txt — déposé par Alice Martin" || n.Link != "/fichiers/"+sp.ID+"/"+dir.ID {
		t.Fatalf("file added: %+v %+v", ev, n)
	}
	// tus too.
	resp, loc := e.tusCreate(&alice, 3, map[string]string{"filename": "tus.txt", "space": sp.ID, "parent": dir.ID})
	if resp.StatusCode != 201 {
		t.Fatalf("tus create: %d", resp.StatusCode)
	}
	if resp := e.tusPatch(&alice, loc, 0, []byte("abc")); resp.StatusCode != 204 {
		t.Fatalf("tus patch: %d", resp.StatusCode)
	}
	if ev = w.next(bruno.ID); ev.Type != "files.added" || !strings.Contains(note(t, ev).Body, "tus.txt") {
		t.Fatalf("tus added: %+v", ev)
	}

	// WebDAV too.
	dav := e.davFront(&alice).URL + "/dav/Projet%20Marianne/Comptes%20rendus/dav.txt"
	if resp := davReq(t, &alice, "PUT", dav, strings.NewReader("dav"), nil); resp.StatusCode != 201 {
		t.Fatalf("WebDAV PUT: %d", resp.StatusCode)
	}
	if ev = w.next(bruno.ID); ev.Type != "files.added" || !strings.Contains(note(t, ev).Body, "dav.txt") {
		t.Fatalf("WebDAV added: %+v", ev)
	}

	// Neither the actor nor a non-member got anything: their first
	// events are the markers published now.
	w.sentinel(alice.ID)
	if ev := w.next(alice.ID); ev.Type != "test.sentinel" {
		t.Fatalf("the actor was notified: %+v", ev)
	}
	w.sentinel(chloe.ID)
	if ev := w.next(chloe.ID); ev.Type != "test.sentinel" {
		t.Fatalf("a non-member was notified: %+v", ev)
	}

	// Two quick downloads through a link: one notice to its creator.
	var rl struct{ Token, Path string }
	e.call(&alice, "POST", base+"/links", map[string]any{"node": dir.ID, "kind": "read"}, 201, &rl)
	f := e.putFile(&bruno, sp.ID, dir.ID, "annexe.txt", []byte("annexe"))
	if ev = w.next(alice.ID); ev.Type != "files.added" || !strings.Contains(note(t, ev).Body, "annexe.txt") {
		t.Fatalf("bruno's upload to alice: %+v", ev)
	}
	for range 2 {
		if code, body := status(e.pub("GET", rl.Path+"/content?node="+f.ID, nil, nil)); code != 200 || body != "annexe" {
			t.Fatalf("link download: %d %s", code, body)
		}
	}
	ev = w.next(alice.ID)
	if n := note(t, ev); ev.Type != "files.link_used" || !strings.Contains(n.Body, "annexe.txt") || n.Link != "/fichiers/"+sp.ID {
		t.Fatalf("link used: %+v %+v", ev, n)
	}
	w.sentinel(alice.ID)
	if ev := w.next(alice.ID); ev.Type != "test.sentinel" {
		t.Fatalf("second link use not throttled: %+v", ev)
	}

	// A deposit through a dépôt link: members hear of the file, the
	// link's creator (bruno) of the link's use.
	var ul struct{ Token, Path string }
	e.call(&bruno, "POST", base+"/links", map[string]any{"node": dir.ID, "kind": "upload"}, 201, &ul)
	if code, body := status(e.pub("PUT", ul.Path+"/content?name=depot.txt", bytes.NewReader([]byte("dépôt")), nil)); code != 201 {
		t.Fatalf("deposit: %d %s", code, body)
	}
	if ev = w.next(alice.ID); ev.Type != "files.added" || note(t, ev).Body != "depot.txt — déposé par un lien de dépôt" {
		t.Fatalf("deposit to alice: %+v", ev)
	}
	if ev = w.next(bruno.ID); ev.Type != "files.added" {
		t.Fatalf("deposit to bruno: %+v", ev)
	}
	if ev = w.next(bruno.ID); ev.Type != "files.link_used" || !strings.Contains(note(t, ev).Body, "depot.txt") {
		t.Fatalf("deposit link used: %+v", ev)
	}
}

package chat_test

import (
	"net/url"
	"sync"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
)

// Threaded notification counts: with unread_thread_notifications the
// room's counts are the main timeline's and each thread has its own;
// threaded receipts clear their thread only, "main" the main timeline
// only. Counts are exact past 100.
func TestThreadNotifications(t *testing.T) {
	e := newEnv(t, func(c *chat.Config) { c.RateLimit.PerSecond = 0 })
	ctx := t.Context()
	a, b, _, room := sharingAgents(t, e)
	send := func(content map[string]any) id.EventID {
		t.Helper()
		r, err := b.SendMessageEvent(ctx, room.RoomID, event.EventMessage, content)
		if err != nil {
			t.Fatal(err)
		}
		return r.EventID
	}
	root := send(map[string]any{"msgtype": "m.text", "body": "racine"})
	send(map[string]any{"msgtype": "m.text", "body": "r1", "m.relates_to": rel(event.RelThread, root)})
	reply := send(map[string]any{"msgtype": "m.text", "body": "Alice ?", "m.relates_to": rel(event.RelThread, root),
		"m.mentions": map[string]any{"user_ids": []string{a.UserID.String()}}})
	// 101 main messages (past the old cap of 100), sent 4 at a time.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := b.SendText(ctx, room.RoomID, "fil principal"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	lastMain := send(map[string]any{"msgtype": "m.text", "body": "fil principal"})

	counts := func(filter string) (main map[string]any, threads map[string]any) {
		t.Helper()
		_, s := getJSON(t, a, "/_matrix/client/v3/sync?filter="+url.QueryEscape(filter))
		jr, _ := s["rooms"].(map[string]any)["join"].(map[string]any)[room.RoomID.String()].(map[string]any)
		main, _ = jr["unread_notifications"].(map[string]any)
		threads, _ = jr["unread_thread_notifications"].(map[string]any)
		return main, threads
	}
	const threaded = `{"room":{"timeline":{"limit":1,"unread_thread_notifications":true}}}`
	main, threads := counts(threaded)
	th, _ := threads[root.String()].(map[string]any)
	if main["notification_count"] != 102.0 || main["highlight_count"] != 0.0 || len(threads) != 1 ||
		th["notification_count"] != 2.0 || th["highlight_count"] != 1.0 {
		t.Fatalf("threaded counts: main %v, threads %v", main, threads)
	}
	if main, threads = counts(`{"room":{"timeline":{"limit":1}}}`); main["notification_count"] != 104.0 || main["highlight_count"] != 1.0 || threads != nil {
		t.Fatalf("unthreaded counts: main %v, threads %v", main, threads)
	}

	receipt := func(ev id.EventID, body string) (int, string) {
		return raw(t, a, "POST", "/_matrix/client/v3/rooms/"+url.PathEscape(room.RoomID.String())+"/receipt/m.read/"+url.PathEscape(ev.String()), body)
	}
	if status, code := receipt(reply, `{"thread_id":"`+root.String()+`"}`); status != 200 {
		t.Fatalf("threaded receipt: %d %s", status, code)
	}
	if main, threads = counts(threaded); main["notification_count"] != 102.0 || len(threads) != 0 {
		t.Fatalf("after a thread receipt: main %v, threads %v", main, threads)
	}
	if status, code := receipt(lastMain, `{"thread_id":"main"}`); status != 200 {
		t.Fatalf("main receipt: %d %s", status, code)
	}
	if main, _ = counts(threaded); main["notification_count"] != 0.0 {
		t.Fatalf("after a main receipt: main %v", main)
	}
	// A new thread reply counts again in its thread only.
	send(map[string]any{"msgtype": "m.text", "body": "r3", "m.relates_to": rel(event.RelThread, root)})
	main, threads = counts(threaded)
	if th, _ = threads[root.String()].(map[string]any); main["notification_count"] != 0.0 || th["notification_count"] != 1.0 {
		t.Fatalf("after a new reply: main %v, threads %v", main, threads)
	}
	for _, bad := range []string{`{"thread_id":""}`, `{"thread_id":5}`, `{"thread_id":"racine"}`} {
		if status, code := receipt(lastMain, bad); status != 400 || code != "M_INVALID_PARAM" {
			t.Errorf("receipt %s: %d %s", bad, status, code)
		}
	}
}

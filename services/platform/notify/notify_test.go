package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
	"bureau/services/platform/testenv"
)

func TestPublishDecodeMemory(t *testing.T) {
	b := bus.NewMemory(bus.MemoryOptions{})
	defer b.Close()
	roundTrip(t, b)
}

func TestPublishDecodeRedis(t *testing.T) {
	rd := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer c.Close()
	b := bus.NewRedis(c, bus.RedisOptions{Prefix: "bureau:bus:"})
	defer b.Close()
	roundTrip(t, b)
}

func roundTrip(t *testing.T, b bus.Bus) {
	ctx := context.Background()
	before := time.Now()
	id, err := notify.Publish(ctx, b, notify.Event{User: "u1", Type: "chat.unread", Data: json.RawMessage(`{"n":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := notify.Notify(ctx, b, "u2", notify.Notification{Title: "Nouveau fichier", Body: "rapport.odt", Link: "/files/42"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, complete, err := b.Since(ctx, notify.Topic, "", 10)
	if err != nil || !complete || len(msgs) != 2 {
		t.Fatalf("since: %d msgs, complete=%v, err=%v", len(msgs), complete, err)
	}
	if msgs[0].ID != id || msgs[1].ID != id2 {
		t.Fatalf("ids %s %s, want %s %s", msgs[0].ID, msgs[1].ID, id, id2)
	}
	ev, err := notify.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.User != "u1" || ev.Type != "chat.unread" || string(ev.Data) != `{"n":3}` {
		t.Fatalf("decoded %+v", ev)
	}
	if ev.Time.Before(before.Add(-time.Second)) || ev.Time.After(time.Now().Add(time.Second)) {
		t.Fatalf("time not stamped: %v", ev.Time)
	}
	ev, err = notify.Decode(msgs[1])
	if err != nil {
		t.Fatal(err)
	}
	n, err := ev.Notification()
	if err != nil {
		t.Fatal(err)
	}
	if ev.User != "u2" || ev.Type != notify.TypeNotification || n.Title != "Nouveau fichier" || n.Link != "/files/42" {
		t.Fatalf("decoded %+v %+v", ev, n)
	}
}

func TestPublishKeepsTime(t *testing.T) {
	b := bus.NewMemory(bus.MemoryOptions{})
	defer b.Close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	if _, err := notify.Publish(context.Background(), b, notify.Event{User: "u", Type: "x", Time: at}); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := b.Since(context.Background(), notify.Topic, "", 1)
	ev, err := notify.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Time.Equal(at) {
		t.Fatalf("time %v, want %v", ev.Time, at)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemory(bus.MemoryOptions{})
	defer b.Close()
	bad := []notify.Event{
		{Type: "x"},
		{User: "u"},
		{User: "u", Type: "x", Data: json.RawMessage(`{`)},
		{User: "u", Type: "x", Data: json.RawMessage(`"` + strings.Repeat("a", notify.MaxDataSize) + `"`)},
	}
	for _, ev := range bad {
		if _, err := notify.Publish(ctx, b, ev); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("Publish(%.60v) err = %v, want ErrInvalid", ev, err)
		}
	}
	for _, link := range []string{"javascript:alert(1)", "//evil.example/x", "/\\evil.example", "http://x.example", "data:text/html,x", "https://"} {
		if _, err := notify.Notify(ctx, b, "u", notify.Notification{Title: "t", Link: link}); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("link %q accepted", link)
		}
	}
	for _, link := range []string{"", "/chat/rooms/1", "https://docs.example.gouv.fr/d/1"} {
		if _, err := notify.Notify(ctx, b, "u", notify.Notification{Title: "t", Link: link}); err != nil {
			t.Errorf("link %q refused: %v", link, err)
		}
	}
	if _, err := notify.Notify(ctx, b, "u", notify.Notification{Title: "  "}); !errors.Is(err, notify.ErrInvalid) {
		t.Error("empty title accepted")
	}
	if msgs, _, _ := b.Since(ctx, notify.Topic, "", 0); len(msgs) != 3 {
		t.Fatalf("%d events published, want only the 3 valid ones", len(msgs))
	}
	for _, data := range []string{`not json`, `{"user":"","type":"x"}`, `{"user":"u"}`} {
		if _, err := notify.Decode(bus.Message{Data: []byte(data)}); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("Decode(%s) err = %v", data, err)
		}
	}
}

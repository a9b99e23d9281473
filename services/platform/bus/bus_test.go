package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/bus"
	"bureau/services/platform/testenv"
)

// factory returns a fresh, empty bus keeping about `retain` messages a topic.
type factory func(t *testing.T, retain int) bus.Bus

func TestMemoryConformance(t *testing.T) {
	conformance(t, func(t *testing.T, retain int) bus.Bus {
		// A buffer larger than any test burst: dropping slow subscribers is
		// tested on its own below.
		b := bus.NewMemory(bus.MemoryOptions{Retain: retain, Buffer: 1024})
		t.Cleanup(func() { b.Close() })
		return b
	})
}

func TestRedisConformance(t *testing.T) {
	rd := testenv.StartRedis(t)
	conformance(t, func(t *testing.T, retain int) bus.Bus {
		return newRedisBus(t, rd, "test:"+t.Name()+":", retain)
	})
}

func newRedisBus(t *testing.T, rd *testenv.Redis, prefix string, retain int) bus.Bus {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rd.Addr})
	b := bus.NewRedis(c, bus.RedisOptions{Prefix: prefix, Retain: int64(retain)})
	t.Cleanup(func() {
		b.Close()
		c.Close()
	})
	return b
}

const wait = 10 * time.Second

func recv(t *testing.T, ch <-chan bus.Message) bus.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed early")
		}
		return m
	case <-time.After(wait):
		t.Fatal("timed out waiting for a message")
	}
	return bus.Message{}
}

func waitClosed(t *testing.T, ch <-chan bus.Message) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("subscription channel not closed")
		}
	}
}

func publishN(t *testing.T, b bus.Bus, topic string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := b.Publish(context.Background(), topic, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func conformance(t *testing.T, newBus factory) {
	ctx := context.Background()

	t.Run("OrderAndIDs", func(t *testing.T) {
		b := newBus(t, 1000)
		ch, err := b.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		ids := publishN(t, b, "t", 100)
		for i, id := range ids {
			if _, _, err := bus.ParseID(id); err != nil {
				t.Fatalf("id %q: %v", id, err)
			}
			if i > 0 && bus.CompareIDs(ids[i-1], id) != -1 {
				t.Fatalf("ids not increasing: %s then %s", ids[i-1], id)
			}
			m := recv(t, ch)
			if m.ID != id || m.Topic != "t" || string(m.Data) != fmt.Sprint(i) {
				t.Fatalf("message %d = %+v, want id %s", i, m, id)
			}
		}
	})

	t.Run("OnlyAfterSubscribe", func(t *testing.T) {
		b := newBus(t, 1000)
		publishN(t, b, "t", 3)
		ch, err := b.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		ids := publishN(t, b, "t", 1)
		if m := recv(t, ch); m.ID != ids[0] {
			t.Fatalf("got %s, want %s (an older message leaked in)", m.ID, ids[0])
		}
	})

	t.Run("TopicsAreSeparate", func(t *testing.T) {
		b := newBus(t, 1000)
		ch, err := b.Subscribe(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "b", 2)
		ids := publishN(t, b, "a", 1)
		if m := recv(t, ch); m.ID != ids[0] || m.Topic != "a" {
			t.Fatalf("got %+v", m)
		}
	})

	t.Run("MultipleSubscribers", func(t *testing.T) {
		b := newBus(t, 1000)
		var chs []<-chan bus.Message
		for range 3 {
			ch, err := b.Subscribe(ctx, "t")
			if err != nil {
				t.Fatal(err)
			}
			chs = append(chs, ch)
		}
		ids := publishN(t, b, "t", 20)
		for _, ch := range chs {
			for _, id := range ids {
				if m := recv(t, ch); m.ID != id {
					t.Fatalf("got %s, want %s", m.ID, id)
				}
			}
		}
	})

	t.Run("SinceNoGap", func(t *testing.T) {
		b := newBus(t, 1000)
		ids := publishN(t, b, "t", 10)
		msgs, complete, err := b.Since(ctx, "t", ids[3], 0)
		if err != nil || !complete {
			t.Fatalf("complete=%v err=%v", complete, err)
		}
		assertIDs(t, msgs, ids[4:])

		msgs, complete, err = b.Since(ctx, "t", "", 0)
		if err != nil || !complete {
			t.Fatalf("from start: complete=%v err=%v", complete, err)
		}
		assertIDs(t, msgs, ids)

		msgs, complete, err = b.Since(ctx, "t", ids[3], 2)
		if err != nil || !complete {
			t.Fatalf("max: complete=%v err=%v", complete, err)
		}
		assertIDs(t, msgs, ids[4:6])

		msgs, complete, err = b.Since(ctx, "t", ids[9], 0)
		if err != nil || !complete || len(msgs) != 0 {
			t.Fatalf("at head: %d msgs complete=%v err=%v", len(msgs), complete, err)
		}
	})

	t.Run("SinceGap", func(t *testing.T) {
		// Redis trims "~", by whole nodes of 100 entries: publish well past
		// the limit so something is certainly gone.
		b := newBus(t, 50)
		ids := publishN(t, b, "t", 400)
		msgs, complete, err := b.Since(ctx, "t", ids[0], 0)
		if err != nil {
			t.Fatal(err)
		}
		if complete {
			t.Fatal("complete=true after the oldest messages were trimmed")
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].ID != ids[399] {
			t.Fatal("retained tail not returned")
		}
		// Near the head nothing is missing.
		msgs, complete, err = b.Since(ctx, "t", ids[395], 0)
		if err != nil || !complete {
			t.Fatalf("near head: complete=%v err=%v", complete, err)
		}
		assertIDs(t, msgs, ids[396:])
		// From the very beginning: the caller asked for what is retained.
		if _, complete, err := b.Since(ctx, "t", "", 0); err != nil || !complete {
			t.Fatalf("from start: complete=%v err=%v", complete, err)
		}
	})

	t.Run("SinceUnknownHistory", func(t *testing.T) {
		b := newBus(t, 1000)
		// An id from before a restart of the bus, on a topic it never saw.
		if _, complete, err := b.Since(ctx, "t", "1-0", 10); err != nil || complete {
			t.Fatalf("empty topic: complete=%v err=%v", complete, err)
		}
		ids := publishN(t, b, "t", 2)
		ms, _, _ := bus.ParseID(ids[1])
		future := fmt.Sprintf("%d-0", ms+1e9)
		if _, complete, err := b.Since(ctx, "t", future, 10); err != nil || complete {
			t.Fatalf("future id: complete=%v err=%v", complete, err)
		}
		if _, _, err := b.Since(ctx, "t", "nope", 10); !errors.Is(err, bus.ErrBadID) {
			t.Fatalf("malformed id: err=%v", err)
		}
	})

	t.Run("LastID", func(t *testing.T) {
		b := newBus(t, 1000)
		l, ok := b.(bus.LastIDer)
		if !ok {
			t.Fatal("bus does not implement LastIDer")
		}
		if id, err := l.LastID(ctx, "t"); err != nil || id != "" {
			t.Fatalf("empty topic: %q %v", id, err)
		}
		ids := publishN(t, b, "t", 3)
		if id, err := l.LastID(ctx, "t"); err != nil || id != ids[2] {
			t.Fatalf("got %q %v, want %s", id, err, ids[2])
		}
	})

	t.Run("CancelClosesChannel", func(t *testing.T) {
		b := newBus(t, 1000)
		sctx, cancel := context.WithCancel(ctx)
		ch1, err := b.Subscribe(sctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		ch2, err := b.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		waitClosed(t, ch1)
		// The other subscription is unaffected.
		ids := publishN(t, b, "t", 1)
		if m := recv(t, ch2); m.ID != ids[0] {
			t.Fatalf("got %s", m.ID)
		}
	})

	t.Run("ConcurrentPublishers", func(t *testing.T) {
		const pubs, each = 8, 50
		b := newBus(t, 1000)
		ch, err := b.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		// Consume while publishing: a consumer that falls a whole buffer
		// behind may be dropped, which is not what this test is about.
		got := make(chan []bus.Message, 1)
		go func() {
			var ms []bus.Message
			for range pubs * each {
				select {
				case m, ok := <-ch:
					if !ok {
						got <- ms
						return
					}
					ms = append(ms, m)
				case <-time.After(wait):
					got <- ms
					return
				}
			}
			got <- ms
		}()
		var wg sync.WaitGroup
		errs := make(chan error, pubs)
		for p := range pubs {
			wg.Go(func() {
				for i := range each {
					if _, err := b.Publish(ctx, "t", fmt.Appendf(nil, "%d/%d", p, i)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		ms := <-got
		if len(ms) != pubs*each {
			t.Fatalf("received %d messages, want %d", len(ms), pubs*each)
		}
		next := make([]int, pubs) // each publisher's messages arrive in its order
		prev := ""
		for _, m := range ms {
			if prev != "" && bus.CompareIDs(prev, m.ID) != -1 {
				t.Fatalf("ids not increasing: %s then %s", prev, m.ID)
			}
			prev = m.ID
			var p, i int
			if _, err := fmt.Sscanf(string(m.Data), "%d/%d", &p, &i); err != nil {
				t.Fatal(err)
			}
			if i != next[p] {
				t.Fatalf("publisher %d: got %d, want %d", p, i, next[p])
			}
			next[p]++
		}
	})

	t.Run("Close", func(t *testing.T) {
		b := newBus(t, 1000)
		ch, err := b.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch)
		if _, err := b.Publish(ctx, "t", nil); !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("publish after close: %v", err)
		}
		if err := b.Ping(ctx); !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("ping after close: %v", err)
		}
	})
}

func assertIDs(t *testing.T, msgs []bus.Message, want []string) {
	t.Helper()
	got := make([]string, len(msgs))
	for i, m := range msgs {
		got[i] = m.ID
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ids = %v, want %v", got, want)
	}
}

// A consumer that stops reading loses its subscription instead of blocking
// publishers, and can catch up with Since.
func TestMemorySlowSubscriberDropped(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemory(bus.MemoryOptions{Buffer: 4})
	defer b.Close()
	slow, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var got []bus.Message
	for i := range 10 {
		id, err := b.Publish(ctx, "t", []byte(fmt.Sprint(i))) // must not block
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		got = append(got, recv(t, fast))
	}
	assertIDs(t, got, ids)
	var last string
	n := 0
	for m := range slow {
		last = m.ID
		n++
	}
	if n != 4 {
		t.Fatalf("slow subscriber got %d messages before the close, want 4", n)
	}
	rest, complete, err := b.Since(ctx, "t", last, 0)
	if err != nil || !complete {
		t.Fatalf("catch up: complete=%v err=%v", complete, err)
	}
	assertIDs(t, rest, ids[4:])
}

// Two gateway replicas each have their own bus on the same Redis.
func TestRedisTwoInstances(t *testing.T) {
	ctx := context.Background()
	rd := testenv.StartRedis(t)
	a := newRedisBus(t, rd, "bureau:bus:", 1000)
	b := newRedisBus(t, rd, "bureau:bus:", 1000)
	cha, err := a.Subscribe(ctx, "events.user")
	if err != nil {
		t.Fatal(err)
	}
	chb, err := b.Subscribe(ctx, "events.user")
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Publish(ctx, "events.user", []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan bus.Message{cha, chb} {
		if m := recv(t, ch); m.ID != id || string(m.Data) != "hi" {
			t.Fatalf("got %+v", m)
		}
	}
	msgs, complete, err := b.Since(ctx, "events.user", "", 10)
	if err != nil || !complete {
		t.Fatal(complete, err)
	}
	assertIDs(t, msgs, []string{id})
}

// A subscription survives Redis errors: it reconnects and resumes from the
// last id it delivered, without loss.
func TestRedisSubscriptionReconnects(t *testing.T) {
	ctx := context.Background()
	rd := testenv.StartRedis(t)
	b := newRedisBus(t, rd, "p:", 1000)
	ch, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	ids := publishN(t, b, "t", 1)
	if m := recv(t, ch); m.ID != ids[0] {
		t.Fatal(m.ID)
	}
	// Kill the subscription's connection (its XREAD fails), then publish.
	admin := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer admin.Close()
	if err := admin.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	ids = publishN(t, b, "t", 5)
	for _, id := range ids {
		if m := recv(t, ch); m.ID != id {
			t.Fatalf("got %s, want %s", m.ID, id)
		}
	}
}

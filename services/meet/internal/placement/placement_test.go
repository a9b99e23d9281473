package placement

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/testenv"
)

// state is what a node reports in its heartbeats; the test changes its
// rooms while the heartbeat goroutine reads them.
type state struct {
	mu    sync.Mutex
	load  int
	rooms []string
}

func (s *state) setRooms(rooms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms = rooms
}

func newNode(t *testing.T, rdb *redis.Client, id string, st *state) *Redis {
	t.Helper()
	p, err := NewRedis(context.Background(), rdb, Options{
		Prefix: "t:", Self: Node{ID: id, URL: "http://" + id}, Heartbeat: 50 * time.Millisecond,
		Load: func() (int, []string) {
			st.mu.Lock()
			defer st.mu.Unlock()
			return st.load, st.rooms
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// A room goes to the least loaded node, stays there while that node
// lives, and moves to a live node once the owner's heartbeat lapses
// (crash) or at once when it closes.
func TestPlacement(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.StartRedis(t).Addr})
	defer rdb.Close()
	ctx := context.Background()
	stA, stB, stC := &state{load: 10}, &state{load: 2}, &state{load: 5}
	a := newNode(t, rdb, "a", stA)
	b := newNode(t, rdb, "b", stB)
	// NewRedis registered both nodes with their loads.
	n, local, err := a.Place(ctx, "r1")
	if err != nil || local || n.ID != "b" || n.URL != "http://b" {
		t.Fatalf("r1 placed on %+v local=%v err=%v, want b (least loaded)", n, local, err)
	}
	stB.setRooms("r1")
	if n, local, found, err := a.Owner(ctx, "r1"); err != nil || !found || local || n.ID != "b" {
		t.Fatalf("owner of r1 seen from a: %+v %v %v %v", n, local, found, err)
	}
	if _, _, found, _ := a.Owner(ctx, "r2"); found {
		t.Fatal("an unplaced room has an owner")
	}
	if _, err := rdb.Get(ctx, "t:room:r2").Result(); err != redis.Nil {
		t.Fatal("Owner placed the room")
	}
	if n, local, _ := b.Place(ctx, "r1"); !local || n.ID != "b" {
		t.Fatalf("b does not see itself as r1's owner: %+v", n)
	}
	// b crashes: its record lapses after 3 heartbeats and the next join
	// moves r1 to the least loaded live node, c.
	c := newNode(t, rdb, "c", stC)
	b.Halt()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, local, err := a.Place(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if n.ID != "b" {
			if local || n.ID != "c" {
				t.Fatalf("r1 re-placed on %+v, want c (least loaded live node)", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("r1 still on the dead node b")
		}
		time.Sleep(10 * time.Millisecond) // polling Redis, not synchronising
	}
	// c closes: r1 is freed at once and goes to the least loaded live node.
	stC.setRooms("r1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n, local, err := a.Place(ctx, "r1"); err != nil || !local || n.ID != "a" {
		t.Fatalf("after c closed, r1 on %+v (local %v, %v), want a", n, local, err)
	}
	if ns, _ := a.Nodes(ctx); len(ns) != 1 || ns[0].ID != "a" {
		t.Fatalf("live nodes %+v, want only a", ns)
	}
	if n, local, _ := (Local{Node: Node{ID: "solo"}}).Place(ctx, "x"); !local || n.ID != "solo" {
		t.Fatal("local placer")
	}
}

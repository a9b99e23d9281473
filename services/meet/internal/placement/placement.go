// Package placement decides which meet node serves a room. A room lives on
// one node (its conference: sockets, PeerConnections, forwarding); every
// other node routes that room's participants there.
//
// With one node (no Redis) every room is local. With several, the nodes
// share a Redis:
//
//	{prefix}node:{id}   JSON {id, url, participants, rooms}, TTL 3 heartbeats
//	{prefix}room:{room} the id of the node serving it, TTL 3 heartbeats,
//	                    refreshed by that node while the room is live
//
// A join for a room without a live owner places it on the least loaded
// live node (SET NX); an owner whose record expired is dead and its rooms
// are taken over by compare-and-set at their next join.
package placement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Node is a meet node as its heartbeat describes it.
type Node struct {
	ID           string `json:"id"`
	URL          string `json:"url"` // where the other nodes proxy signalling
	Participants int    `json:"participants"`
	Rooms        int    `json:"rooms"`
}

// Load is what a node reports in its heartbeats: its participant count and
// the rooms it serves (whose placement it keeps alive).
type Load func() (participants int, rooms []string)

// Placer places rooms on nodes.
type Placer interface {
	// Place returns the node serving room, placing it first if needed;
	// local is true when it is this node.
	Place(ctx context.Context, room string) (n Node, local bool, err error)
	// Owner returns the live node serving room without placing it; found
	// is false when no live node serves it.
	Owner(ctx context.Context, room string) (n Node, local, found bool, err error)
	// Self is this node.
	Self() Node
	// Close gives up this node's rooms (others take them at the next join)
	// and its record.
	Close() error
}

// Local is the single-node placer: every room is served here.
type Local struct{ Node Node }

func (l Local) Place(context.Context, string) (Node, bool, error) { return l.Node, true, nil }
func (l Local) Self() Node                                        { return l.Node }
func (l Local) Close() error                                      { return nil }
func (l Local) Owner(context.Context, string) (Node, bool, bool, error) {
	return l.Node, true, true, nil
}

// Options configure a Redis placer.
type Options struct {
	Prefix    string // e.g. "bureau:meet:"
	Self      Node   // ID and URL
	Heartbeat time.Duration
	Load      Load
	Log       *slog.Logger
}

// Redis places rooms through a Redis shared by the nodes.
type Redis struct {
	rdb  redis.UniversalClient
	o    Options
	ttl  time.Duration
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Scripts keep each decision atomic.
var (
	// keep: a node refreshes a room it serves, claiming it back if the key
	// expired meanwhile (a slow heartbeat); 0 when another node took it.
	keep = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`)
	// swap: replace a dead owner, only if it is still the owner.
	swap = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0`)
	// drop: delete a key only if it still holds this value.
	drop = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// NewRedis registers this node (one heartbeat, which must succeed) and
// keeps it alive until Close.
func NewRedis(ctx context.Context, rdb redis.UniversalClient, o Options) (*Redis, error) {
	if o.Self.ID == "" || o.Self.URL == "" || o.Heartbeat <= 0 || o.Load == nil {
		return nil, errors.New("placement: node id, url, heartbeat and load are required")
	}
	p := &Redis{rdb: rdb, o: o, ttl: 3 * o.Heartbeat, stop: make(chan struct{}), done: make(chan struct{})}
	if err := p.beat(ctx); err != nil {
		return nil, fmt.Errorf("placement: redis: %w", err)
	}
	go p.loop()
	return p, nil
}

func (p *Redis) nodeKey(id string) string { return p.o.Prefix + "node:" + id }
func (p *Redis) roomKey(id string) string { return p.o.Prefix + "room:" + id }

// Self is this node.
func (p *Redis) Self() Node { return p.o.Self }

func (p *Redis) loop() {
	defer close(p.done)
	t := time.NewTicker(p.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), p.o.Heartbeat)
			if err := p.beat(ctx); err != nil {
				p.o.Log.Warn("placement heartbeat failed", "node", p.o.Self.ID, "err", err)
			}
			cancel()
		}
	}
}

// beat refreshes this node's record and the rooms it serves.
func (p *Redis) beat(ctx context.Context) error {
	parts, rooms := p.o.Load()
	n := p.o.Self
	n.Participants, n.Rooms = parts, len(rooms)
	b, _ := json.Marshal(n)
	if err := p.rdb.Set(ctx, p.nodeKey(n.ID), b, p.ttl).Err(); err != nil {
		return err
	}
	for _, r := range rooms {
		ok, err := keep.Run(ctx, p.rdb, []string{p.roomKey(r)}, n.ID, p.ttl.Milliseconds()).Int()
		if err != nil {
			return err
		}
		if ok == 0 {
			// Another node took the room while this one could not reach
			// Redis: new joins go there; those still here stay until they
			// reconnect.
			p.o.Log.Warn("placement: room taken over by another node", "room", r, "node", n.ID)
		}
	}
	return nil
}

// Place returns the node serving room, placing it if it has no live owner.
func (p *Redis) Place(ctx context.Context, room string) (Node, bool, error) {
	key := p.roomKey(room)
	for range 8 {
		owner, err := p.rdb.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			n, err := p.choose(ctx)
			if err != nil {
				return Node{}, false, err
			}
			ok, err := p.rdb.SetNX(ctx, key, n.ID, p.ttl).Result()
			if err != nil {
				return Node{}, false, err
			}
			if ok {
				p.o.Log.Info("room placed", "room", room, "node", n.ID)
				return n, n.ID == p.o.Self.ID, nil
			}
			continue // another node placed it first: read its choice
		case err != nil:
			return Node{}, false, err
		case owner == p.o.Self.ID:
			return p.o.Self, true, nil
		}
		n, alive, err := p.node(ctx, owner)
		if err != nil {
			return Node{}, false, err
		}
		if alive {
			return n, false, nil
		}
		// The owner's heartbeat expired: it is dead (or cut off). Take its
		// room for the least loaded live node, unless someone did already.
		c, err := p.choose(ctx)
		if err != nil {
			return Node{}, false, err
		}
		if _, err := swap.Run(ctx, p.rdb, []string{key}, owner, c.ID, p.ttl.Milliseconds()).Result(); err != nil {
			return Node{}, false, err
		}
		p.o.Log.Info("room re-placed", "room", room, "dead", owner, "node", c.ID)
	}
	return Node{}, false, errors.New("placement: room placement kept changing")
}

// Owner returns the live node serving room, if any.
func (p *Redis) Owner(ctx context.Context, room string) (Node, bool, bool, error) {
	owner, err := p.rdb.Get(ctx, p.roomKey(room)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Node{}, false, false, nil
	case err != nil:
		return Node{}, false, false, err
	case owner == p.o.Self.ID:
		return p.o.Self, true, true, nil
	}
	n, alive, err := p.node(ctx, owner)
	return n, false, alive, err
}

func (p *Redis) node(ctx context.Context, id string) (Node, bool, error) {
	b, err := p.rdb.Get(ctx, p.nodeKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, err
	}
	var n Node
	if err := json.Unmarshal(b, &n); err != nil || n.URL == "" {
		return Node{}, false, nil // a garbled record is no live node
	}
	return n, true, nil
}

// Nodes are the live nodes, by id.
func (p *Redis) Nodes(ctx context.Context) ([]Node, error) {
	var keys []string
	iter := p.rdb.Scan(ctx, 0, p.o.Prefix+"node:*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := p.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	var out []Node
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var n Node
		if json.Unmarshal([]byte(s), &n) == nil && n.ID != "" && n.URL != "" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// choose picks the live node with the fewest participants, this node on a
// tie (no hop), this node when it sees none (its own record lapsed).
func (p *Redis) choose(ctx context.Context) (Node, error) {
	nodes, err := p.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	self, _ := p.o.Load()
	best := p.o.Self
	best.Participants = self
	for _, n := range nodes {
		if n.ID != p.o.Self.ID && n.Participants < best.Participants {
			best = n
		}
	}
	return best, nil
}

// Close stops the heartbeats and frees this node's record and rooms, so
// that their participants, reconnecting, are placed elsewhere at once.
func (p *Redis) Close() error {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, rooms := p.o.Load()
		for _, r := range rooms {
			_ = drop.Run(ctx, p.rdb, []string{p.roomKey(r)}, p.o.Self.ID).Err()
		}
		p.rdb.Del(ctx, p.nodeKey(p.o.Self.ID))
	})
	return nil
}

// Halt stops the heartbeats and leaves everything in Redis, as a crash
// would (tests).
func (p *Redis) Halt() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
	})
}

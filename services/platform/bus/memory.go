package bus

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"
)

// MemoryOptions configures NewMemory.
type MemoryOptions struct {
	// Retain is how many messages each topic keeps for Since (default 1000).
	Retain int
	// Buffer is the channel capacity of each subscription (default 256).
	Buffer int
}

// NewMemory returns an in-process Bus for the single-binary run.
//
// Slow subscribers: Publish never waits for a consumer. When a subscription's
// buffer is full, that subscription is dropped — its channel is closed while
// its ctx is still live — and the consumer is expected to subscribe again and
// catch up with Since (see Bus.Subscribe). Blocking instead would let one
// stuck consumer stall every publisher in the process.
//
// Message.Data is shared by every receiver and by the history: read-only.
func NewMemory(opts MemoryOptions) Bus {
	if opts.Retain <= 0 {
		opts.Retain = 1000
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	return &memory{opts: opts, topics: map[string]*memTopic{}, now: time.Now}
}

type memory struct {
	opts MemoryOptions
	now  func() time.Time

	mu     sync.Mutex // guards everything below and every memTopic
	closed bool
	topics map[string]*memTopic
}

type memTopic struct {
	msgs        []Message // retained, oldest first
	lastMs      uint64
	lastSeq     uint64
	lastID      string // newest id ever assigned
	lastDropped string // newest id evicted by retention
	subs        map[*memSub]struct{}
}

type memSub struct {
	ch   chan Message
	stop func() bool // deregisters the ctx watcher
}

func (m *memory) topic(name string) *memTopic {
	t := m.topics[name]
	if t == nil {
		t = &memTopic{subs: map[*memSub]struct{}{}}
		m.topics[name] = t
	}
	return t
}

func (m *memory) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return "", ErrClosed
	}
	t := m.topic(topic)
	// Same rule as Redis: the time part never goes backwards, even if the
	// clock does, so ids stay strictly increasing.
	ms := uint64(m.now().UnixMilli())
	if ms <= t.lastMs {
		ms, t.lastSeq = t.lastMs, t.lastSeq+1
	} else {
		t.lastSeq = 0
	}
	t.lastMs = ms
	id := strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(t.lastSeq, 10)
	t.lastID = id

	msg := Message{Topic: topic, ID: id, Data: append([]byte(nil), data...)}
	t.msgs = append(t.msgs, msg)
	if over := len(t.msgs) - m.opts.Retain; over > 0 {
		t.lastDropped = t.msgs[over-1].ID
		// Copy down rather than reslice so the backing array does not grow
		// without bound.
		n := copy(t.msgs, t.msgs[over:])
		clear(t.msgs[n:])
		t.msgs = t.msgs[:n]
	}
	for s := range t.subs {
		select {
		case s.ch <- msg:
		default:
			delete(t.subs, s)
			close(s.ch)
			s.stop() // the ctx may outlive many dropped subscriptions
		}
	}
	return id, nil
}

func (m *memory) Subscribe(ctx context.Context, topic string) (<-chan Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	t := m.topic(topic)
	s := &memSub{ch: make(chan Message, m.opts.Buffer)}
	t.subs[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		// Publish or Close may have closed it already.
		if _, ok := t.subs[s]; ok {
			delete(t.subs, s)
			close(s.ch)
		}
	})
	return s.ch, nil
}

func (m *memory) Since(ctx context.Context, topic, after string, max int) ([]Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if after != "" {
		if _, _, err := ParseID(after); err != nil {
			return nil, false, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrClosed
	}
	t := m.topics[topic]
	if t == nil {
		// An id this bus never issued: its history is gone (a restart).
		return nil, after == "", nil
	}
	complete := true
	if after != "" {
		// Messages after `after` were lost if one of them was evicted, or if
		// `after` is newer than anything issued (history from before a
		// restart, which the caller cannot get back from us).
		complete = CompareIDs(after, t.lastDropped) >= 0 && CompareIDs(after, t.lastID) <= 0
	}
	i := 0
	if after != "" {
		i = sort.Search(len(t.msgs), func(i int) bool { return CompareIDs(t.msgs[i].ID, after) > 0 })
	}
	rest := t.msgs[i:]
	if max > 0 && len(rest) > max {
		rest = rest[:max]
	}
	out := make([]Message, len(rest))
	copy(out, rest)
	return out, complete, nil
}

// LastID implements LastIDer.
func (m *memory) LastID(ctx context.Context, topic string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return "", ErrClosed
	}
	if t := m.topics[topic]; t != nil {
		return t.lastID, nil
	}
	return "", nil
}

func (m *memory) Ping(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}

func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for _, t := range m.topics {
		for s := range t.subs {
			delete(t.subs, s)
			close(s.ch)
			s.stop()
		}
	}
	return nil
}

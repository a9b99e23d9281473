package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// Prefix is prepended to the topic to form the stream key, e.g.
	// "bureau:bus:".
	Prefix string
	// Retain is the approximate MAXLEN of each stream (default 10000).
	// Trimming is "~", so Redis may keep somewhat more.
	Retain int64
	// Block bounds each blocking XREAD of a subscription (default 1s). go-redis
	// cannot abort a blocking read when its ctx is cancelled, so this is also
	// how long a cancelled subscription may take to close its channel.
	Block time.Duration
	// Batch is the XREAD COUNT of a subscription (default 256).
	Batch int64
}

// NewRedis returns a Bus on Redis Streams, one stream per topic. The client
// is the caller's: Close stops the subscriptions but leaves it open.
func NewRedis(client redis.UniversalClient, opts RedisOptions) Bus {
	if opts.Retain <= 0 {
		opts.Retain = 10000
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &redisBus{c: client, opts: opts, ctx: ctx, cancel: cancel}
}

type redisBus struct {
	c    redis.UniversalClient
	opts RedisOptions

	ctx    context.Context // ends on Close, stopping subscriptions
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

const dataField = "d"

func (r *redisBus) key(topic string) string { return r.opts.Prefix + topic }

func (r *redisBus) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *redisBus) Publish(ctx context.Context, topic string, data []byte) (string, error) {
	if r.isClosed() {
		return "", ErrClosed
	}
	id, err := r.c.XAdd(ctx, &redis.XAddArgs{
		Stream: r.key(topic),
		MaxLen: r.opts.Retain,
		Approx: true,
		ID:     "*",
		Values: []any{dataField, data},
	}).Result()
	if err != nil {
		return "", fmt.Errorf("bus: publish %s: %w", topic, err)
	}
	return id, nil
}

// streamInfo is what the bus needs from XINFO STREAM; ok is false when the
// stream does not exist.
type streamInfo struct {
	ok          bool
	lastID      string
	maxDeleted  string // XDEL only; "" on Redis < 7
	firstID     string
	everDeleted bool
}

func (r *redisBus) info(ctx context.Context, topic string) (streamInfo, error) {
	in, err := r.c.XInfoStream(ctx, r.key(topic)).Result()
	if err != nil {
		if isNoSuchKey(err) {
			return streamInfo{}, nil
		}
		return streamInfo{}, err
	}
	return streamInfo{
		ok:         true,
		lastID:     in.LastGeneratedID,
		maxDeleted: in.MaxDeletedEntryID,
		firstID:    in.FirstEntry.ID,
		// Redis < 7 does not report entries-added: assume trimming happened.
		everDeleted: in.EntriesAdded > in.Length || (in.EntriesAdded == 0 && in.Length > 0),
	}, nil
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such key")
}

// lost reports whether messages with an id greater than after can no longer
// be read from the stream described by in.
func (in streamInfo) lost(after string) bool {
	if !in.ok {
		// The stream is gone (Redis restarted without persistence, or the
		// key was deleted): an id we were given refers to lost history.
		// "0-0" is the cursor of a subscription that has seen nothing.
		return after != "0-0"
	}
	if CompareIDs(after, in.lastID) > 0 {
		return true // an id from a previous incarnation of the stream
	}
	// max-deleted-entry-id (Redis >= 7) only records XDEL, not trimming.
	if in.maxDeleted != "" && in.maxDeleted != "0-0" && CompareIDs(after, in.maxDeleted) < 0 {
		return true
	}
	if !in.everDeleted {
		return false
	}
	// Trimming removes the oldest entries, so a loss after `after` shows as
	// `after` preceding the oldest retained entry. Conservative when `after`
	// is exactly the newest trimmed id: a needless resync, never a gap.
	if in.firstID == "" {
		return CompareIDs(after, in.lastID) < 0 // everything was trimmed
	}
	return CompareIDs(after, in.firstID) < 0
}

func (r *redisBus) Since(ctx context.Context, topic, after string, max int) ([]Message, bool, error) {
	if r.isClosed() {
		return nil, false, ErrClosed
	}
	start := "-"
	if after != "" {
		if _, _, err := ParseID(after); err != nil {
			return nil, false, err
		}
		start = "(" + after
	}
	var (
		xs  []redis.XMessage
		err error
	)
	if max > 0 {
		xs, err = r.c.XRangeN(ctx, r.key(topic), start, "+", int64(max)).Result()
	} else {
		xs, err = r.c.XRange(ctx, r.key(topic), start, "+").Result()
	}
	if err != nil {
		return nil, false, fmt.Errorf("bus: since %s: %w", topic, err)
	}
	complete := true
	if after != "" {
		// Read the trim state after the range, not before: a trim in between
		// then reports a loss that did not hit us (harmless) rather than
		// hiding one that did.
		in, err := r.info(ctx, topic)
		if err != nil {
			return nil, false, fmt.Errorf("bus: since %s: %w", topic, err)
		}
		complete = !in.lost(after)
	}
	return toMessages(topic, xs), complete, nil
}

func toMessages(topic string, xs []redis.XMessage) []Message {
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		var data []byte
		switch v := x.Values[dataField].(type) {
		case string:
			data = []byte(v)
		case []byte:
			data = v
		}
		out = append(out, Message{Topic: topic, ID: x.ID, Data: data})
	}
	return out
}

// LastID implements LastIDer.
func (r *redisBus) LastID(ctx context.Context, topic string) (string, error) {
	if r.isClosed() {
		return "", ErrClosed
	}
	in, err := r.info(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("bus: last id %s: %w", topic, err)
	}
	if !in.ok || in.lastID == "0-0" {
		return "", nil
	}
	return in.lastID, nil
}

func (r *redisBus) Subscribe(ctx context.Context, topic string) (<-chan Message, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	// Start from the stream's current last id rather than "$": "$" would be
	// resolved by the first XREAD, after Subscribe has returned, losing what
	// was published in between.
	in, err := r.info(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", topic, err)
	}
	cursor := "0-0"
	if in.ok && in.lastID != "" {
		cursor = in.lastID
	}
	ch := make(chan Message, r.opts.Batch)
	// Add under the lock that Close takes, so Close's Wait cannot miss us.
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer close(ch)
		r.follow(ctx, topic, cursor, ch)
	}()
	return ch, nil
}

// follow reads the stream from cursor into ch until ctx or the bus ends, or
// until it can no longer guarantee that nothing was skipped.
func (r *redisBus) follow(ctx context.Context, topic, cursor string, ch chan<- Message) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(r.ctx, stop)()

	key := r.key(topic)
	backoff := newBackoff()
	suspect := false // a gap may have opened since the last read
	for ctx.Err() == nil {
		res, err := r.c.XRead(ctx, &redis.XReadArgs{
			Streams: []string{key, cursor},
			Count:   r.opts.Batch,
			Block:   r.opts.Block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			backoff.reset()
			continue // block timeout: look at ctx again
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			suspect = true
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		backoff.reset()
		var xs []redis.XMessage
		for _, s := range res {
			xs = append(xs, s.Messages...)
		}
		// A full batch means we are behind, where trimming may overtake the
		// cursor; after an error the stream may have been reset. XREAD skips
		// trimmed entries silently, so check the trim state then.
		if suspect || int64(len(xs)) >= r.opts.Batch {
			in, err := r.info(ctx, topic)
			if err != nil {
				suspect = true
				continue
			}
			if in.lost(cursor) {
				return // closing ch tells the consumer to catch up with Since
			}
			suspect = false
		}
		for _, m := range toMessages(topic, xs) {
			select {
			case ch <- m:
				cursor = m.ID
			case <-ctx.Done():
				return
			}
		}
	}
}

func (r *redisBus) Ping(ctx context.Context) error {
	if r.isClosed() {
		return ErrClosed
	}
	return r.c.Ping(ctx).Err()
}

// Close stops every subscription and waits for them to end; it does not
// close the Redis client.
func (r *redisBus) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return nil
}

// backoff is a capped exponential delay between reconnection attempts.
type backoff struct{ d time.Duration }

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

func newBackoff() *backoff { return &backoff{d: backoffMin} }

func (b *backoff) reset() { b.d = backoffMin }

// wait sleeps for the current delay (false if ctx ended first) and doubles it.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, backoffMax)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Package bus carries messages between services and gateway replicas.
//
// Two implementations share this interface: an in-process one for the
// embedded single-binary run, and one on Redis Streams for production, where
// several gateway replicas and services must see the same messages. Streams
// (rather than plain pub/sub) keep a bounded history, which is what lets a
// reconnecting browser resume from the last event id it saw.
package bus

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Message is one published message. ID is assigned by the bus on Publish and
// is ordered within a topic: "<milliseconds>-<sequence>", the Redis Streams
// format, used by every implementation so ids compare the same way.
type Message struct {
	Topic string
	ID    string
	Data  []byte
}

// Bus is a topic-based message bus with bounded per-topic history.
type Bus interface {
	// Publish appends data to topic and returns the id it was given.
	Publish(ctx context.Context, topic string, data []byte) (string, error)
	// Subscribe delivers every message published on topic after the call,
	// in order, until ctx ends; then the channel is closed.
	//
	// The channel may also close while ctx is still live: the bus gave up on
	// the subscription (its consumer fell too far behind, or the history it
	// had to read from was lost). Nothing is skipped silently; a consumer
	// that sees an early close subscribes again and catches up with Since
	// from the last id it received.
	Subscribe(ctx context.Context, topic string) (<-chan Message, error)
	// Since returns up to max retained messages of topic with an id greater
	// than after, oldest first. complete is false when messages after
	// `after` were already dropped from the retained history (the caller
	// must then resynchronise some other way).
	Since(ctx context.Context, topic, after string, max int) (msgs []Message, complete bool, err error)
	// Ping reports whether the bus is usable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// LastIDer is implemented by buses that can report the newest id of a topic
// ("" when the topic has none). It is optional so that Bus stays small; the
// gateway uses it to hand a fresh browser a resume point before any event
// has passed through its own subscription.
type LastIDer interface {
	LastID(ctx context.Context, topic string) (string, error)
}

// ErrClosed is returned by a closed bus.
var ErrClosed = errors.New("bus: closed")

// ErrBadID is returned for an id that is not "<ms>-<seq>".
var ErrBadID = errors.New("bus: malformed message id")

// ParseID splits an id into its two ordered parts.
func ParseID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, ErrBadID
	}
	if ms, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, ErrBadID
	}
	if seq, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, ErrBadID
	}
	return ms, seq, nil
}

// CompareIDs orders two well-formed ids: -1, 0 or +1. A malformed id sorts
// before every well-formed one.
func CompareIDs(a, b string) int {
	am, as, aerr := ParseID(a)
	bm, bs, berr := ParseID(b)
	switch {
	case aerr != nil && berr != nil:
		return 0
	case aerr != nil:
		return -1
	case berr != nil:
		return 1
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

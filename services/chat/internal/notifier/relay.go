package notifier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"bureau/services/platform/bus"
)

// Topics carried between the replicas of the chat service.
const (
	WakeTopic   = "chat.wake"
	TypingTopic = "chat.typing"
	// MediaTopic carries the media ids whose state changed (uploaded,
	// scanned), for the downloads waiting on the other replicas.
	MediaTopic = "chat.media"
)

// Relay carries messages between the replicas of the chat service sharing
// one database, over the platform bus (Redis Streams); a replica drops its
// own messages.
type Relay struct {
	b       bus.Bus
	log     *slog.Logger
	replica string
}

// NewRelay returns a relay on b with a fresh replica id.
func NewRelay(b bus.Bus, log *slog.Logger) *Relay {
	id := make([]byte, 8)
	rand.Read(id)
	return &Relay{b: b, log: log, replica: hex.EncodeToString(id)}
}

type envelope struct {
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

// Publish sends v to the other replicas.
func (r *Relay) Publish(ctx context.Context, topic string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg, _ := json.Marshal(envelope{From: r.replica, Data: data})
	_, err = r.b.Publish(ctx, topic, msg)
	return err
}

// Subscribe hands the other replicas' messages of topic to handle, in
// order, until ctx ends; it returns once subscribed. When the subscription
// drops it subscribes again and calls resync, since messages may have
// passed in between.
func (r *Relay) Subscribe(ctx context.Context, topic string, handle func(json.RawMessage), resync func()) error {
	ch, err := r.b.Subscribe(ctx, topic)
	if err != nil {
		return err
	}
	go func() {
		for {
			for m := range ch {
				var e envelope
				if json.Unmarshal(m.Data, &e) == nil && e.From != r.replica {
					handle(e.Data)
				}
			}
			for {
				if ctx.Err() != nil {
					return
				}
				if ch, err = r.b.Subscribe(ctx, topic); err == nil {
					break
				}
				r.log.Warn("chat: replica relay: subscribe", "topic", topic, "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			resync()
		}
	}()
	return nil
}

// Relay connects this notifier to the other replicas: every Notify is
// also published, and wake-ups published by the others wake the syncs
// parked here. A replica publishes after its commit, so a sync woken on
// another replica reads the new data; a sync registers before reading, so
// none is missed. It runs until ctx ends.
//
// Wake-ups lost with the bus (Redis down, a subscription dropped) do not
// lose data: after a resubscription every parked sync here re-reads, and
// in the meantime they answer at their timeout.
func (n *Notifier) Relay(ctx context.Context, r *Relay) error {
	err := r.Subscribe(ctx, WakeTopic, func(data json.RawMessage) {
		var users []string
		if json.Unmarshal(data, &users) == nil {
			n.wake(users)
		}
	}, n.wakeAll)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.pending = map[string]bool{}
	n.kick = make(chan struct{}, 1)
	n.mu.Unlock()
	go n.publish(ctx, r)
	return nil
}

// publish sends the pending users as one message per batch: Notify never
// waits for the bus, and a burst of sends makes few messages.
func (n *Notifier) publish(ctx context.Context, r *Relay) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		users := make([]string, 0, len(n.pending))
		for u := range n.pending {
			users = append(users, u)
		}
		clear(n.pending)
		n.mu.Unlock()
		if len(users) == 0 {
			continue
		}
		if err := r.Publish(ctx, WakeTopic, users); err != nil && ctx.Err() == nil {
			// Other replicas' syncs answer at their timeout instead.
			r.log.Warn("chat: wake-up not relayed to the other replicas", "err", err)
		}
	}
}

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

// Topic carries wake-ups between the replicas of the chat service.
const Topic = "chat.wake"

// wakeMessage is one batch of users to wake, from replica From.
type wakeMessage struct {
	From  string   `json:"from"`
	Users []string `json:"users"`
}

// Relay connects this notifier to the other replicas sharing the database:
// every Notify is also published on the bus, and wake-ups published by the
// others wake the syncs parked here. A replica publishes after its commit,
// so a sync woken on another replica reads the new data; a sync registers
// before reading, so none is missed. Relay returns once subscribed; it runs
// until ctx ends.
//
// Wake-ups lost with the bus (Redis down, a subscription dropped) do not
// lose data: after a resubscription every parked sync here re-reads, and
// in the meantime they answer at their timeout.
func (n *Notifier) Relay(ctx context.Context, b bus.Bus, log *slog.Logger) error {
	id := make([]byte, 8)
	rand.Read(id)
	n.replica = hex.EncodeToString(id)
	ch, err := b.Subscribe(ctx, Topic)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.pending = map[string]bool{}
	n.kick = make(chan struct{}, 1)
	n.mu.Unlock()
	go n.publish(ctx, b, log)
	go n.receive(ctx, b, ch, log)
	return nil
}

// publish sends the pending users as one message per batch: Notify never
// waits for the bus, and a burst of sends makes few messages.
func (n *Notifier) publish(ctx context.Context, b bus.Bus, log *slog.Logger) {
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
		data, _ := json.Marshal(wakeMessage{From: n.replica, Users: users})
		if _, err := b.Publish(ctx, Topic, data); err != nil && ctx.Err() == nil {
			// Other replicas' syncs answer at their timeout instead.
			log.Warn("chat: wake-up not relayed to the other replicas", "err", err)
		}
	}
}

func (n *Notifier) receive(ctx context.Context, b bus.Bus, ch <-chan bus.Message, log *slog.Logger) {
	for {
		for m := range ch {
			var w wakeMessage
			if json.Unmarshal(m.Data, &w) != nil || w.From == n.replica {
				continue
			}
			n.wake(w.Users)
		}
		// The subscription ended: resubscribe, then wake every parked
		// sync here, since wake-ups may have passed in between.
		for {
			if ctx.Err() != nil {
				return
			}
			var err error
			if ch, err = b.Subscribe(ctx, Topic); err == nil {
				break
			}
			log.Warn("chat: wake-up relay: subscribe", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		n.wakeAll()
	}
}

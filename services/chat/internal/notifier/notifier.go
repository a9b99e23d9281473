// Package notifier wakes the long-polling /sync requests of exactly the
// users an event concerns. A sync registers with Listen before reading the
// store, so an event committed after its read always wakes it: no lost
// wake-ups and no polling loop.
package notifier

import (
	"sync"
	"sync/atomic"
)

// Notifier hands out per-user wake-up channels.
type Notifier struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
	parked  atomic.Int64

	// With a Relay: the users to publish.
	pending map[string]bool
	kick    chan struct{}
}

// Park counts a request now blocked on a channel until the returned
// function is called (for tests and metrics).
func (n *Notifier) Park() func() {
	n.parked.Add(1)
	return func() { n.parked.Add(-1) }
}

// Parked is the number of requests blocked waiting for a wake-up.
func (n *Notifier) Parked() int { return int(n.parked.Load()) }

// New returns an empty notifier.
func New() *Notifier { return &Notifier{waiting: map[string]chan struct{}{}} }

// Listen returns a channel closed at the next Notify concerning user.
// Several syncs of one user share the channel.
func (n *Notifier) Listen(user string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.waiting[user]
	if !ok {
		ch = make(chan struct{})
		n.waiting[user] = ch
	}
	return ch
}

// Notify wakes the listeners of users, here and, with a Relay, on the
// other replicas.
func (n *Notifier) Notify(users ...string) {
	n.wake(users)
	n.mu.Lock()
	kick := n.kick
	for _, u := range users {
		if kick != nil {
			n.pending[u] = true
		}
	}
	n.mu.Unlock()
	if kick == nil {
		return
	}
	select {
	case kick <- struct{}{}:
	default: // a publication is already due; it takes these users too
	}
}

// wake wakes the local listeners of users.
func (n *Notifier) wake(users []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, u := range users {
		if ch, ok := n.waiting[u]; ok {
			close(ch)
			delete(n.waiting, u)
		}
	}
}

// wakeAll wakes every local listener.
func (n *Notifier) wakeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for u, ch := range n.waiting {
		close(ch)
		delete(n.waiting, u)
	}
}

// Waiting is the number of users with a listener (for tests and metrics).
func (n *Notifier) Waiting() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.waiting)
}

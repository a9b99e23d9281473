package clientapi

import (
	"context"
	"sync"
	"time"

	"bureau/services/chat/internal/store"
)

// Presence changes that time alone makes (online → unavailable after
// PresenceIdle without activity, → offline once the syncs stopped) have no
// request to carry them: each user whose row can still change so has one
// timer, armed for the next such instant and re-armed at each refresh.
// When it fires, the change is written at a new stream position — what
// incremental syncs read — and the long-polls of the user and of those
// sharing a room with them are woken. No loop polls the rows.

type presenceTimers struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
}

// offlineAfter is how long after their last sync or action a user turns
// offline.
func (a *API) offlineAfter() int64 {
	return (a.cfg.MaxSyncTimeout + a.cfg.PresenceGrace).Milliseconds()
}

// nextTransition is when (ms) time alone next changes what others read of
// p, and whether it ever will.
func (a *API) nextTransition(p store.Presence) (int64, bool) {
	offline := max(p.LastSync, p.LastActive) + a.offlineAfter() + 1
	switch p.State {
	case presenceOnline:
		return min(p.LastActive+a.cfg.PresenceIdle.Milliseconds()+1, offline), true
	case presenceUnavailable:
		return offline, true
	}
	return 0, false
}

// StartPresence arms the timers of the rows not offline (after a restart:
// their changes must still be published) and returns; Close stops them.
func (a *API) StartPresence(ctx context.Context) error {
	if a.cfg.PresenceOff {
		return nil
	}
	ps, err := a.store.LivePresences(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		a.schedulePresence(p)
	}
	return nil
}

// Close stops the presence timers.
func (a *API) Close() {
	t := &a.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.cancel != nil {
		t.cancel()
	}
	for _, tm := range t.timers {
		tm.Stop()
	}
	t.timers = nil
}

// schedulePresence (re)arms p's user's timer for its next transition.
func (a *API) schedulePresence(p store.Presence) {
	if a.cfg.PresenceOff {
		return
	}
	at, ok := a.nextTransition(p)
	t := &a.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if t.timers == nil {
		t.timers = map[string]*time.Timer{}
		t.ctx, t.cancel = context.WithCancel(context.Background())
	}
	if old := t.timers[p.UserID]; old != nil {
		old.Stop()
		delete(t.timers, p.UserID)
	}
	if !ok {
		return
	}
	user, ctx := p.UserID, t.ctx
	d := time.Duration(at-a.now().UnixMilli()) * time.Millisecond
	t.timers[user] = time.AfterFunc(max(d, 0), func() { a.presenceExpired(ctx, user) })
}

// presenceExpired publishes what time changed of user's presence, if
// anything (a refresh may have come since the timer was armed), and arms
// the next timer.
func (a *API) presenceExpired(ctx context.Context, user string) {
	for range 3 { // a concurrent refresh: read again
		p, err := a.store.GetPresence(ctx, user)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("chat: presence timer", "user", user, "err", err)
			}
			return
		}
		state := a.effectivePresence(p, a.now().UnixMilli())
		if state == p.State {
			a.schedulePresence(p)
			return
		}
		done, err := a.store.ExpirePresence(ctx, p, state)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("chat: presence timer", "user", user, "err", err)
			}
			return
		}
		if done {
			p.State = state
			a.touches.synced.Delete(user) // the next sync re-evaluates
			a.schedulePresence(p)
			if err := a.notifySharers(ctx, user); err != nil && ctx.Err() == nil {
				a.log.Warn("chat: presence timer", "user", user, "err", err)
			}
			return
		}
	}
}

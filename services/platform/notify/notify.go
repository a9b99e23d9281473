// Package notify is how services tell a user that something happened: they
// publish an Event on the bus topic Topic, and every gateway replica pushes it
// to that user's open browser tabs (see gateway/internal/events).
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"bureau/services/platform/bus"
)

// Topic is the bus topic carrying every user-addressed event.
const Topic = "events.user"

// TypeNotification is the Type of events whose Data is a Notification.
const TypeNotification = "notification"

// MaxDataSize bounds Event.Data: events go to browsers over a bounded queue
// and into the retained history, so they carry pointers, not documents.
const MaxDataSize = 16 << 10

// Event is one event for one user.
type Event struct {
	User string          `json:"user"` // identity user id of the recipient
	Type string          `json:"type"` // e.g. "notification", "chat.unread"
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("notify: invalid event")

func (ev Event) validate() error {
	switch {
	case ev.User == "":
		return fmt.Errorf("%w: empty user", ErrInvalid)
	case ev.Type == "":
		return fmt.Errorf("%w: empty type", ErrInvalid)
	case len(ev.Data) > MaxDataSize:
		return fmt.Errorf("%w: data is %d bytes, limit %d", ErrInvalid, len(ev.Data), MaxDataSize)
	case len(ev.Data) > 0 && !json.Valid(ev.Data):
		return fmt.Errorf("%w: data is not JSON", ErrInvalid)
	}
	return nil
}

// Publish validates ev, stamps Time if unset, and publishes it on Topic.
func Publish(ctx context.Context, b bus.Bus, ev Event) (id string, err error) {
	if err := ev.validate(); err != nil {
		return "", err
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC()
	raw, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("notify: encode: %w", err)
	}
	return b.Publish(ctx, Topic, raw)
}

// Decode parses a message from Topic.
func Decode(msg bus.Message) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if ev.User == "" || ev.Type == "" {
		return Event{}, fmt.Errorf("%w: missing user or type", ErrInvalid)
	}
	return ev, nil
}

// NewEvent builds an Event for user whose Data is v encoded as JSON.
func NewEvent(user, typ string, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("notify: encode data: %w", err)
	}
	ev := Event{User: user, Type: typ, Data: data}
	return ev, ev.validate()
}

// Notification is the common payload shown to the user as a notification.
type Notification struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
	// Link is where clicking the notification leads: a path in the suite
	// ("/files/…") or an https URL. Anything else is refused, because the
	// web app puts it in an href (javascript: would be script injection).
	Link string `json:"link,omitempty"`
}

// Validate checks Title and Link.
func (n Notification) Validate() error {
	if strings.TrimSpace(n.Title) == "" {
		return fmt.Errorf("%w: notification without title", ErrInvalid)
	}
	if n.Link == "" {
		return nil
	}
	if strings.HasPrefix(n.Link, "/") && !strings.HasPrefix(n.Link, "//") && !strings.HasPrefix(n.Link, "/\\") {
		return nil
	}
	if u, err := url.Parse(n.Link); err == nil && u.Scheme == "https" && u.Host != "" {
		return nil
	}
	return fmt.Errorf("%w: link must be a /path or an https URL", ErrInvalid)
}

// Notify publishes a Notification to user as an event of TypeNotification.
func Notify(ctx context.Context, b bus.Bus, user string, n Notification) (id string, err error) {
	if err := n.Validate(); err != nil {
		return "", err
	}
	ev, err := NewEvent(user, TypeNotification, n)
	if err != nil {
		return "", err
	}
	return Publish(ctx, b, ev)
}

// Notification decodes ev.Data as a Notification.
func (ev Event) Notification() (Notification, error) {
	var n Notification
	if err := json.Unmarshal(ev.Data, &n); err != nil {
		return Notification{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return n, n.Validate()
}

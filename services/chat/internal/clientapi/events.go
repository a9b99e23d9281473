package clientapi

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"bureau/services/chat/internal/store"
)

// clientEvent is the client format of an event.
type clientEvent struct {
	Content        json.RawMessage `json:"content"`
	EventID        string          `json:"event_id"`
	OriginServerTS int64           `json:"origin_server_ts"`
	RoomID         string          `json:"room_id"`
	Sender         string          `json:"sender"`
	StateKey       *string         `json:"state_key,omitempty"`
	Type           string          `json:"type"`
	Redacts        string          `json:"redacts,omitempty"`
	Unsigned       map[string]any  `json:"unsigned,omitempty"`
	// pdu is the stored PDU, for event_format "federation".
	pdu []byte
}

// toClient converts a stored PDU; the sending device sees its transaction
// id, which is how clients match the event with their local echo.
func toClient(ev store.Event, deviceID string) clientEvent {
	var pdu struct {
		Content        json.RawMessage `json:"content"`
		OriginServerTS int64           `json:"origin_server_ts"`
		Redacts        string          `json:"redacts"`
	}
	_ = json.Unmarshal(ev.JSON, &pdu) // written by us, valid
	ce := clientEvent{
		Content: pdu.Content, EventID: ev.EventID, OriginServerTS: pdu.OriginServerTS, RoomID: ev.RoomID,
		Sender: ev.Sender, StateKey: ev.StateKey, Type: ev.Type, Redacts: pdu.Redacts, pdu: ev.JSON,
	}
	if ce.Content == nil {
		ce.Content = json.RawMessage("{}")
	}
	if ce.Redacts == "" && ce.Type == "m.room.redaction" {
		// Room version 11 moved redacts into the content; clients of
		// older versions read it at the top level, so both are served.
		var c struct {
			Redacts string `json:"redacts"`
		}
		_ = json.Unmarshal(ce.Content, &c)
		ce.Redacts = c.Redacts
	}
	if ev.TxnID != "" && deviceID != "" && ev.DeviceID == deviceID {
		ce.setUnsigned("transaction_id", ev.TxnID)
	}
	if ev.RedactedBecause != nil {
		var because struct {
			EventID string          `json:"event_id"`
			PDU     json.RawMessage `json:"pdu"`
		}
		if json.Unmarshal(ev.RedactedBecause, &because) == nil {
			var pdu struct {
				Sender string `json:"sender"`
			}
			_ = json.Unmarshal(because.PDU, &pdu)
			red := toClient(store.Event{EventID: because.EventID, RoomID: ev.RoomID, Type: "m.room.redaction", Sender: pdu.Sender, JSON: because.PDU}, "")
			ce.setUnsigned("redacted_because", red)
		}
	}
	return ce
}

func (ce *clientEvent) setUnsigned(key string, v any) {
	if ce.Unsigned == nil {
		ce.Unsigned = map[string]any{}
	}
	ce.Unsigned[key] = v
}

func (ce clientEvent) membership() string {
	var c struct {
		Membership string `json:"membership"`
	}
	_ = json.Unmarshal(ce.Content, &c)
	return c.Membership
}

// Stream tokens are "s" followed by a stream position. They name a point
// in the stream: /sync returns what comes after it, /messages backwards
// what is at or before it. Positions live in the database, so tokens
// survive restarts.

// FormatToken returns the token of a stream position.
func FormatToken(pos int64) string { return "s" + strconv.FormatInt(pos, 10) }

var errBadToken = errors.New("invalid stream token")

// ParseToken parses a stream token.
func ParseToken(s string) (int64, error) {
	digits, ok := strings.CutPrefix(s, "s")
	if !ok || digits == "" || len(digits) > 18 {
		return 0, errBadToken
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errBadToken
		}
	}
	pos, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errBadToken
	}
	return pos, nil
}

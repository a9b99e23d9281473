package store

import (
	"encoding/json"
	"fmt"
)

// membershipOf reads content.membership of a member event.
func membershipOf(pdu []byte) (string, error) {
	var ev struct {
		Content struct {
			Membership string `json:"membership"`
		} `json:"content"`
	}
	if err := json.Unmarshal(pdu, &ev); err != nil || ev.Content.Membership == "" {
		return "", fmt.Errorf("store: member event without a membership")
	}
	return ev.Content.Membership, nil
}

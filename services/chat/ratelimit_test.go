package chat_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"maunium.net/go/mautrix"

	"bureau/services/chat"
)

func TestSendRateLimit(t *testing.T) {
	e := newEnv(t, func(c *chat.Config) { c.RateLimit.PerSecond, c.RateLimit.Burst = 2, 3 })
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	send := func(cli *mautrix.Client, txn string) *http.Response {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/_matrix/client/v3/rooms/"+url.PathEscape(room.RoomID.String())+"/send/m.room.message/"+txn,
			strings.NewReader(`{"msgtype":"m.text","body":"x"}`))
		req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if resp := send(a, fmt.Sprint("t", i)); resp.StatusCode != 200 {
			t.Fatalf("send %d within the burst: %d", i, resp.StatusCode)
		}
	}
	st, out := callURL(t, a, "PUT", "/_matrix/client/v3/rooms/"+url.PathEscape(room.RoomID.String())+"/send/m.room.message/t9", map[string]string{"body": "x"})
	if ms, _ := out["retry_after_ms"].(float64); st != 429 || out["errcode"] != "M_LIMIT_EXCEEDED" || ms <= 0 || ms > 500 {
		t.Fatalf("over the limit: %d %v", st, out)
	}
	if resp := send(a, "t10"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another user has their own allowance; Alice's comes back.
	if resp := send(b, "b1"); resp.StatusCode != 200 {
		t.Fatalf("bob limited by alice: %d", resp.StatusCode)
	}
	waitFor(t, func() bool { return send(a, "t11").StatusCode == 200 })
}

package chat_test

import (
	"net/http"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"bureau/services/chat"
)

func TestRefreshTokens(t *testing.T) {
	e := newEnv(t, func(c *chat.Config) { c.AccessTokenLifetime = time.Second })
	ctx := t.Context()
	// Without refresh_token the access token never expires.
	plain := e.login(bob)
	cli, _ := mautrix.NewClient(e.srv.URL, "", "")
	resp, err := cli.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypeToken, Token: e.ssoLoginToken(alice), RefreshToken: true, StoreCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.RefreshToken == "" || resp.ExpiresInMS != 1000 {
		t.Fatalf("login = %+v", resp)
	}
	// The access token expires: a soft logout.
	var st int
	var out map[string]any
	waitFor(t, func() bool {
		st, out = callURL(t, cli, "GET", "/_matrix/client/v3/account/whoami", nil)
		return st != http.StatusOK
	})
	if st != 401 || out["errcode"] != "M_UNKNOWN_TOKEN" || out["soft_logout"] != true {
		t.Fatalf("expired token: %d %v", st, out)
	}
	if _, err := plain.Whoami(ctx); err != nil {
		t.Fatalf("token without refresh expired: %v", err)
	}
	refresh := func(rt string) (int, map[string]any) {
		return callURL(t, &mautrix.Client{HomeserverURL: cli.HomeserverURL}, "POST", "/_matrix/client/v3/refresh", map[string]string{"refresh_token": rt})
	}
	st, r1 := refresh(resp.RefreshToken)
	if st != 200 || r1["access_token"] == nil || r1["refresh_token"] == resp.RefreshToken || r1["expires_in_ms"] != 1000.0 {
		t.Fatalf("refresh = %d %v", st, r1)
	}
	// The answer was lost: the old refresh token still works, once more,
	// until the new access token is used.
	st, r2 := refresh(resp.RefreshToken)
	if st != 200 {
		t.Fatalf("retry with the old refresh token: %d %v", st, r2)
	}
	cli.AccessToken = r2["access_token"].(string)
	if who, err := cli.Whoami(ctx); err != nil || who.UserID != resp.UserID || who.DeviceID != resp.DeviceID {
		t.Fatalf("whoami with the refreshed token = %+v, %v", who, err)
	}
	if st, out := refresh(resp.RefreshToken); st != 401 || out["errcode"] != "M_UNKNOWN_TOKEN" {
		t.Fatalf("old refresh token after use of the new access token: %d %v", st, out)
	}
	// The first refreshed access token was replaced by the retry.
	cli.AccessToken = r1["access_token"].(string)
	if _, err := cli.Whoami(ctx); errcode(err) != "M_UNKNOWN_TOKEN" {
		t.Fatalf("replaced access token still valid: %v", err)
	}
	// Logging out kills the refresh token.
	cli.AccessToken = r2["access_token"].(string)
	if _, err := cli.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := refresh(r2["refresh_token"].(string)); st != 401 {
		t.Fatalf("refresh after logout: %d", st)
	}
	for _, body := range []string{`{}`, `{"refresh_token":5}`, `{"refresh_token":`} {
		if st, code := raw(t, &mautrix.Client{HomeserverURL: cli.HomeserverURL}, "POST", "/_matrix/client/v3/refresh", body); st != 400 || (code != "M_BAD_JSON" && code != "M_NOT_JSON") {
			t.Errorf("refresh %s: %d %s", body, st, code)
		}
	}
}

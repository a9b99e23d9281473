package identity

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignVerify(t *testing.T) {
	pub, priv, _ := GenerateKey()
	s := NewSigner(priv, 30*time.Second)
	u := User{ID: "u1", Email: "alice.martin@interieur.gouv.fr", GivenName: "Alice", UsualName: "Martin", Ministry: "interieur"}
	tok, exp, err := s.Sign(u, "files")
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(exp) > 31*time.Second {
		t.Fatalf("expiry too far: %v", exp)
	}
	got, err := NewVerifier(pub, "files").Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got != u {
		t.Fatalf("got %+v want %+v", got, u)
	}
	if got.DisplayName() != "Alice Martin" {
		t.Fatalf("display name %q", got.DisplayName())
	}
}

func TestVerifyRejects(t *testing.T) {
	pub, priv, _ := GenerateKey()
	_, otherPriv, _ := GenerateKey()
	u := User{ID: "u1", Email: "a@b"}
	good, _, _ := NewSigner(priv, time.Minute).Sign(u, "chat")

	expired := NewSigner(priv, time.Minute)
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	old, _, _ := expired.Sign(u, "chat")

	forged, _, _ := NewSigner(otherPriv, time.Minute).Sign(u, "chat")

	long := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, Subject: "u1", Audience: jwt.ClaimStrings{"chat"},
			IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		User: u,
	})
	longTok, _ := long.SignedString(priv)

	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, Subject: "u1", Audience: jwt.ClaimStrings{"chat"},
			IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute))},
		User: u,
	})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	cases := map[string]struct {
		tok string
		aud string
	}{
		"wrong audience": {good, "files"},
		"expired":        {old, "chat"},
		"forged":         {forged, "chat"},
		"too long-lived": {longTok, "chat"},
		"alg none":       {noneTok, "chat"},
		"garbage":        {"not.a.token", "chat"},
		"tampered":       {good[:len(good)-4] + "AAAA", "chat"},
	}
	for name, c := range cases {
		if _, err := NewVerifier(pub, c.aud).Verify(c.tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMiddlewareDropsInvalid(t *testing.T) {
	pub, priv, _ := GenerateKey()
	v := NewVerifier(pub, "meet")
	var seen *User
	h := v.Middleware(httpHandler(func(u *User) { seen = u }))
	tok, _, _ := NewSigner(priv, time.Minute).Sign(User{ID: "x"}, "meet")

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(Header, tok)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen == nil || seen.ID != "x" {
		t.Fatalf("valid token not accepted: %+v", seen)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set(Header, strings.Replace(tok, ".", "x.", 1))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen != nil {
		t.Fatalf("invalid token produced user %+v", seen)
	}
}

func TestKeyEncoding(t *testing.T) {
	pub, priv, _ := GenerateKey()
	p2, err := DecodePublicKey(EncodePublicKey(pub))
	if err != nil || !p2.Equal(pub) {
		t.Fatal("public key round trip", err)
	}
	k2, err := DecodePrivateKey(EncodePrivateKey(priv))
	if err != nil || !k2.Equal(priv) {
		t.Fatal("private key round trip", err)
	}
	if _, err := DecodePublicKey("AAAA"); err == nil {
		t.Fatal("short key accepted")
	}
	path := t.TempDir() + "/key"
	a, err := LoadOrCreatePrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreatePrivateKey(path)
	if err != nil || !a.Equal(b) {
		t.Fatal("key not persisted", err)
	}
}

// FuzzVerify: no input is accepted without the key, and none panics.
func FuzzVerify(f *testing.F) {
	pub, _, _ := GenerateKey()
	_, other, _ := GenerateKey()
	good, _, _ := NewSigner(other, time.Minute).Sign(User{ID: "u"}, "chat")
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")
	f.Add("a.b.c")
	v := NewVerifier(pub, "chat")
	f.Fuzz(func(t *testing.T, tok string) {
		if u, err := v.Verify(tok); err == nil {
			t.Fatalf("accepted a token not signed by the key: %q → %+v", tok, u)
		}
	})
}

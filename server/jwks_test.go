package server_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/internal/jwkstest"
	"todo-api/jwks"
	"todo-api/server"
)

// betterAuthURL stands for BETTER_AUTH_URL: Better Auth's JWT plugin puts
// its base URL in both iss and aud.
const betterAuthURL = "http://localhost:3000"

// newBetterAuthEnv is the app configured as with BETTER_AUTH_URL, its key set
// served by srv; secret adds HS256 beside it.
func newBetterAuthEnv(t *testing.T, driver string, srv *jwkstest.Server, secret bool, edits ...func(*config.Config)) *env {
	t.Helper()
	return newEnvWith(t, driver, func(d *server.Deps) {
		keys := jwks.New(jwks.Options{
			URL:                d.Config.Auth.JWKSURL,
			MinRefreshInterval: 300 * time.Millisecond,
			MaxBackoff:         600 * time.Millisecond,
			Log:                d.Log,
			OnFetch:            d.Metrics.JWKSRefreshed,
		})
		keys.Start(t.Context())
		d.Verifier.WithKeySource(keys.Keyfunc, d.Config.Auth.Algorithms...)
		d.Readiness = append(d.Readiness, server.KeySetCheck(keys.Ready))
	}, func(c *config.Config) {
		if !secret {
			c.Auth.Secret = nil
		}
		c.Auth.BetterAuthURL = betterAuthURL
		c.Auth.JWKSURL = srv.JWKSURL()
		c.Auth.Issuer, c.Auth.Audience = betterAuthURL, betterAuthURL
		c.Auth.Algorithms = config.DefaultAlgorithms()
		for _, edit := range edits {
			edit(c)
		}
	})
}

// claims are what Better Auth's JWT plugin puts in a token: the user record,
// sub, iat, and exp 15 minutes later, with iss and aud its base URL.
func (e *env) betterAuthClaims(sub string, edits ...jwt.MapClaims) jwt.MapClaims {
	now := e.clock.Now()
	c := jwt.MapClaims{
		"id": sub, "name": "Alice", "email": sub + "@example.com", "emailVerified": false, "image": nil,
		"createdAt": now.Add(-time.Hour).Format(time.RFC3339), "updatedAt": now.Add(-time.Hour).Format(time.RFC3339),
		"sub": sub, "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		"iss": betterAuthURL, "aud": betterAuthURL,
	}
	for _, edit := range edits {
		for k, v := range edit {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
	}
	return c
}

func waitReady(t *testing.T, e *env) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e.call("GET", "/readyz", "", nil).status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
	}
}

// TestBetterAuthTokens runs tokens shaped like Better Auth's, one key per
// algorithm its JWT plugin can sign with, through the whole app.
func TestBetterAuthTokens(t *testing.T) {
	keys := map[string]*jwkstest.Key{}
	var published []*jwkstest.Key
	for i, alg := range config.DefaultAlgorithms() {
		k := jwkstest.NewKey(t, alg, fmt.Sprintf("kid-%s", alg))
		// Older Better Auth versions publish no "alg"; none publishes "use".
		k.OmitAlg = i%2 == 1
		keys[alg] = k
		published = append(published, k)
	}
	// A key the JWKS holds but whose algorithm is not pinned.
	es384 := jwkstest.NewKey(t, "ES384", "kid-ES384")
	published = append(published, es384)
	srv := jwkstest.NewServer(t, published...)
	// jku, x5u and jwk headers point here; it must never be asked anything.
	attackerSrv := jwkstest.NewServer(t)
	attacker := jwkstest.NewKey(t, "EdDSA", "kid-EdDSA") // same kid as the real key

	// eachDB, with the app built for Better Auth.
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			betterAuthTokens(t, newBetterAuthEnv(t, driver, srv, true), keys, es384, attacker, attackerSrv)
		})
	}
}

func betterAuthTokens(t *testing.T, e *env, keys map[string]*jwkstest.Key, es384, attacker *jwkstest.Key, attackerSrv *jwkstest.Server) {
	t.Helper()
	waitReady(t, e)

	for _, alg := range config.DefaultAlgorithms() {
		t.Run("valid "+alg, func(t *testing.T) {
			sub := "user-" + strings.ToLower(alg)
			tok := keys[alg].Sign(t, e.betterAuthClaims(sub))
			r := e.call("POST", "/api/"+sub+"/tasks", tok, map[string]any{"title": "via " + alg})
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			if got := r.task(t); got.UserID != sub || got.Title != "via "+alg {
				t.Errorf("created %+v", got)
			}
			r = e.call("GET", "/api/"+sub+"/tasks", tok, nil)
			var list []task
			r.decode(t, &list)
			if r.status != 200 || len(list) != 1 || list[0].UserID != sub {
				t.Errorf("list: %d %s", r.status, r.body)
			}
		})
	}

	ed := keys["EdDSA"]
	rsaPEM := func(k *jwkstest.Key) []byte {
		der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	hs256 := func(secret []byte, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	alice := e.betterAuthClaims("alice")
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"HS256 beside the JWKS", hs256([]byte(testSecret), "", alice), 200},
		{"HS256 naming a JWKS kid is still checked against the secret", hs256([]byte(testSecret), ed.Kid, alice), 200},
		{"expired", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"exp": e.clock.Now().Add(-time.Minute).Unix()})), 401},
		{"no exp", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"exp": nil})), 401},
		{"wrong iss", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"iss": "http://evil.example"})), 401},
		{"iss with a trailing slash", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"iss": betterAuthURL + "/"})), 401},
		{"no iss", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"iss": nil})), 401},
		{"wrong aud", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"aud": "http://other-app.example"})), 401},
		{"no aud", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"aud": nil})), 401},
		{"no sub", ed.Sign(t, e.betterAuthClaims("alice", jwt.MapClaims{"sub": nil})), 401},
		{"unknown kid", jwkstest.NewKey(t, "EdDSA", "kid-unknown").Sign(t, alice), 401},
		{"no kid", ed.Sign(t, alice, map[string]any{"kid": nil}), 401},
		{"right kid, signed by another key", attacker.Sign(t, alice), 401},
		{"algorithm in the JWKS but not pinned (ES384)", es384.Sign(t, alice), 401},
		{"alg none", noneToken(ed.Sign(t, alice)), 401},
		{"key confusion: HS256 signed with the raw Ed25519 public key", hs256(ed.PublicBytes(), ed.Kid, alice), 401},
		{"key confusion: HS256 signed with the RSA public key PEM", hs256(rsaPEM(keys["RS256"]), keys["RS256"].Kid, alice), 401},
		{"key confusion: HS256 signed with the JWK JSON", hs256(keys["ES256"].PublicBytes(), keys["ES256"].Kid, alice), 401},
		{"jku header to another key set", attacker.Sign(t, alice, map[string]any{"kid": "kid-attacker", "jku": attackerSrv.JWKSURL()}), 401},
		{"x5u header", attacker.Sign(t, alice, map[string]any{"kid": "kid-attacker", "x5u": attackerSrv.URL + "/cert.pem"}), 401},
		{"embedded jwk header", attacker.Sign(t, alice, map[string]any{"jwk": attacker.JWK()}), 401},
		{"jku with a known kid", attacker.Sign(t, alice, map[string]any{"jku": attackerSrv.JWKSURL()}), 401},
		{"another user's path", ed.Sign(t, e.betterAuthClaims("bob")), 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/alice/tasks", tc.token, nil)
			if tc.status == 200 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.problem(t, tc.status)
			if tc.status == 401 && r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := attackerSrv.Hits(); n != 0 {
		t.Errorf("the server named in jku/x5u headers was fetched %d times", n)
	}
}

// noneToken re-heads a token as alg "none" with no signature, keeping its kid.
func noneToken(tok string) string {
	parts := strings.Split(tok, ".")
	return b64(`{"alg":"none","kid":"kid-EdDSA","typ":"JWT"}`) + "." + parts[1] + "."
}

// TestKeyConfusionWithoutSecret: with the JWKS as the only source, an HS256
// token meets no key at all, whatever it is signed with.
func TestKeyConfusionWithoutSecret(t *testing.T) {
	ed := jwkstest.NewKey(t, "EdDSA", "k")
	rs := jwkstest.NewKey(t, "RS256", "r")
	srv := jwkstest.NewServer(t, ed, rs)
	e := newBetterAuthEnv(t, config.SQLite, srv, false)
	waitReady(t, e)
	alice := e.betterAuthClaims("alice")
	for name, tok := range map[string]string{
		"Ed25519 public key": sign(t, jwt.SigningMethodHS256, []byte(ed.PublicBytes()), alice),
		"RSA JWK":            sign(t, jwt.SigningMethodHS256, rs.PublicBytes(), alice),
		"the test secret":    sign(t, jwt.SigningMethodHS256, []byte(testSecret), alice),
	} {
		t.Run(name, func(t *testing.T) {
			e.call("GET", "/api/alice/tasks", tok, nil).problem(t, 401)
		})
	}
	if r := e.call("GET", "/api/alice/tasks", ed.Sign(t, alice), nil); r.status != 200 {
		t.Fatalf("EdDSA token: %d %s", r.status, r.body)
	}
}

// TestAsymmetricNeverMeetsTheSecret: with HS256 as the only source, a token
// with an asymmetric alg is refused before any key is looked at.
func TestAsymmetricNeverMeetsTheSecret(t *testing.T) {
	e := newEnv(t, config.SQLite)
	ed := jwkstest.NewKey(t, "EdDSA", "k")
	rs := jwkstest.NewKey(t, "RS256", "r")
	for _, k := range []*jwkstest.Key{ed, rs} {
		tok := k.Sign(t, jwt.MapClaims{"sub": "alice", "exp": e.clock.Now().Add(time.Hour).Unix()})
		e.call("GET", "/api/alice/tasks", tok, nil).problem(t, 401)
	}
}

// TestJWKSDownAtStart: Better Auth unreachable at start — the app serves
// anyway, /readyz says why it is not ready, Better Auth tokens get 401,
// HS256 tokens work, and all recovers by itself once the JWKS answers.
func TestJWKSDownAtStart(t *testing.T) {
	key := jwkstest.NewKey(t, "EdDSA", "k")
	srv := jwkstest.NewServer(t, key)
	srv.SetStatus(http.StatusBadGateway)
	e := newBetterAuthEnv(t, config.SQLite, srv, true)
	// Until the first fetch has failed, /readyz says it is under way.
	var r response
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r = e.call("GET", "/readyz", "", nil); srv.Hits() > 0 && !strings.Contains(string(r.body), "under way") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed fetch reported: %s", r.body)
		}
	}
	p := r.problem(t, 503)
	if !strings.Contains(p.Detail, "JWKS") || !strings.Contains(p.Detail, "HTTP 502") {
		t.Errorf("readyz detail %q does not say the JWKS is the problem", p.Detail)
	}
	if strings.Contains(p.Detail, srv.URL) {
		t.Errorf("readyz shows the JWKS address: %q", p.Detail)
	}
	tok := key.Sign(t, e.betterAuthClaims("alice"))
	e.call("GET", "/api/alice/tasks", tok, nil, "X-Request-ID", "jwks-down").problem(t, 401)
	if line := accessLine(t, e, "jwks-down"); line["reason"] != "jwks_unavailable" {
		t.Errorf("access log %v, want reason jwks_unavailable", line)
	}
	if r := e.call("GET", "/api/alice/tasks", e.token("alice", func(c jwt.MapClaims) {
		c["iss"], c["aud"] = betterAuthURL, betterAuthURL
	}), nil); r.status != 200 {
		t.Fatalf("HS256 while the JWKS is down: %d %s", r.status, r.body)
	}

	srv.SetStatus(0)
	waitReady(t, e)
	if r := e.call("GET", "/api/alice/tasks", tok, nil); r.status != 200 {
		t.Fatalf("Better Auth token after recovery: %d %s", r.status, r.body)
	}
}

// TestKeyRotationThroughAPI: Better Auth swaps its key; the new kid works
// within seconds and the removed key stops working.
func TestKeyRotationThroughAPI(t *testing.T) {
	old := jwkstest.NewKey(t, "EdDSA", "old")
	srv := jwkstest.NewServer(t, old)
	e := newBetterAuthEnv(t, config.SQLite, srv, false)
	waitReady(t, e)
	oldTok := old.Sign(t, e.betterAuthClaims("alice"))
	if r := e.call("GET", "/api/alice/tasks", oldTok, nil); r.status != 200 {
		t.Fatalf("old key: %d", r.status)
	}
	rotated := jwkstest.NewKey(t, "EdDSA", "new")
	srv.SetKeys(rotated)
	newTok := rotated.Sign(t, e.betterAuthClaims("alice"))
	begin := time.Now()
	for e.call("GET", "/api/alice/tasks", newTok, nil).status != 200 {
		if time.Since(begin) > 15*time.Second {
			t.Fatal("rotated-in key not accepted within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("new kid accepted after %v", time.Since(begin))
	e.call("GET", "/api/alice/tasks", oldTok, nil).problem(t, 401)
}

package jwks_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/jwkstest"
	"todo-api/internal/logbuf"
	"todo-api/jwks"
)

// window is the rate-limit window in these tests: short, so that they run
// in real time, and long enough to tell one window from the next on a busy
// two-core machine running the race detector.
const window = 400 * time.Millisecond

// start returns a started Set for url whose log is shown when the test fails.
func start(t *testing.T, url string, edit ...func(*jwks.Options)) *jwks.Set {
	t.Helper()
	var logs logbuf.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("jwks log:\n%s", logs.String())
		}
	})
	opts := jwks.Options{
		URL:                url,
		MinRefreshInterval: window,
		RefreshInterval:    time.Hour,
		MaxBackoff:         2 * window,
		FetchTimeout:       3 * time.Second,
		Log:                slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	for _, e := range edit {
		e(&opts)
	}
	s := jwks.New(opts)
	s.Start(t.Context())
	return s
}

// eventually polls cond every 20 ms until it holds or within passes; it
// returns how long that took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for deadline := begin.Add(within); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return time.Since(begin)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// idle waits until srv has answered nothing for d. The set's window runs
// from the moment it has read its last answer, a little after the server
// sent it, so a window and a margin of idleness mean a fetch is allowed
// again, and two windows that no deferred fetch is still pending.
func idle(t *testing.T, srv *jwkstest.Server, d time.Duration) {
	t.Helper()
	eventually(t, 10*time.Second+d, fmt.Sprintf("JWKS server idle for %v", d), func() bool { return srv.IdleFor() >= d })
}

func ready(t *testing.T, s *jwks.Set) {
	t.Helper()
	eventually(t, 5*time.Second, "key set loaded", func() bool { return s.Ready() == nil })
}

func claims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
}

// verify checks tok the way the middleware does, with alg pinned.
func verify(s *jwks.Set, tok string) error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA", "ES256", "ES384", "ES512", "PS256", "RS256", "RS384", "HS256"}))
	_, err := p.Parse(tok, s.Keyfunc)
	return err
}

func randomKID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestEveryAlgorithm verifies a token per algorithm Better Auth can sign
// with, its JWK published with and without "alg" and never with "use".
func TestEveryAlgorithm(t *testing.T) {
	var keys []*jwkstest.Key
	for _, alg := range []string{"EdDSA", "ES256", "ES512", "PS256", "RS256"} {
		with := jwkstest.NewKey(t, alg, alg+"-with-alg")
		without := jwkstest.NewKey(t, alg, alg+"-without-alg")
		without.OmitAlg = true
		keys = append(keys, with, without)
	}
	sig := jwkstest.NewKey(t, "ES256", "use-sig")
	sig.Use = "sig"
	keys = append(keys, sig)
	srv := jwkstest.NewServer(t, keys...)
	s := start(t, srv.JWKSURL())
	ready(t, s)
	for _, k := range keys {
		t.Run(k.Kid, func(t *testing.T) {
			if err := verify(s, k.Sign(t, claims())); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := srv.Hits(); n != 1 {
		t.Errorf("%d fetches for known kids, want 1", n)
	}
}

// TestKeyMustFitAlgorithm: the key a kid names must fit the token's alg by
// its own type, whatever the header or the JWK say.
func TestKeyMustFitAlgorithm(t *testing.T) {
	ed := jwkstest.NewKey(t, "EdDSA", "ed")
	p521 := jwkstest.NewKey(t, "ES512", "p521")
	p521.OmitAlg = true
	rsaNoAlg := jwkstest.NewKey(t, "RS256", "rsa")
	rsaNoAlg.OmitAlg = true
	ps := jwkstest.NewKey(t, "PS256", "ps") // JWK says PS256
	small := jwkstest.NewKey(t, "RS256", "small", 1024)
	enc := jwkstest.NewKey(t, "ES256", "enc")
	enc.Use = "enc"
	srv := jwkstest.NewServer(t, ed, p521, rsaNoAlg, ps, small, enc)
	srv.SetJWKs(append(jwkJSON(ed, p521, rsaNoAlg, ps, small, enc),
		map[string]any{"kid": "oct", "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"})...)
	s := start(t, srv.JWKSURL())
	ready(t, s)

	// forge signs with a key of its own but names kid and alg in the header.
	forge := func(alg, kid string) string {
		return jwkstest.NewKey(t, alg, kid).Sign(t, claims())
	}
	hs := func(kid string, secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
		tok.Header["kid"] = kid
		out, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct{ name, token string }{
		{"ES256 header on a P-521 key", forge("ES256", "p521")},
		{"ES512 header on an Ed25519 key", forge("ES512", "ed")},
		{"EdDSA header on an RSA key", forge("EdDSA", "rsa")},
		{"RS256 header on an EC key", forge("RS256", "p521")},
		{"RS256 token on a key whose JWK says PS256", ps.Sign(t, claims(), map[string]any{"alg": "RS256"})},
		{"RSA key under 2048 bits", small.Sign(t, claims())},
		{"key published for encryption", enc.Sign(t, claims())},
		{"HS256 with the Ed25519 public key as secret", hs("ed", ed.PublicBytes())},
		{"HS256 with the RSA JWK as secret", hs("rsa", rsaNoAlg.PublicBytes())},
		{"HS256 with a symmetric key from the set", hs("oct", []byte("secret-secret-secret-secret-secret"))},
		{"no kid", ed.Sign(t, claims(), map[string]any{"kid": nil})},
		{"kid not a string", ed.Sign(t, claims(), map[string]any{"kid": 7})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(s, tc.token); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if err := verify(s, rsaNoAlg.Sign(t, claims())); err != nil {
		t.Errorf("the RSA key without alg no longer verifies RS256: %v", err)
	}
	if err := verify(s, p521.Sign(t, claims())); err != nil {
		t.Errorf("the P-521 key without alg no longer verifies ES512: %v", err)
	}
}

func jwkJSON(keys ...*jwkstest.Key) []map[string]any {
	out := make([]map[string]any, len(keys))
	for i, k := range keys {
		out[i] = k.JWK()
	}
	return out
}

// TestRotation: a token whose kid was rotated in after the last fetch is
// accepted within one window, without anyone restarting anything.
func TestRotation(t *testing.T) {
	old := jwkstest.NewKey(t, "EdDSA", "old")
	rotated := jwkstest.NewKey(t, "EdDSA", "new")
	srv := jwkstest.NewServer(t, old)
	s := start(t, srv.JWKSURL())
	ready(t, s)

	// Let the window since the first fetch pass: the first request with the
	// new kid then triggers a fetch and waits for it.
	idle(t, srv, window+window/4)
	srv.SetKeys(old, rotated)
	if err := verify(s, rotated.Sign(t, claims())); err != nil {
		t.Fatalf("rotated-in key refused on first sight: %v", err)
	}

	// Right after a fetch, a second rotation is refused at once and the
	// fetch is deferred to the end of the window, not to a far-off refresh.
	third := jwkstest.NewKey(t, "ES256", "third")
	srv.SetKeys(old, rotated, third)
	tok := third.Sign(t, claims())
	begin := time.Now()
	if err := verify(s, tok); err == nil {
		t.Log("accepted at once (the window had already passed)")
	} else if took := time.Since(begin); took > window/2 {
		t.Errorf("a rate-limited unknown kid waited %v instead of failing fast", took)
	}
	took := eventually(t, 3*window, "rotated-in key accepted", func() bool { return verify(s, tok) == nil })
	t.Logf("accepted after %v (window %v)", took, window)
	if err := verify(s, old.Sign(t, claims())); err != nil {
		t.Errorf("the old key, still published, stopped verifying: %v", err)
	}
}

// TestRemovedKey: a key taken out of the key set stops verifying after the
// next fetch, whether an unknown kid or the periodic refresh causes it.
func TestRemovedKey(t *testing.T) {
	for _, trigger := range []string{"unknown kid", "periodic refresh"} {
		t.Run(trigger, func(t *testing.T) {
			a := jwkstest.NewKey(t, "EdDSA", "a")
			b := jwkstest.NewKey(t, "RS256", "b")
			srv := jwkstest.NewServer(t, a, b)
			s := start(t, srv.JWKSURL(), func(o *jwks.Options) {
				if trigger == "periodic refresh" {
					o.RefreshInterval = 2 * window
				}
			})
			ready(t, s)
			tokA := a.Sign(t, claims())
			if err := verify(s, tokA); err != nil {
				t.Fatal(err)
			}
			srv.SetKeys(b)
			fetched := srv.Hits()
			eventually(t, 5*window, "removed key refused", func() bool {
				if trigger == "unknown kid" {
					_ = verify(s, jwkstest.NewKey(t, "EdDSA", randomKID()).Sign(t, claims()))
				}
				return verify(s, tokA) != nil
			})
			if srv.Hits() == fetched {
				t.Error("refused without a fetch")
			}
			if err := verify(s, b.Sign(t, claims())); err != nil {
				t.Errorf("the remaining key stopped verifying: %v", err)
			}
		})
	}
}

// TestFlood: many tokens with random kids cause at most one fetch per
// window, and tokens with a known kid never wait for those fetches, even
// when the JWKS server is slow. With a fast server only the rate limit
// keeps the fetches apart; with a slow one, fetches that never overlap
// would too.
func TestFlood(t *testing.T) {
	// Slow enough that waiting behind a fetch cannot be mistaken for the
	// scheduling delays of a loaded 2-core machine running -race.
	const slow = 2 * time.Second
	for _, delay := range []time.Duration{slow, 0} {
		t.Run(fmt.Sprintf("server answers in %v", delay), func(t *testing.T) { flood(t, slow, delay) })
	}
}

func flood(t *testing.T, slow, delay time.Duration) {
	known := jwkstest.NewKey(t, "EdDSA", "known")
	srv := jwkstest.NewServer(t, known)
	s := start(t, srv.JWKSURL())
	ready(t, s)
	srv.SetDelay(delay)
	attacker := jwkstest.NewKey(t, "EdDSA", "attacker")
	valid := known.Sign(t, claims())
	before := len(srv.Fetches())

	const flood = 5 * window
	stop := time.Now().Add(flood)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				k := *attacker
				k.Kid = randomKID()
				if verify(s, k.Sign(t, claims())) != nil {
					refused.Add(1)
				}
			}
		}()
	}
	var slowest time.Duration
	for time.Now().Before(stop) {
		begin := time.Now()
		if err := verify(s, valid); err != nil {
			t.Errorf("valid token refused during the flood: %v", err)
			break
		}
		slowest = max(slowest, time.Since(begin))
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	// Let the fetch queued by the last requests finish before counting.
	idle(t, srv, 2*window)

	fetches := srv.Fetches()[before:]
	t.Logf("%d tokens with random kids refused; %d fetches in %v; slowest valid token %v",
		refused.Load(), len(fetches), flood, slowest)
	if limit := int(flood/window) + 2; len(fetches) > limit {
		t.Errorf("%d fetches, want at most %d (one per %v window)", len(fetches), limit, window)
	}
	for i := 1; i < len(fetches); i++ {
		// The server sees a request a little after the set sends it, so
		// allow some jitter.
		if gap := fetches[i].Sub(fetches[i-1]); gap < window-50*time.Millisecond {
			t.Errorf("fetches %d and %d only %v apart, window %v", i-1, i, gap, window)
		}
	}
	if slowest > slow/2 {
		t.Errorf("a valid token took %v: it waited behind a %v fetch", slowest, slow)
	}
}

// TestDownAtStartThenUp: with the JWKS unreachable the set starts anyway,
// says why it is not ready, refuses JWKS tokens, and recovers by itself
// (background retries, no token needed) once the JWKS answers.
func TestDownAtStartThenUp(t *testing.T) {
	key := jwkstest.NewKey(t, "EdDSA", "k")
	srv := jwkstest.NewServer(t, key)
	srv.SetStatus(http.StatusServiceUnavailable)
	s := start(t, srv.JWKSURL())
	eventually(t, 5*time.Second, "first fetch done", func() bool {
		return srv.Hits() > 0 && s.Ready() != nil && !strings.Contains(s.Ready().Error(), "under way")
	})
	if err := s.Ready(); !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("Ready() = %v, want it to say HTTP 503", err)
	}
	tok := key.Sign(t, claims())
	if verify(s, tok) == nil {
		t.Fatal("token accepted before any key loaded")
	}
	srv.SetStatus(0)
	took := eventually(t, 5*time.Second, "recovered", func() bool { return s.Ready() == nil })
	t.Logf("recovered %v after the JWKS came back (max backoff %v)", took, 2*window)
	if err := verify(s, tok); err != nil {
		t.Fatal(err)
	}
}

// TestUnreachable: nothing listens at the JWKS address.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := start(t, "http://"+addr+jwkstest.Path)
	eventually(t, 5*time.Second, "first fetch failed", func() bool {
		return s.Ready() != nil && strings.Contains(s.Ready().Error(), "unreachable")
	})
	if strings.Contains(s.Ready().Error(), addr) {
		t.Errorf("Ready() shows the address: %v", s.Ready())
	}
}

// TestBadDocuments: answers that are not key sets load nothing and say so.
func TestBadDocuments(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"HTML", "<html>login</html>", "not a JSON Web Key Set"},
		{"no keys member", `{"jwks":[]}`, "not a JSON Web Key Set"},
		{"too large", `{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, "larger than 1 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := jwkstest.NewServer(t)
			srv.SetBody([]byte(tc.body))
			s := start(t, srv.JWKSURL())
			eventually(t, 5*time.Second, "failure reported", func() bool {
				return s.Ready() != nil && strings.Contains(s.Ready().Error(), tc.want)
			})
		})
	}
}

// TestKeepsKeysWhenRefreshFails: once loaded, a JWKS outage costs nothing
// for tokens whose keys are known.
func TestKeepsKeysWhenRefreshFails(t *testing.T) {
	key := jwkstest.NewKey(t, "ES256", "k")
	srv := jwkstest.NewServer(t, key)
	s := start(t, srv.JWKSURL())
	ready(t, s)
	srv.SetStatus(http.StatusBadGateway)
	idle(t, srv, window+window/4)
	before := srv.Hits()
	_ = verify(s, jwkstest.NewKey(t, "ES256", "unknown").Sign(t, claims()))
	if srv.Hits() == before {
		t.Fatal("unknown kid caused no fetch")
	}
	if err := verify(s, key.Sign(t, claims())); err != nil {
		t.Errorf("known key lost after a failed refresh: %v", err)
	}
	if err := s.Ready(); err != nil {
		t.Errorf("not ready after a failed refresh with keys loaded: %v", err)
	}
}

// Package jwkstest gives tests signing keys of every algorithm Better Auth's
// JWT plugin uses, made fresh in the test, and an httptest JWKS server that
// publishes them the way Better Auth does and counts its fetches.
package jwkstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Path is where Better Auth serves its key set, below its base URL.
const Path = "/api/auth/jwks"

// Key is a signing key pair with the JWK fields Better Auth publishes.
type Key struct {
	Kid     string
	Alg     string
	Private crypto.Signer
	// OmitAlg leaves "alg" out of the JWK, as Better Auth before 1.3 did.
	OmitAlg bool
	// Use, when set, is published as the JWK's "use" (Better Auth sets none).
	Use string
}

// NewKey generates a key for alg: Ed25519 for EdDSA, P-256/P-384/P-521 for
// ES256/ES384/ES512, RSA for RS* and PS* (bits, default 2048).
func NewKey(t testing.TB, alg, kid string, bits ...int) *Key {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		size := 2048
		if len(bits) > 0 {
			size = bits[0]
		}
		priv, err = rsa.GenerateKey(rand.Reader, size)
	default:
		t.Fatalf("jwkstest: no key type for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Kid: kid, Alg: alg, Private: priv}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWK is the public key as a JWKS entry, shaped like Better Auth's: kid,
// kty, alg (unless OmitAlg), crv where it applies, no "use" (unless Use).
func (k *Key) JWK() map[string]any {
	m := map[string]any{"kid": k.Kid}
	if !k.OmitAlg {
		m["alg"] = k.Alg
	}
	if k.Use != "" {
		m["use"] = k.Use
	}
	switch pub := k.Private.Public().(type) {
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(pub)
	case *ecdsa.PublicKey:
		raw, err := pub.ECDH()
		if err != nil {
			panic(err)
		}
		point := raw.Bytes()[1:] // 0x04 || X || Y, each half fixed-size
		m["kty"], m["crv"] = "EC", pub.Curve.Params().Name
		m["x"], m["y"] = b64(point[:len(point)/2]), b64(point[len(point)/2:])
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return m
}

// PublicBytes is the public key as an attacker could copy it from the JWKS:
// the raw Ed25519 key, or the JWK's JSON for the other key types.
func (k *Key) PublicBytes() []byte {
	if pub, ok := k.Private.Public().(ed25519.PublicKey); ok {
		return pub
	}
	raw, _ := json.Marshal(k.JWK())
	return raw
}

// Sign makes a token with claims, the key's alg and kid in the header, and
// header added on top (a nil value deletes a field).
func (k *Key) Sign(t testing.TB, claims jwt.MapClaims, header ...map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Alg), claims)
	tok.Header["kid"] = k.Kid
	for _, h := range header {
		for name, v := range h {
			if v == nil {
				delete(tok.Header, name)
			} else {
				tok.Header[name] = v
			}
		}
	}
	s, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Server publishes a key set at Path and counts the requests it gets.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	keys    []map[string]any
	status  int
	delay   time.Duration
	body    []byte
	fetches []time.Time
	// answering counts requests not yet answered; answered is when the
	// last one was.
	answering int
	answered  time.Time
}

// NewServer serves keys at Path until the test ends.
func NewServer(t testing.TB, keys ...*Key) *Server {
	return NewServerOn(t, nil, keys...)
}

// NewServerOn is NewServer on ln, for a server that must come up at an
// address chosen before it (nil: any free loopback port).
func NewServerOn(t testing.TB, ln net.Listener, keys ...*Key) *Server {
	s := &Server{}
	s.SetKeys(keys...)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if ln != nil {
		s.Listener.Close()
		s.Listener = ln
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// JWKSURL is the key set's address.
func (s *Server) JWKSURL() string { return s.URL + Path }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.fetches = append(s.fetches, time.Now())
	status, delay, body := s.status, s.delay, s.body
	if body == nil {
		body, _ = json.Marshal(map[string]any{"keys": s.keys})
	}
	s.answering++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.answering--
		s.answered = time.Now()
		s.mu.Unlock()
	}()
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// SetKeys replaces the published keys.
func (s *Server) SetKeys(keys ...*Key) {
	jwks := make([]map[string]any, len(keys))
	for i, k := range keys {
		jwks[i] = k.JWK()
	}
	s.SetJWKs(jwks...)
}

// SetJWKs publishes raw JWK objects, for keys a Key cannot describe.
func (s *Server) SetJWKs(jwks ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = jwks
}

// SetStatus makes every answer this HTTP status; 0 serves the keys again.
func (s *Server) SetStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// SetDelay makes every answer wait d first.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetBody serves body instead of the keys; nil serves the keys again.
func (s *Server) SetBody(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

// Fetches are the times the key set was requested, oldest first.
func (s *Server) Fetches() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.fetches...)
}

// IdleFor is how long the server has had no request to answer: 0 while one
// is being answered, and since its start when none came.
func (s *Server) IdleFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answering > 0 {
		return 0
	}
	return time.Since(s.answered)
}

// Hits is how many requests the server got, on any path.
func (s *Server) Hits() int { return len(s.Fetches()) }

// SignRaw signs header and payload exactly as written, for tokens whose JSON
// a map cannot express: repeated members, case variants, member order.
func (k *Key) SignRaw(t testing.TB, header, payload string) string {
	t.Helper()
	return SignRaw(t, jwt.GetSigningMethod(k.Alg), k.Private, header, payload)
}

// SignRaw signs header and payload, both JSON text, with method and key
// (an HMAC secret as []byte, or a private key).
func SignRaw(t testing.TB, method jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	signing := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

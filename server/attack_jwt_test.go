package server_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/internal/jwkstest"
)

// TestAttackJWT forges, edits and misplaces tokens against the app
// configured as in production with Better Auth: its key set (EdDSA, RS256 and
// ES256 keys pinned; an ES384 key published but not pinned), iss and aud
// required, and an HS256 secret beside it. Every case is a 401 with the
// Bearer challenge, except a token too large to read at all (431). A server
// named in jku/x5u headers must never be contacted.
func TestAttackJWT(t *testing.T) {
	ed := jwkstest.NewKey(t, "EdDSA", "kid-ed")
	rs := jwkstest.NewKey(t, "RS256", "kid-rs")
	ec := jwkstest.NewKey(t, "ES256", "kid-ec")
	es384 := jwkstest.NewKey(t, "ES384", "kid-es384")
	srv := jwkstest.NewServer(t, ed, rs, ec, es384)
	// The attacker's own key and key set: jku/x5u point here.
	evil := jwkstest.NewKey(t, "EdDSA", "kid-evil")
	evilSrv := jwkstest.NewServer(t, evil)
	evilCert := selfSigned(t, evil)

	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newBetterAuthEnv(t, driver, srv, true)
			waitReady(t, e)
			e.listen()
			runAttacks(t, e, jwtAttacks(t, e, ed, rs, ec, es384, evil, evilSrv, evilCert))
			if n := evilSrv.Hits(); n != 0 {
				t.Errorf("the attacker's server named in jku/x5u headers was contacted %d times", n)
			}
		})
	}
}

func jwtAttacks(t *testing.T, e *env, ed, rs, ec, es384, evil *jwkstest.Key, evilSrv *jwkstest.Server, evilCert []byte) []attack {
	now := e.clock.Now()
	claims := func(edits ...jwt.MapClaims) jwt.MapClaims { return e.betterAuthClaims("alice", edits...) }
	hs := func(secret []byte, c jwt.MapClaims, header ...map[string]any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		for _, h := range header {
			for k, v := range h {
				tok.Header[k] = v
			}
		}
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := hs([]byte(testSecret), claims())
	goodEd := ed.Sign(t, claims())
	parts := strings.Split(good, ".")
	edParts := strings.Split(goodEd, ".")
	bobParts := strings.Split(hs([]byte(testSecret), e.betterAuthClaims("bob")), ".")
	// header re-heads the good token's payload with a hand-written header.
	header := func(h, sig string) string { return b64(h) + "." + parts[1] + "." + sig }
	flip := func(s string) string {
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	signWith := func(m jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(m, claims())
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(rs.Private.Public())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	jwksDoc := []byte(`{"keys":[` + string(mustJSON(t, ed.JWK())) + `]}`)
	// pad makes a token of about n bytes: a signed token with a filler
	// claim, signed with a key the app does not know.
	pad := func(n int) string {
		return hs([]byte("not-the-secret-0123456789abcdef0123456789"), claims(jwt.MapClaims{"pad": strings.Repeat("p", n*3/4)}))
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	path := "/api/alice/tasks"
	cases := []attack{
		// alg "none" in every spelling, with and without a signature.
		{name: "alg none", headers: bearer(header(`{"alg":"none","typ":"JWT"}`, ""))},
		{name: "alg None", headers: bearer(header(`{"alg":"None","typ":"JWT"}`, ""))},
		{name: "alg NONE", headers: bearer(header(`{"alg":"NONE","typ":"JWT"}`, ""))},
		{name: "alg nOnE", headers: bearer(header(`{"alg":"nOnE","typ":"JWT"}`, ""))},
		{name: "alg none keeping the signature", headers: bearer(header(`{"alg":"none","typ":"JWT"}`, parts[2]))},
		{name: "alg none with a known kid", headers: bearer(header(`{"alg":"none","kid":"kid-ed"}`, ""))},
		{name: "alg empty", headers: bearer(header(`{"alg":"","typ":"JWT"}`, parts[2]))},
		{name: "no alg at all", headers: bearer(header(`{"typ":"JWT"}`, parts[2]))},
		{name: "alg as a number", headers: bearer(header(`{"alg":256,"typ":"JWT"}`, parts[2]))},

		// Key confusion: HS256 "signed" with public material an attacker can read.
		{name: "HS256 keyed with the raw Ed25519 public key", headers: bearer(hs(ed.PublicBytes(), claims(), map[string]any{"kid": ed.Kid}))},
		{name: "HS256 keyed with the RSA public key PEM", headers: bearer(hs(rsaPEM, claims(), map[string]any{"kid": rs.Kid}))},
		{name: "HS256 keyed with the RSA JWK JSON", headers: bearer(hs(rs.PublicBytes(), claims(), map[string]any{"kid": rs.Kid}))},
		{name: "HS256 keyed with the EC JWK JSON", headers: bearer(hs(ec.PublicBytes(), claims(), map[string]any{"kid": ec.Kid}))},
		{name: "HS256 keyed with the whole JWKS document", headers: bearer(hs(jwksDoc, claims()))},
		{name: "EdDSA key used under alg ES256", headers: bearer(re(t, goodEd, `{"alg":"ES256","kid":"kid-ed"}`))},

		// Algorithms that are not configured.
		{name: "HS384 with the right secret", headers: bearer(sign(t, jwt.SigningMethodHS384, []byte(testSecret), claims()))},
		{name: "HS512 with the right secret", headers: bearer(sign(t, jwt.SigningMethodHS512, []byte(testSecret), claims()))},
		{name: "ES384: in the key set but not pinned", headers: bearer(es384.Sign(t, claims()))},
		{name: "RS512 with a published RSA key", headers: bearer(signWith(jwt.SigningMethodRS512, rs.Private, rs.Kid))},
		{name: "PS384 with a published RSA key", headers: bearer(signWith(jwt.SigningMethodPS384, rs.Private, rs.Kid))},

		// Signatures edited, removed or borrowed.
		{name: "HS256 signature edited", headers: bearer(parts[0] + "." + parts[1] + "." + flip(parts[2]))},
		{name: "EdDSA signature edited", headers: bearer(edParts[0] + "." + edParts[1] + "." + flip(edParts[2]))},
		{name: "signature removed", headers: bearer(parts[0] + "." + parts[1] + ".")},
		{name: "bob's signature on alice's claims", headers: bearer(parts[0] + "." + parts[1] + "." + bobParts[2])},
		{name: "bob's token with alice's claims pasted in", headers: bearer(bobParts[0] + "." + parts[1] + "." + bobParts[2])},
		{name: "signed by the attacker's key under a published kid", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": ed.Kid}))},

		// Time.
		{name: "expired two minutes ago (leeway is 30 s)", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"exp": now.Add(-2 * time.Minute).Unix()})))},
		{name: "EdDSA expired", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})))},
		{name: "not valid for another two minutes", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"nbf": now.Add(2 * time.Minute).Unix()})))},
		{name: "no exp", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"exp": nil})))},
		{name: "exp as a string", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"exp": "never"})))},

		// Subject.
		{name: "no sub", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"sub": nil})))},
		{name: "empty sub", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"sub": ""})))},
		{name: "sub as a number", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"sub": 7})))},
		{name: "sub as a list", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"sub": []string{"alice"}})))},

		// Issuer and audience.
		{name: "wrong iss", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"iss": "http://evil.example"})))},
		{name: "iss in another case", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"iss": strings.ToUpper(betterAuthURL)})))},
		{name: "no iss", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"iss": nil})))},
		{name: "wrong aud", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"aud": "http://other-app.example"})))},
		{name: "aud list without us", headers: bearer(ed.Sign(t, claims(jwt.MapClaims{"aud": []string{"a", "b"}})))},
		{name: "no aud", headers: bearer(hs([]byte(testSecret), claims(jwt.MapClaims{"aud": nil})))},

		// kid injection: the kid is only ever a key in a map.
		{name: "kid path traversal", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": "../../etc/passwd"}))},
		{name: "kid SQL injection", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": "' OR 1=1--"}))},
		{name: "kid of 6 KB", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": strings.Repeat("k", 6*1024)}))},
		{name: "kid with NUL and newline", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": "kid-ed\u0000\n"}))},
		{name: "kid as an object", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": map[string]any{"$ne": ""}}))},

		// Keys the token brings along are never used or fetched.
		{name: "jku to the attacker's key set", headers: bearer(evil.Sign(t, claims(), map[string]any{"jku": evilSrv.JWKSURL()}))},
		{name: "jku with a published kid", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": ed.Kid, "jku": evilSrv.JWKSURL()}))},
		{name: "x5u to the attacker", headers: bearer(evil.Sign(t, claims(), map[string]any{"x5u": evilSrv.URL + "/cert.pem"}))},
		{name: "embedded jwk", headers: bearer(evil.Sign(t, claims(), map[string]any{"jwk": evil.JWK()}))},
		{name: "embedded jwk under a published kid", headers: bearer(evil.Sign(t, claims(), map[string]any{"kid": ed.Kid, "jwk": evil.JWK()}))},
		{name: "embedded x5c certificate", headers: bearer(evil.Sign(t, claims(), map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(evilCert)}}))},

		// Shape.
		{name: "one segment", headers: bearer(parts[0])},
		{name: "two segments", headers: bearer(parts[0] + "." + parts[1])},
		{name: "four segments", headers: bearer(good + "." + parts[2])},
		{name: "five segments (JWE shape)", headers: bearer(parts[0] + ".." + parts[1] + ".." + parts[2])},
		{name: "only dots", headers: bearer("..")},
		{name: "bad base64 in the header", headers: bearer("!!!." + parts[1] + "." + parts[2])},
		{name: "bad base64 in the payload", headers: bearer(parts[0] + ".%%%." + parts[2])},
		{name: "bad base64 in the signature", headers: bearer(parts[0] + "." + parts[1] + ".***")},
		{name: "padded base64", headers: bearer(parts[0] + "." + parts[1] + "==." + parts[2])},
		{name: "header not JSON", headers: bearer(b64("alg=HS256") + "." + parts[1] + "." + parts[2])},
		{name: "payload not JSON", headers: bearer(parts[0] + "." + b64("sub=alice") + "." + parts[2])},
		{name: "payload a JSON array", headers: bearer(parts[0] + "." + b64(`["alice"]`) + "." + parts[2])},

		// Size: 8 KB still fits the 16 KiB header buffer and is read and
		// refused; 100 KB does not fit and is refused unread.
		{name: "8 KB token", headers: bearer(pad(8 * 1024))},
		{name: "100 KB token", headers: bearer(pad(100 * 1024)), status: 431},

		// Only the Authorization header carries a token.
		{name: "token in ?access_token=", path: path + "?access_token=" + good},
		{name: "token in ?token=", path: path + "?token=" + good},
		{name: "token in a token cookie", headers: []string{"Cookie", "token=" + good}},
		{name: "token in an Authorization cookie", headers: []string{"Cookie", "Authorization=Bearer%20" + good}},
		{name: "token in X-Access-Token", headers: []string{"X-Access-Token", good}},
		{name: "scheme Token", headers: []string{"Authorization", "Token " + good}},
		{name: "scheme Basic", headers: []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+testSecret))}},
		{name: "two tokens", headers: []string{"Authorization", "Bearer " + good + " " + good}},
		{name: "token with a trailing comma", headers: []string{"Authorization", "Bearer " + good + ","}},
	}
	cases = append(cases, claimShapeAttacks(t, e, ed)...)
	for i := range cases {
		c := &cases[i]
		if c.method == "" {
			c.method = "GET"
		}
		if c.path == "" {
			c.path = path
		}
		if c.status == 0 {
			c.status = 401
		}
	}
	return cases
}

// claimShapeAttacks are tokens, correctly signed with the secret or a
// published key, whose payload or header says one thing to a
// case-insensitive or last-member-wins reader and another to the signer:
// registered claims in another case or twice, time claims as strings,
// critical header extensions nobody understands, and subjects no database
// column can hold. Read loosely, each one is another user, a token that
// never expires, or a 500.
func claimShapeAttacks(t *testing.T, e *env, ed *jwkstest.Key) []attack {
	now := e.clock.Now()
	past, future := now.Add(-time.Hour).Unix(), now.Add(15*time.Minute).Unix()
	member := func(name string, v any) string { return strconv.Quote(name) + ":" + string(mustJSON(t, v)) }
	// claims are Better Auth's registered claims for sub, in this order,
	// minus the names in drop, plus extra members at the end.
	claims := func(sub string, drop []string, extra ...string) string {
		all := [][2]any{{"sub", sub}, {"iat", now.Unix()}, {"exp", future}, {"iss", betterAuthURL}, {"aud", betterAuthURL}}
		var ms []string
		for _, kv := range all {
			if !slices.Contains(drop, kv[0].(string)) {
				ms = append(ms, member(kv[0].(string), kv[1]))
			}
		}
		return "{" + strings.Join(append(ms, extra...), ",") + "}"
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	path := func(user string) string { return "/api/" + url.PathEscape(user) + "/tasks" }
	noise := make([]byte, 1500)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	// Incompressible, so that PostgreSQL cannot fit it into an index entry.
	huge := hex.EncodeToString(noise)
	var none []string
	num := func(n int64) string { return strconv.FormatInt(n, 10) }

	shapes := []struct {
		name, payload, path string
		// header is the token header with %s for the algorithm; "" is
		// the plain one.
		header string
		method string
		body   any
	}{
		{name: "Sub beside sub, naming Bob", payload: claims("alice", none, member("Sub", "bob")), path: path("bob")},
		{name: "SUB instead of sub", payload: claims("", []string{"sub"}, member("SUB", "bob")), path: path("bob")},
		{name: "sub twice, Bob's last", payload: claims("alice", none, member("sub", "bob")), path: path("bob")},
		{name: "exp past, then EXP in the future", payload: claims("alice", []string{"exp"}, member("exp", past), member("EXP", future)), path: path("alice")},
		{name: "exp twice, past then future", payload: claims("alice", []string{"exp"}, member("exp", past), member("exp", future)), path: path("alice")},
		{name: "Exp instead of exp", payload: claims("alice", []string{"exp"}, member("Exp", future)), path: path("alice")},
		{name: "ISS instead of iss", payload: claims("alice", []string{"iss"}, member("ISS", betterAuthURL)), path: path("alice")},
		{name: "wrong iss, then the right one as Iss", payload: claims("alice", []string{"iss"}, member("iss", "http://evil.example"), member("Iss", betterAuthURL)), path: path("alice")},
		{name: "Aud instead of aud", payload: claims("alice", []string{"aud"}, member("Aud", betterAuthURL)), path: path("alice")},
		{name: "aud twice", payload: claims("alice", none, member("aud", "http://other-app.example")), path: path("alice")},
		{name: "NBF beside nbf", payload: claims("alice", none, member("nbf", past), member("NBF", past)), path: path("alice")},
		{name: "IAT beside iat", payload: claims("alice", none, member("IAT", now.Unix())), path: path("alice")},
		{name: "exp as a numeric string", payload: claims("alice", []string{"exp"}, member("exp", num(future))), path: path("alice")},
		{name: "nbf as a numeric string", payload: claims("alice", none, member("nbf", num(past))), path: path("alice")},
		{name: "iat as a numeric string", payload: claims("alice", []string{"iat"}, member("iat", num(now.Unix()))), path: path("alice")},
		{name: "exp null", payload: claims("alice", []string{"exp"}, member("exp", nil)), path: path("alice")},
		{name: "crit naming an unknown extension", payload: claims("alice", none), header: `{"alg":"%s","kid":"kid-ed","typ":"JWT","crit":["x-ext"],"x-ext":true}`, path: path("alice")},
		{name: "crit empty", payload: claims("alice", none), header: `{"alg":"%s","kid":"kid-ed","typ":"JWT","crit":[]}`, path: path("alice")},
		{name: "crit naming a registered header", payload: claims("alice", none), header: `{"alg":"%s","kid":"kid-ed","typ":"JWT","crit":["kid"]}`, path: path("alice")},
		{name: "sub with NUL", payload: claims("ali\x00ce", none), path: path("ali\x00ce")},
		{name: "sub with a newline", payload: claims("ali\nce", none), path: path("ali\nce")},
		{name: "sub with a C1 control character", payload: claims("ali\u0085ce", none), path: path("ali\u0085ce")},
		{name: "sub not valid UTF-8", payload: strings.Replace(claims("alice", none), `"alice"`, "\"ali\xffce\"", 1), path: path("ali\ufffdce")},
		{name: "sub with a lone surrogate", payload: strings.Replace(claims("alice", none), `"alice"`, `"ali\ud800ce"`, 1), path: path("ali\ufffdce")},
		{name: "sub of 256 bytes", payload: claims(strings.Repeat("a", 256), none), path: path(strings.Repeat("a", 256)),
			method: "POST", body: map[string]any{"title": "long owner"}},
		{name: "sub of 3000 incompressible bytes", payload: claims(huge, none), path: path(huge),
			method: "POST", body: map[string]any{"title": "huge owner"}},
	}
	var out []attack
	for _, s := range shapes {
		for _, alg := range []string{"HS256", "EdDSA"} {
			header := `{"alg":"%s","kid":"kid-ed","typ":"JWT"}`
			if s.header != "" {
				header = s.header
			}
			header = fmt.Sprintf(header, alg)
			var tok string
			if alg == "HS256" {
				tok = jwkstest.SignRaw(t, jwt.SigningMethodHS256, []byte(testSecret), header, s.payload)
			} else {
				tok = ed.SignRaw(t, header, s.payload)
			}
			out = append(out, attack{name: alg + ": " + s.name, method: s.method, path: s.path, body: s.body, headers: bearer(tok)})
		}
	}
	return out
}

// re re-heads a signed token: the same payload and signature under header h.
func re(t *testing.T, tok, h string) string {
	t.Helper()
	p := strings.Split(tok, ".")
	return b64(h) + "." + p[1] + "." + p[2]
}

// selfSigned is a certificate for k's public key, signed by k: what an
// attacker would put in an x5c header.
func selfSigned(t *testing.T, k *jwkstest.Key) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Private.Public(), k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

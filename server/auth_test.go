package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/jwkstest"
	"todo-api/middleware"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestAuthentication(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		now := e.clock.Now()
		valid := func(extra jwt.MapClaims) jwt.MapClaims {
			c := jwt.MapClaims{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			for k, v := range extra {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return c
		}
		hs := func(extra jwt.MapClaims) string {
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), valid(extra))
		}
		good := hs(nil)
		parts := strings.Split(good, ".")
		unsigned := func(alg string) string {
			return b64(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + parts[1] + "."
		}
		flipped := parts[0] + "." + parts[1] + "." + strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, parts[2][:1]) + parts[2][1:]

		cases := []struct {
			name   string
			header string // the whole Authorization header; "" sends none
			status int
		}{
			{"valid", "Bearer " + good, 200},
			{"scheme in lower case", "bearer " + good, 200},
			{"expired within the leeway", "Bearer " + hs(jwt.MapClaims{"exp": now.Add(-20 * time.Second).Unix()}), 200},
			{"no header", "", 401},
			{"Basic scheme", "Basic YWxpY2U6c2VjcmV0", 401},
			{"Bearer without token", "Bearer ", 401},
			{"token without scheme", good, 401},
			{"garbage", "Bearer not.a.jwt", 401},
			{"one segment", "Bearer " + parts[0], 401},
			{"two segments", "Bearer " + parts[0] + "." + parts[1], 401},
			{"four segments", "Bearer " + good + ".x", 401},
			{"bad base64", "Bearer " + parts[0] + ".!!!." + parts[2], 401},
			{"payload not JSON", "Bearer " + parts[0] + "." + b64("nope") + "." + parts[2], 401},
			{"signature edited", "Bearer " + flipped, 401},
			{"signed with another secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret+"x"), valid(nil)), 401},
			{"alg none", "Bearer " + unsigned("none"), 401},
			{"alg None", "Bearer " + unsigned("None"), 401},
			{"alg HS512 with the right secret", "Bearer " + sign(t, jwt.SigningMethodHS512, []byte(testSecret), valid(nil)), 401},
			{"alg HS384 with the right secret", "Bearer " + sign(t, jwt.SigningMethodHS384, []byte(testSecret), valid(nil)), 401},
			{"expired", "Bearer " + hs(jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()}), 401},
			{"not valid yet", "Bearer " + hs(jwt.MapClaims{"nbf": now.Add(time.Minute).Unix()}), 401},
			{"no exp", "Bearer " + hs(jwt.MapClaims{"exp": nil}), 401},
			{"no sub", "Bearer " + hs(jwt.MapClaims{"sub": nil}), 401},
			{"empty sub", "Bearer " + hs(jwt.MapClaims{"sub": ""}), 401},
			{"numeric sub", "Bearer " + hs(jwt.MapClaims{"sub": 42}), 401},
			{"exp as a string", "Bearer " + hs(jwt.MapClaims{"exp": "tomorrow"}), 401},
			{"another user's token", "Bearer " + hs(jwt.MapClaims{"sub": "bob"}), 403},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call("GET", "/api/alice/tasks", "", nil, "Authorization", tc.header)
				if tc.status == 200 {
					if r.status != 200 {
						t.Fatalf("status %d: %s", r.status, r.body)
					}
					return
				}
				r.problem(t, tc.status)
				challenge := r.header.Get("WWW-Authenticate")
				if tc.status == 401 && challenge != `Bearer error="invalid_token"` {
					t.Errorf("WWW-Authenticate %q", challenge)
				}
			})
		}
		t.Run("token only in the query string or a cookie", func(t *testing.T) {
			e.call("GET", "/api/alice/tasks?access_token="+good, "", nil).problem(t, 401)
			e.call("GET", "/api/alice/tasks", "", nil, "Cookie", "token="+good).problem(t, 401)
		})
	})
}

func TestIssuerAndAudience(t *testing.T) {
	e := newEnv(t, config.SQLite, func(c *config.Config) {
		c.Auth.Issuer = "http://localhost:3000"
		c.Auth.Audience = "http://localhost:3000"
	})
	cases := []struct {
		name   string
		claims jwt.MapClaims
		status int
	}{
		{"both right", jwt.MapClaims{"iss": "http://localhost:3000", "aud": "http://localhost:3000"}, 200},
		{"audience in a list", jwt.MapClaims{"iss": "http://localhost:3000", "aud": []string{"other", "http://localhost:3000"}}, 200},
		{"wrong issuer", jwt.MapClaims{"iss": "http://evil.example", "aud": "http://localhost:3000"}, 401},
		{"wrong audience", jwt.MapClaims{"iss": "http://localhost:3000", "aud": "http://evil.example"}, 401},
		{"no issuer", jwt.MapClaims{"aud": "http://localhost:3000"}, 401},
		{"no audience", jwt.MapClaims{"iss": "http://localhost:3000"}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.token("alice", func(c jwt.MapClaims) {
				for k, v := range tc.claims {
					c[k] = v
				}
			})
			r := e.call("GET", "/api/alice/tasks", tok, nil)
			if tc.status == 200 && r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			} else if tc.status != 200 {
				r.problem(t, tc.status)
			}
		})
	}
}

// TestIsolation is the product's core promise: Bob can neither see nor
// change Alice's tasks by any route, and what he is told leaks nothing.
func TestIsolation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alices := e.create("alice", map[string]any{"title": "alice's secret", "description": "private", "tags": []string{"x"}})
		e.create("bob", map[string]any{"title": "bob's own"})
		bob := e.token("bob")
		const missing = 987654321
		routes := []struct {
			method, suffix string
			body           any
		}{
			{"GET", "", nil},
			{"PUT", "", map[string]any{"title": "pwned"}},
			{"PATCH", "", map[string]any{"title": "pwned", "completed": true}},
			{"PATCH", "/toggle", nil},
			{"PATCH", "/complete", map[string]any{"completed": true}},
			{"DELETE", "", nil},
		}
		for _, rt := range routes {
			// Bob's own path, spelt with his id and with "me".
			for _, self := range []string{"bob", "me"} {
				t.Run(rt.method+" "+rt.suffix+" on /api/"+self, func(t *testing.T) {
					theirs := e.call(rt.method, fmt.Sprintf("/api/%s/tasks/%d%s", self, alices.ID, rt.suffix), bob, rt.body)
					none := e.call(rt.method, fmt.Sprintf("/api/%s/tasks/%d%s", self, missing, rt.suffix), bob, rt.body)
					theirs.problem(t, 404)
					if string(theirs.body) != string(none.body) {
						t.Errorf("another user's task answers %s, a missing one %s", theirs.body, none.body)
					}
				})
			}
			t.Run(rt.method+" "+rt.suffix+" on Alice's path", func(t *testing.T) {
				e.call(rt.method, fmt.Sprintf("/api/alice/tasks/%d%s", alices.ID, rt.suffix), bob, rt.body).problem(t, 403)
			})
		}
		t.Run("list and create on Alice's path", func(t *testing.T) {
			e.call("GET", "/api/alice/tasks", bob, nil).problem(t, 403)
			e.call("POST", "/api/alice/tasks", bob, map[string]any{"title": "planted"}).problem(t, 403)
		})
		t.Run("user id variants on Alice's path", func(t *testing.T) {
			for _, p := range []string{"/api/Alice/tasks", "/api/ALICE/tasks", "/api/%61lice/tasks", "/api/alice%20/tasks"} {
				e.call("GET", p, bob, nil).problem(t, 403)
			}
		})
		t.Run("Bob's list holds only his task", func(t *testing.T) {
			for _, self := range []string{"bob", "me"} {
				var got []task
				e.call("GET", "/api/"+self+"/tasks", bob, nil).decode(t, &got)
				if len(got) != 1 || got[0].UserID != "bob" {
					t.Errorf("/api/%s: bob sees %+v", self, got)
				}
			}
		})
		t.Run("Alice's task is unchanged", func(t *testing.T) {
			r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", alices.ID), e.token("alice"), nil)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			if got := r.task(t); !reflect.DeepEqual(got, alices) {
				t.Errorf("was %+v, now %+v", alices, got)
			}
			var n int64
			e.db.Table("tasks").Where("user_id = ?", "alice").Count(&n)
			if n != 1 {
				t.Errorf("alice has %d rows", n)
			}
		})
	})
}

// TestForbiddenBeforeDatabase shows the path check runs before any query:
// with the database closed, Bob on Alice's path still gets 403, not an error.
func TestForbiddenBeforeDatabase(t *testing.T) {
	e := newEnv(t, config.SQLite)
	bob := e.token("bob")
	if err := database.Close(e.db); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "DELETE", "PATCH"} {
		e.call(m, "/api/alice/tasks/1", bob, nil).problem(t, http.StatusForbidden)
	}
	e.call("POST", "/api/alice/tasks", bob, map[string]any{"title": "x"}).problem(t, http.StatusForbidden)
}

// TestRefusalReasons is one row per way a token fails: in development the
// 401's detail names the failed check, in production it stays generic, and
// the access-log line carries the reason code and the matched route either
// way, never the token.
func TestRefusalReasons(t *testing.T) {
	ed := jwkstest.NewKey(t, "EdDSA", "kid-ed")
	srv := jwkstest.NewServer(t, ed)
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			dev := newBetterAuthEnv(t, driver, srv, true, func(c *config.Config) { c.Auth.ExplainRefusals = true })
			prod := newBetterAuthEnv(t, driver, srv, true, func(c *config.Config) { c.Env = config.Production })
			waitReady(t, dev)
			waitReady(t, prod)
			refusalReasons(t, dev, prod, ed)
		})
	}
}

func refusalReasons(t *testing.T, dev, prod *env, ed *jwkstest.Key) {
	now := dev.clock.Now()
	at := func(u int64) string { return time.Unix(u, 0).UTC().Format(time.RFC3339) }
	past, soon := now.Add(-time.Hour).Unix(), now.Add(10*time.Minute).Unix()
	hs := func(sub string, edits ...jwt.MapClaims) string {
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret), dev.betterAuthClaims(sub, edits...))
	}
	raw := func(header, payload string) string {
		return jwkstest.SignRaw(t, jwt.SigningMethodHS256, []byte(testSecret), header, payload)
	}
	plain := `{"alg":"HS256","typ":"JWT"}`
	exp := now.Add(15 * time.Minute).Unix()
	payload := func(extra string) string {
		return fmt.Sprintf(`{"sub":"alice","exp":%d,"iss":%q,"aud":%q%s}`, exp, betterAuthURL, betterAuthURL, extra)
	}
	const (
		generic = "The bearer token is not valid."
		missing = "Send a token in the Authorization header"
		expired = "The token has expired"
	)
	cases := []struct {
		name  string
		token string // "" sends no Authorization header
		code  string
		// dev is a part of the development detail; prod the production one.
		dev, prod string
	}{
		{"no token", "", middleware.CodeMissing, "no bearer token", missing},
		{"not a JWT", "not.a.jwt", middleware.CodeMalformed, "malformed", generic},
		{"HS512", sign(t, jwt.SigningMethodHS512, []byte(testSecret), dev.betterAuthClaims("alice")), middleware.CodeAlgorithm,
			`algorithm "HS512" is not allowed; this API accepts HS256 (BETTER_AUTH_SECRET) and EdDSA, ES256, ES512, PS256, RS256 (the Better Auth key set)`, generic},
		{"another secret", sign(t, jwt.SigningMethodHS256, []byte(testSecret+"x"), dev.betterAuthClaims("alice")), middleware.CodeSignature,
			"signature does not verify", generic},
		{"expired", hs("alice", jwt.MapClaims{"exp": past}), middleware.CodeExpired, "expired at " + at(past), expired},
		{"not yet valid", hs("alice", jwt.MapClaims{"nbf": soon}), middleware.CodeNotYetValid, "not valid until " + at(soon), generic},
		{"no exp", hs("alice", jwt.MapClaims{"exp": nil}), middleware.CodeExpMissing, "no exp claim", generic},
		{"issuer 127.0.0.1 for localhost", hs("alice", jwt.MapClaims{"iss": "http://127.0.0.1:3000"}), middleware.CodeIssuerMismatch,
			`issuer "http://127.0.0.1:3000" is not the expected "http://localhost:3000"`, generic},
		{"issuer https for http", hs("alice", jwt.MapClaims{"iss": "https://localhost:3000"}), middleware.CodeIssuerMismatch,
			`issuer "https://localhost:3000" is not the expected "http://localhost:3000"`, generic},
		{"issuer with a trailing path", hs("alice", jwt.MapClaims{"iss": "http://localhost:3000/api/auth"}), middleware.CodeIssuerMismatch,
			`issuer "http://localhost:3000/api/auth" is not the expected "http://localhost:3000"`, generic},
		{"no issuer", hs("alice", jwt.MapClaims{"iss": nil}), middleware.CodeIssuerMissing, `no iss claim; the issuer "http://localhost:3000" is expected`, generic},
		{"audience of another app", hs("alice", jwt.MapClaims{"aud": []string{"http://other.example"}}), middleware.CodeAudienceMismatch,
			`audience ["http://other.example"] does not include the expected "http://localhost:3000"`, generic},
		{"no audience", hs("alice", jwt.MapClaims{"aud": nil}), middleware.CodeAudienceMissing, "no aud claim", generic},
		{"no sub", hs("alice", jwt.MapClaims{"sub": nil}), middleware.CodeSubjectMissing, "no sub claim", generic},
		{"sub with NUL", hs("ali\x00ce"), middleware.CodeSubjectUnusable, "sub claim cannot be a user id", generic},
		{"Sub beside sub", raw(plain, payload(`,"Sub":"bob"`)), middleware.CodeClaimCaseVariant, `has "Sub"`, generic},
		{"sub twice", raw(plain, payload(`,"sub":"bob"`)), middleware.CodeClaimDuplicate, `member "sub" twice`, generic},
		{"exp as a string", raw(plain, strings.Replace(payload(""), fmt.Sprint(exp), `"`+fmt.Sprint(exp)+`"`, 1)), middleware.CodeClaimType,
			"exp claim must be a JSON number", generic},
		{"unknown kid", jwkstest.NewKey(t, "EdDSA", "kid-gone").Sign(t, dev.betterAuthClaims("alice")), "kid_unknown",
			`No key in the key set has the kid "kid-gone"`, generic},
		{"no kid", ed.Sign(t, dev.betterAuthClaims("alice"), map[string]any{"kid": nil}), "kid_missing", "no kid header", generic},
		{"ES256 header on the Ed25519 key", jwkstest.NewKey(t, "ES256", "kid-ed").Sign(t, dev.betterAuthClaims("alice")), "key_mismatch",
			`The key with the kid "kid-ed" may not verify this token`, generic},
		{"ES384, published but not pinned", jwkstest.NewKey(t, "ES384", "kid-ed").Sign(t, dev.betterAuthClaims("alice")), middleware.CodeAlgorithm,
			`algorithm "ES384" is not allowed`, generic},
		{"crit extension", raw(`{"alg":"HS256","typ":"JWT","crit":["x-ext"],"x-ext":1}`, payload("")), middleware.CodeCritUnsupported,
			"critical extensions", generic},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct {
				name   string
				e      *env
				detail string
			}{{"development", dev, tc.dev}, {"production", prod, tc.prod}} {
				id := fmt.Sprintf("reason-%d-%s", i, m.name)
				headers := []string{"X-Request-ID", id}
				if tc.token != "" {
					headers = append(headers, "Authorization", "Bearer "+tc.token)
				}
				p := m.e.call("GET", "/api/alice/tasks", "", nil, headers...).problem(t, 401)
				if !strings.Contains(p.Detail, m.detail) {
					t.Errorf("%s detail %q, want it to contain %q", m.name, p.Detail, m.detail)
				}
				if m.name == "production" && tc.prod == generic && strings.Contains(p.Detail, tc.dev) {
					t.Errorf("production detail %q names the check", p.Detail)
				}
				line := accessLine(t, m.e, id)
				if line["reason"] != tc.code || line["route"] != "/api/:user_id/tasks" || line["status"] != float64(401) {
					t.Errorf("%s access log %v, want reason %q on route /api/:user_id/tasks", m.name, line, tc.code)
				}
				if tc.token != "" && strings.Contains(m.e.logs.String(), tc.token) {
					t.Errorf("%s log holds the token", m.name)
				}
			}
		})
	}
	t.Run("accepted and forbidden requests log no reason", func(t *testing.T) {
		dev.call("GET", "/api/alice/tasks/42", hs("alice"), nil, "X-Request-ID", "reason-none").problem(t, 404)
		dev.call("GET", "/api/bob/tasks/42", hs("alice"), nil, "X-Request-ID", "reason-403").problem(t, 403)
		for _, id := range []string{"reason-none", "reason-403"} {
			if line := accessLine(t, dev, id); line["route"] != "/api/:user_id/tasks/:id" || line["reason"] != nil {
				t.Errorf("access log %v, want route /api/:user_id/tasks/:id and no reason", line)
			}
		}
	})
}

// accessLine is the access-log line of the request with X-Request-ID id.
func accessLine(t *testing.T, e *env, id string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(e.logs.String(), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) == nil && line["msg"] == "request" && line["request_id"] == id {
			return line
		}
	}
	t.Fatalf("no access-log line for request %s", id)
	return nil
}

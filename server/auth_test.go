package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/database"
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

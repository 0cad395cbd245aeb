package server_test

// The attack suite: one table per threat (attack_jwt_test.go,
// attack_bola_test.go, attack_input_test.go, attack_protocol_test.go), every
// table run through the real HTTP stack (env.listen) on SQLite and on
// PostgreSQL. Each case states the exact status it must get; runAttacks adds
// the properties every case shares: never a 5xx, every error a
// problem+json body with nothing internal in it, every 401 a Bearer
// challenge. 363 cases (JWT 75, BOLA 80, input 162, protocol 46), each on
// both databases.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// attack is one hostile request and the answer it must get.
type attack struct {
	name    string
	method  string
	path    string
	token   string
	body    any      // as env.call takes it
	headers []string // name, value pairs
	status  int
	// check adds assertions of its own (nil for none).
	check func(t *testing.T, r response)
}

// runAttacks sends each case as a subtest and checks what all cases share.
func runAttacks(t *testing.T, e *env, cases []attack) {
	t.Helper()
	if e.baseURL == "" {
		t.Fatal("attack tables run over real HTTP: call e.listen() first")
	}
	for _, a := range cases {
		t.Run(a.name, func(t *testing.T) {
			var r response
			if a.status == http.StatusRequestHeaderFieldsTooLarge {
				r = e.oversized(t, a)
			} else {
				r = e.call(a.method, a.path, a.token, a.body, a.headers...)
			}
			if r.status >= 500 {
				t.Fatalf("%d: a hostile request must never be a server error: %s", r.status, r.body)
			}
			if a.status >= 400 {
				r.problem(t, a.status)
			} else if r.status != a.status {
				t.Fatalf("status %d, want %d: %s", r.status, a.status, r.body)
			}
			if r.status == http.StatusUnauthorized {
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
			}
			if a.check != nil {
				a.check(t, r)
			}
		})
	}
}

// sqlCounter counts the statements GORM runs on the app's database handle,
// to prove that a request was answered before any database access.
type sqlCounter struct{ n atomic.Int64 }

func (e *env) countSQL() *sqlCounter {
	e.t.Helper()
	c := &sqlCounter{}
	count := func(*gorm.DB) { c.n.Add(1) }
	const name = "attack:count"
	cb := e.db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register(name, count),
		cb.Query().Before("gorm:query").Register(name, count),
		cb.Update().Before("gorm:update").Register(name, count),
		cb.Delete().Before("gorm:delete").Register(name, count),
		cb.Row().Before("gorm:row").Register(name, count),
		cb.Raw().Before("gorm:raw").Register(name, count),
	} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Cleanup(func() {
		_ = cb.Create().Remove(name)
		_ = cb.Query().Remove(name)
		_ = cb.Update().Remove(name)
		_ = cb.Delete().Remove(name)
		_ = cb.Row().Remove(name)
		_ = cb.Raw().Remove(name)
	})
	return c
}

// row reads one task row straight from the database, every column, to show
// that a refused request changed nothing (the API's own view could hide it).
func (e *env) row(t *testing.T, id int64) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := e.db.Table("tasks").Where("id = ?", id).Take(&m).Error; err != nil {
		t.Fatalf("reading task %d: %v", id, err)
	}
	return m
}

// unchanged fails unless task id's row still equals before.
func (e *env) unchanged(t *testing.T, id int64, before map[string]any) {
	t.Helper()
	if now := e.row(t, id); !reflect.DeepEqual(now, before) {
		t.Errorf("task %d changed:\nbefore %v\nafter  %v", id, before, now)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oversized sends a request whose head is larger than the server reads. The
// server answers 431 and closes the connection with the rest unread, so the
// kernel may reset it before the client has read the answer; a reset is
// retried a few times rather than failing the case.
func (e *env) oversized(t *testing.T, a attack) response {
	t.Helper()
	var lastErr error
	for try := 0; try < 10; try++ {
		var body io.Reader
		if s, ok := a.body.(string); ok {
			body = strings.NewReader(s)
		} else if a.body != nil {
			body = bytes.NewReader(mustJSON(t, a.body))
		}
		req, err := http.NewRequest(a.method, e.baseURL+a.path, body)
		if err != nil {
			t.Fatal(err)
		}
		if a.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		for i := 0; i+1 < len(a.headers); i += 2 {
			req.Header.Set(a.headers[i], a.headers[i+1])
		}
		req.Close = true
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			lastErr = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		return response{status: res.StatusCode, header: res.Header, body: raw}
	}
	t.Fatalf("no answer in 10 tries: %v", lastErr)
	return response{}
}

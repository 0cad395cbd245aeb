package server_test

// The attack suite: one table per threat (attack_jwt_test.go,
// attack_bola_test.go, attack_input_test.go, attack_protocol_test.go,
// attack_params_test.go, attack_time_test.go), every table run through the
// real HTTP stack (env.listen) on SQLite and on PostgreSQL. Each case states
// the exact status it must get; runAttacks adds the properties every case
// shares: never a 5xx, every error a problem+json body with nothing
// internal in it, every 401 a Bearer challenge. Most tables aim at one
// target (eachTarget): Alice's task, which a refused request must leave as
// it was.

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// target is Alice's one task, which attack tables aim at or beside, and
// what must hold of it after each refused request. Bob owns a task too, so
// that a leak would have something to show.
type target struct {
	e      *env
	alice  string // her token
	task   int64
	one    string // the task's path
	before map[string]any
	rows   int64
}

// eachTarget runs fn on both databases, over real HTTP, with the target in
// place.
func eachTarget(t *testing.T, fn func(t *testing.T, p *target)) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tk := e.create("alice", map[string]any{"title": "target", "tags": []string{"t"}})
		e.create("bob", map[string]any{"title": "bob's"})
		fn(t, &target{
			e: e, alice: e.token("alice"), task: tk.ID, one: fmt.Sprintf("/api/alice/tasks/%d", tk.ID),
			before: e.row(t, tk.ID), rows: e.countRows(),
		})
	})
}

// nothingChanged is the after-check of every refused request.
func (p *target) nothingChanged(t *testing.T, _ response) {
	t.Helper()
	p.e.unchanged(t, p.task, p.before)
	if n := p.e.countRows(); n != p.rows {
		t.Errorf("%d task rows, %d before", n, p.rows)
	}
}

// run sends the cases, as Alice where a case names no token.
func (p *target) run(t *testing.T, cases []attack) {
	t.Helper()
	for i := range cases {
		if cases[i].token == "" {
			cases[i].token = p.alice
		}
	}
	runAttacks(t, p.e, cases)
}

// field checks a 422 with one error naming name, and that nothing changed.
func (p *target) field(name string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		pr := r.problem(t, 422)
		if len(pr.Errors) != 1 || pr.Errors[0].Field != name {
			t.Errorf("want one error naming %s: %s", name, r.body)
		}
		p.nothingChanged(t, r)
	}
}

// allow checks a 405's Allow header, and that nothing changed.
func (p *target) allow(methods ...string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		got := r.header.Get("Allow")
		for _, m := range methods {
			if !strings.Contains(got, m) {
				t.Errorf("Allow %q lacks %s", got, m)
			}
		}
		if strings.Contains(string(r.body), p.alice) {
			t.Error("the response echoes the token")
		}
		p.nothingChanged(t, r)
	}
}

// post is a create with body; check defaults to nothingChanged.
func (p *target) post(name, body string, status int, check func(*testing.T, response)) attack {
	if check == nil {
		check = p.nothingChanged
	}
	return attack{name: name, method: "POST", path: "/api/alice/tasks", body: body, status: status, check: check}
}

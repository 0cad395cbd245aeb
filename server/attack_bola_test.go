package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestAttackBOLA is broken object-level authorisation, tried every way: Bob
// on Alice's path (403 before any SQL runs), Bob on his own path with
// Alice's task ids through every verb (404, byte for byte the answer for a
// task that does not exist, and Alice's row read back from the database
// unchanged), spellings of a user id that might compare equal, and owner
// fields in bodies (ignored: the token decides the owner).
func TestAttackBOLA(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		f := newBOLA(t, e)
		t.Run("Bob on Alice's path: 403 before any SQL", f.bobOnAlicesPath)
		t.Run("Alice's task ids on Bob's path: 404 like a missing task", f.alicesIDsOnBobsPath)
		t.Run("collection routes stay within Bob's tasks", f.collectionRoutes)
		t.Run("user id spellings", f.userIDSpellings)
		t.Run("owner fields in bodies are ignored", f.ownerFieldsIgnored)
		t.Run("token expiring mid-session", f.tokenExpiring)
	})
}

// bola is Alice's and Bob's tasks, and what every case checks afterwards.
type bola struct {
	e                                  *env
	alice, bob                         string
	victim, done, series, own, ownDone task
	missing                            int64
	victims                            map[int64]map[string]any
	rows                               int64
}

func newBOLA(t *testing.T, e *env) *bola {
	f := &bola{e: e, alice: e.token("alice"), bob: e.token("bob")}
	f.victim = e.create("alice", map[string]any{"title": "alice's secret", "description": "private", "tags": []string{"x"}, "due_date": "2026-12-01T17:00:00Z"})
	f.done = e.create("alice", map[string]any{"title": "alice's done", "completed": true})
	f.series = e.create("alice", map[string]any{"title": "alice's rent", "due_date": "2026-12-01T09:00:00Z", "recurrence": "monthly"})
	e.create("alice", map[string]any{"title": "alice's key", "tags": []string{"k"}}) // via Idempotency-Key below
	f.own = e.create("bob", map[string]any{"title": "bob's"})
	f.ownDone = e.create("bob", map[string]any{"title": "bob's done", "completed": true})
	r := e.call("POST", "/api/alice/tasks", f.alice, map[string]any{"title": "alice's idempotent"}, "Idempotency-Key", "shared-key-1")
	if r.status != 201 {
		t.Fatalf("alice's idempotent create: %d %s", r.status, r.body)
	}
	f.missing = r.task(t).ID + 1000
	f.victims = map[int64]map[string]any{}
	for _, id := range []int64{f.victim.ID, f.done.ID, f.series.ID} {
		f.victims[id] = e.row(t, id)
	}
	f.rows = e.countRows()
	return f
}

// aliceIntact is every case's after-check: Alice's rows are as they were
// and nothing was added or removed anywhere.
func (f *bola) aliceIntact(t *testing.T, _ response) {
	t.Helper()
	for id, before := range f.victims {
		f.e.unchanged(t, id, before)
	}
	if n := f.e.countRows(); n != f.rows {
		t.Errorf("%d task rows, %d before", n, f.rows)
	}
}

func (f *bola) bobOnAlicesPath(t *testing.T) {
	e, bob, victim, series := f.e, f.bob, f.victim, f.series
	sql := e.countSQL()
	// The counter sees the app's statements: Bob's own list runs some.
	if e.call("GET", "/api/bob/tasks", bob, nil); sql.n.Swap(0) == 0 {
		t.Fatal("the SQL counter saw nothing of a list request")
	}
	one := fmt.Sprintf("/api/alice/tasks/%d", victim.ID)
	// Only the request counts: the after-checks read rows too.
	noSQL := func(t *testing.T, r response) {
		t.Helper()
		if n := sql.n.Load(); n != 0 {
			t.Errorf("%d SQL statements ran before the 403", n)
		}
		f.aliceIntact(t, r)
		sql.n.Store(0)
	}
	cases := []attack{
		{name: "list", method: "GET", path: "/api/alice/tasks"},
		{name: "create", method: "POST", path: "/api/alice/tasks", body: map[string]any{"title": "planted"}},
		{name: "create with Idempotency-Key", method: "POST", path: "/api/alice/tasks", body: map[string]any{"title": "alice's idempotent"}, headers: []string{"Idempotency-Key", "shared-key-1"}},
		{name: "clear completed", method: "DELETE", path: "/api/alice/tasks?status=completed"},
		{name: "stats", method: "GET", path: "/api/alice/tasks/stats"},
		{name: "get", method: "GET", path: one},
		{name: "put", method: "PUT", path: one, body: map[string]any{"title": "pwned"}},
		{name: "patch", method: "PATCH", path: one, body: map[string]any{"completed": true}},
		{name: "delete", method: "DELETE", path: one},
		{name: "toggle", method: "PATCH", path: one + "/toggle"},
		{name: "complete", method: "PATCH", path: one + "/complete", body: map[string]any{"completed": true}},
		{name: "complete a recurring task", method: "PATCH", path: fmt.Sprintf("/api/alice/tasks/%d/complete", series.ID)},
		{name: "delete with If-Match *", method: "DELETE", path: one, headers: []string{"If-Match", "*"}},
	}
	for i := range cases {
		cases[i].token, cases[i].status, cases[i].check = bob, 403, noSQL
	}
	runAttacks(t, e, cases)
}

func (f *bola) alicesIDsOnBobsPath(t *testing.T) {
	e, bob, victim, done, series, missing := f.e, f.bob, f.victim, f.done, f.series, f.missing
	tag := func(tk task) string { return fmt.Sprintf(`"%d-%d"`, tk.ID, tk.Version) }
	type verb struct {
		name, method, suffix string
		body                 any
		headers              []string
	}
	verbs := []verb{
		{"get", "GET", "", nil, nil},
		{"get with If-None-Match of the victim", "GET", "", nil, []string{"If-None-Match", tag(victim)}},
		{"put", "PUT", "", map[string]any{"title": "pwned"}, nil},
		{"put completing", "PUT", "", map[string]any{"title": "pwned", "completed": true, "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily"}, nil},
		{"patch", "PATCH", "", map[string]any{"title": "pwned", "description": nil}, nil},
		{"patch with the victim's If-Match", "PATCH", "", map[string]any{"completed": true}, []string{"If-Match", tag(victim)}},
		{"patch with If-Match *", "PATCH", "", map[string]any{"completed": true}, []string{"If-Match", "*"}},
		{"empty patch", "PATCH", "", map[string]any{}, nil},
		{"delete", "DELETE", "", nil, nil},
		{"delete with the victim's If-Match", "DELETE", "", nil, []string{"If-Match", tag(victim)}},
		{"toggle", "PATCH", "/toggle", nil, nil},
		{"toggle to completed", "PATCH", "/toggle", map[string]any{"completed": true}, nil},
		{"complete", "PATCH", "/complete", nil, nil},
		{"complete to pending", "PATCH", "/complete", map[string]any{"completed": false}, nil},
	}
	var cases []attack
	for _, id := range []int64{victim.ID, done.ID, series.ID} {
		for _, v := range verbs {
			absent := func(t *testing.T, r response) {
				t.Helper()
				m := e.call(v.method, fmt.Sprintf("/api/bob/tasks/%d%s", missing, v.suffix), bob, v.body, v.headers...)
				if m.status != r.status || string(m.body) != string(r.body) || m.header.Get("Content-Type") != r.header.Get("Content-Type") {
					t.Errorf("another user's task answers %d %s, a missing one %d %s", r.status, r.body, m.status, m.body)
				}
				f.aliceIntact(t, r)
			}
			cases = append(cases, attack{
				name: fmt.Sprintf("%s task %d", v.name, id), method: v.method, path: fmt.Sprintf("/api/bob/tasks/%d%s", id, v.suffix),
				token: bob, body: v.body, headers: v.headers, status: 404, check: absent,
			})
		}
	}
	runAttacks(t, e, cases)
}

func (f *bola) collectionRoutes(t *testing.T) {
	e, bob, ownDone := f.e, f.bob, f.ownDone
	runAttacks(t, e, []attack{
		{name: "stats count only Bob's", method: "GET", path: "/api/bob/tasks/stats", token: bob, status: 200, check: func(t *testing.T, r response) {
			var s statsBody
			r.decode(t, &s)
			if s.Total != 2 || s.Completed != 1 || s.Pending != 1 {
				t.Errorf("bob's stats %+v", s)
			}
			f.aliceIntact(t, r)
		}},
		{name: "search for Alice's title", method: "GET", path: "/api/bob/tasks?q=secret", token: bob, status: 200, check: func(t *testing.T, r response) {
			if got := r.ids(t, "bob"); len(got) != 0 {
				t.Errorf("found %v", got)
			}
		}},
		{name: "filter by Alice's tag", method: "GET", path: "/api/bob/tasks?tag=x", token: bob, status: 200, check: func(t *testing.T, r response) {
			if got := r.ids(t, "bob"); len(got) != 0 {
				t.Errorf("found %v", got)
			}
		}},
		{name: "Alice's Idempotency-Key replays nothing of hers", method: "POST", path: "/api/bob/tasks", token: bob, body: map[string]any{"title": "alice's idempotent"}, headers: []string{"Idempotency-Key", "shared-key-1"}, status: 201, check: func(t *testing.T, r response) {
			if got := r.task(t); got.UserID != "bob" || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("bob got %s %v", r.body, r.header)
			}
			f.rows++ // Bob's own new task
			f.aliceIntact(t, r)
		}},
		{name: "clear completed removes only Bob's", method: "DELETE", path: "/api/bob/tasks?status=completed", token: bob, status: 200, check: func(t *testing.T, r response) {
			if string(r.body) != `{"deleted":1}` {
				t.Errorf("body %s", r.body)
			}
			f.rows--
			e.call("GET", fmt.Sprintf("/api/bob/tasks/%d", ownDone.ID), bob, nil).problem(t, 404)
			f.aliceIntact(t, r)
		}},
	})
}

func (f *bola) userIDSpellings(t *testing.T) {
	e, bob := f.e, f.bob
	odd := func(sub string) string { return e.token(sub) }
	cases := []attack{
		{name: "upper-case initial", path: "/api/Alice/tasks", status: 403},
		{name: "all capitals", path: "/api/ALICE/tasks", status: 403},
		{name: "percent-encoded letter", path: "/api/%61lice/tasks", status: 403},
		{name: "percent-encoded everything", path: "/api/%61%6C%69%63%65/tasks", status: 403},
		{name: "double percent-encoding", path: "/api/%2561lice/tasks", status: 403},
		{name: "trailing NUL", path: "/api/alice%00/tasks", status: 403},
		{name: "trailing space", path: "/api/alice%20/tasks", status: 403},
		{name: "full-width letters", path: "/api/%EF%BD%81%EF%BD%8C%EF%BD%89%EF%BD%83%EF%BD%85/tasks", status: 403},
		{name: "dot segment from Bob's path", path: "/api/bob/../alice/tasks", status: 404},
		// One segment: the id "bob/../alice", which is not Bob's.
		{name: "encoded slashes from Bob's path", path: "/api/bob%2F..%2Falice/tasks", status: 403},
		{name: "encoded slash inside the id", path: "/api/alice%2F/tasks", status: 403},
		{name: "sub in capitals on the lower-case path", path: "/api/alice/tasks", token: odd("ALICE"), status: 403},
		{name: "sub with a trailing space", path: "/api/alice/tasks", token: odd("alice "), status: 403},
		{name: "sub that is alice percent-encoded", path: "/api/%61lice/tasks", token: odd("%61lice"), status: 403},
		{name: "a literal %61lice sees only its own tasks", path: "/api/%2561lice/tasks", token: odd("%61lice"), status: 200, check: func(t *testing.T, r response) {
			if got := r.ids(t, "%61lice"); len(got) != 0 {
				t.Errorf("sees %v", got)
			}
		}},
	}
	for i := range cases {
		cases[i].method = "GET"
		if cases[i].token == "" {
			cases[i].token = bob
		}
		if cases[i].check == nil {
			cases[i].check = f.aliceIntact
		}
	}
	runAttacks(t, e, cases)
}

func (f *bola) ownerFieldsIgnored(t *testing.T) {
	e, bob, victim, own := f.e, f.bob, f.victim, f.own
	mine := fmt.Sprintf("/api/bob/tasks/%d", own.ID)
	stillBobs := func(t *testing.T, r response) {
		t.Helper()
		got := r.task(t)
		if got.UserID != "bob" || got.ID == victim.ID || got.CreatedAt.Year() == 2000 {
			t.Errorf("took an owner field from the body: %s", r.body)
		}
		if m := e.row(t, got.ID); m["user_id"] != "bob" {
			t.Errorf("stored row belongs to %v", m["user_id"])
		}
		f.aliceIntact(t, r)
	}
	planted := map[string]any{"user_id": "alice", "id": victim.ID, "created_at": "2000-01-01T00:00:00Z", "version": 99, "next_task_id": victim.ID}
	with := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range planted {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	runAttacks(t, e, []attack{
		{name: "create", method: "POST", path: "/api/bob/tasks", token: bob, body: with(map[string]any{"title": "mine"}), status: 201, check: func(t *testing.T, r response) {
			f.rows++
			stillBobs(t, r)
		}},
		{name: "put", method: "PUT", path: mine, token: bob, body: with(map[string]any{"title": "still mine"}), status: 200, check: stillBobs},
		{name: "patch", method: "PATCH", path: mine, token: bob, body: with(map[string]any{"title": "mine again"}), status: 200, check: stillBobs},
		{name: "toggle takes no owner", method: "PATCH", path: mine + "/toggle", token: bob, body: map[string]any{"user_id": "alice"}, status: 422, check: f.aliceIntact},
	})
}

func (f *bola) tokenExpiring(t *testing.T) {
	e := f.e
	short := e.token("bob", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(time.Minute).Unix() })
	e.clock.set(e.clock.Now().Add(2 * time.Minute))
	runAttacks(t, e, []attack{{name: "expired", method: "GET", path: "/api/bob/tasks", token: short, status: http.StatusUnauthorized, check: func(t *testing.T, r response) {
		if strings.Contains(string(r.body), "bob's") {
			t.Errorf("body %s", r.body)
		}
	}}})
}

//go:build soak

package blackbox_test

// The concurrent-isolation soak: N users run M random operations each
// against the built binary on PostgreSQL, all at once, every user also
// throwing requests at task ids of the others. Each user is one goroutine,
// so the last response a user got for a task is that task's state, and the
// database must hold exactly that afterwards.
//
//	REQUIRE_POSTGRES=1 go test -tags soak -run TestSoak -count=1 -v ./blackbox \
//	    -soak.users=16 -soak.ops=1500 -soak.duration=30s [-soak.rls]

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/testpg"
	"todo-api/models"
)

var (
	soakUsers    = flag.Int("soak.users", 16, "concurrent users")
	soakOps      = flag.Int("soak.ops", 1500, "operations per user")
	soakDuration = flag.Duration("soak.duration", 30*time.Second, "stop earlier than -soak.ops when this is up")
	soakRLS      = flag.Bool("soak.rls", false, "run the service with DB_ROW_LEVEL_SECURITY=on, connected as a role it binds")
)

// registry is every task id handed out so far, with its owner: what users
// aim at when they attack each other.
type registry struct {
	mu  sync.Mutex
	ids []int64
	own []string
}

func (r *registry) add(id int64, owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids, r.own = append(r.ids, id), append(r.own, owner)
}

// foreign picks a task of someone other than user.
func (r *registry) foreign(rng *rand.Rand, user string) (int64, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for try := 0; try < 8 && len(r.ids) > 0; try++ {
		k := rng.IntN(len(r.ids))
		if r.own[k] != user {
			return r.ids[k], r.own[k], true
		}
	}
	return 0, "", false
}

// soakStats are the figures the soak prints.
type soakStats struct {
	ops, attacks, fiveXX, violations atomic.Int64
	mu                               sync.Mutex
	samples                          []string
}

func (s *soakStats) violation(format string, args ...any) {
	s.violations.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 20 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
}

func TestSoak(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	serveURL, extra := dsn, []string{}
	if *soakRLS {
		// As the README says: the owner sets the tables up, the service
		// runs as a role that owns nothing.
		owner := start(t, underLoad("DATABASE_URL="+dsn, "DB_ROW_LEVEL_SECURITY=on")...)
		if err := owner.stop(); err != nil {
			t.Fatalf("the owner's run after SIGTERM: %v", err)
		}
		serveURL, extra = testpg.AppRoleURL(t, dsn), []string{"DB_ROW_LEVEL_SECURITY=on"}
	}
	svc := start(t, underLoad(append([]string{"DATABASE_URL=" + serveURL}, extra...)...)...)

	var st soakStats
	began := time.Now()
	acked := soakLoad(t, newClient(svc.base, *soakUsers*2), &st)
	elapsed := time.Since(began)
	rows := soakVerify(t, dsn, acked, &st)

	ops := st.ops.Load()
	fmt.Printf("soak: users=%d operations=%d (cross-user attempts %d) duration=%s ops/s=%.0f rows=%d rls=%v 5xx=%d violations=%d\n",
		*soakUsers, ops, st.attacks.Load(), elapsed.Round(time.Millisecond), float64(ops)/elapsed.Seconds(), rows, *soakRLS,
		st.fiveXX.Load(), st.violations.Load())
	for _, s := range st.samples {
		t.Error(s)
	}
	if st.fiveXX.Load() > 0 || st.violations.Load() > 0 {
		t.Fatalf("%d 5xx, %d violations", st.fiveXX.Load(), st.violations.Load())
	}
}

// soakLoad runs the users at once until each has done -soak.ops or
// -soak.duration is up, and returns each user's last acknowledged tasks.
func soakLoad(t *testing.T, c *client, st *soakStats) []map[int64]task {
	var reg registry
	acked := make([]map[int64]task, *soakUsers)
	stopAt := time.Now().Add(*soakDuration)
	var wg sync.WaitGroup
	for u := 0; u < *soakUsers; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &soaker{user: fmt.Sprintf("soak-%02d", u), c: c, reg: &reg, st: st, mine: map[int64]task{},
				rng: rand.New(rand.NewPCG(uint64(u), uint64(time.Now().UnixNano())))}
			w.tok = token(t, w.user)
			for i := 0; i < *soakOps && time.Now().Before(stopAt); i++ {
				w.step()
				st.ops.Add(1)
			}
			acked[u] = w.mine
		}()
	}
	wg.Wait()
	return acked
}

// soakVerify reads the database itself afterwards: every row was
// acknowledged to its owner, and holds the last state its owner was shown.
// It counts what differs as violations and returns the number of rows.
func soakVerify(t *testing.T, dsn string, acked []map[int64]task, st *soakStats) int {
	db, err := database.Open(config.Database{Driver: config.Postgres, DSN: dsn}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	var rows []models.Task
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	owner := map[int64]string{}
	expected := 0
	for u, m := range acked {
		expected += len(m)
		for id := range m {
			owner[id] = fmt.Sprintf("soak-%02d", u)
		}
	}
	byID := map[int64]models.Task{}
	for _, r := range rows {
		byID[r.ID] = r
		want, known := owner[r.ID]
		switch {
		case !known:
			st.violation("row %d of %s was never acknowledged to anyone", r.ID, r.UserID)
		case r.UserID != want:
			st.violation("row %d belongs to %s, created by %s", r.ID, r.UserID, want)
		}
	}
	for _, m := range acked {
		for id, want := range m {
			r, ok := byID[id]
			if !ok {
				st.violation("acknowledged task %d of %s is missing", id, want.UserID)
				continue
			}
			if diff := same(fromModel(r), want); diff != "" {
				st.violation("task %d of %s is not in its last acknowledged state: %s", id, want.UserID, diff)
			}
		}
	}
	if len(rows) != expected {
		st.violation("%d rows, %d acknowledged tasks", len(rows), expected)
	}
	return len(rows)
}

// soaker is one user: one goroutine, so its own requests never overlap.
type soaker struct {
	user, tok string
	c         *client
	reg       *registry
	st        *soakStats
	rng       *rand.Rand
	mine      map[int64]task // the last acknowledged state of each own task
}

func (w *soaker) path(suffix string) string {
	return "/api/" + url.PathEscape(w.user) + "/tasks" + suffix
}

// call sends a request, counting 5xx; a transport error is a violation.
func (w *soaker) call(method, path string, body any, headers ...string) reply {
	r := w.c.do(method, path, w.tok, body, headers...)
	switch {
	case r.err != nil:
		w.st.violation("%s %s: %v", method, path, r.err)
	case r.status >= 500:
		w.st.fiveXX.Add(1)
		w.st.violation("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r
}

// expect checks the status; on success it returns the task in the body.
func (w *soaker) expect(r reply, status int, what string) (task, bool) {
	if r.err != nil || r.status >= 500 {
		return task{}, false // already counted
	}
	if r.status != status {
		w.st.violation("%s: %d %s, want %d", what, r.status, r.body, status)
		return task{}, false
	}
	if status != 200 && status != 201 {
		return task{}, true
	}
	t, err := r.task()
	if err != nil || t.UserID != w.user {
		w.st.violation("%s: %s answered a task of %q", what, r.body, t.UserID)
		return task{}, false
	}
	return t, true
}

func (w *soaker) own() (task, bool) {
	if len(w.mine) == 0 {
		return task{}, false
	}
	ids := make([]int64, 0, len(w.mine))
	for id := range w.mine {
		ids = append(ids, id)
	}
	id := ids[w.rng.IntN(len(ids))]
	return w.mine[id], true
}

func (w *soaker) step() {
	n := w.rng.IntN(100)
	switch {
	case n < 20 || len(w.mine) == 0:
		w.create()
	case n < 38:
		w.attack()
	case n < 46:
		w.get()
	case n < 52:
		w.list()
	case n < 62:
		w.patch()
	case n < 66:
		w.put()
	case n < 80:
		w.toggle()
	case n < 88 || len(w.mine) > 300:
		w.remove()
	case n < 94:
		w.stats()
	default:
		w.clear()
	}
}

func (w *soaker) randomBody(full bool) map[string]any {
	b := map[string]any{}
	if full || w.rng.IntN(2) == 0 {
		b["title"] = fmt.Sprintf("%s task %d ✓", w.user, w.rng.IntN(1e6))
	}
	if w.rng.IntN(3) == 0 {
		b["description"] = []any{nil, "desc", "multi\nline"}[w.rng.IntN(3)]
	}
	if w.rng.IntN(3) == 0 {
		b["priority"] = []string{"low", "medium", "high"}[w.rng.IntN(3)]
	}
	if w.rng.IntN(3) == 0 {
		b["tags"] = []string{"home", "work"}[:w.rng.IntN(3)]
	}
	if w.rng.IntN(3) == 0 {
		due := time.Date(2026, 11, 1+w.rng.IntN(60), w.rng.IntN(24), 0, 0, 0, time.UTC)
		b["due_date"] = due.Format(time.RFC3339)
		if w.rng.IntN(2) == 0 {
			b["recurrence"] = []string{"daily", "weekly", "monthly"}[w.rng.IntN(3)]
		}
	}
	if w.rng.IntN(5) == 0 {
		b["completed"] = w.rng.IntN(2) == 0
	}
	return b
}

func (w *soaker) create() {
	body := w.randomBody(true)
	var headers []string
	keyed := w.rng.IntN(4) == 0
	if keyed {
		headers = []string{"Idempotency-Key", fmt.Sprintf("%s-%d", w.user, w.rng.Int64())}
	}
	r := w.call("POST", w.path(""), body, headers...)
	t, ok := w.expect(r, 201, "create")
	if !ok {
		return
	}
	w.mine[t.ID] = t
	w.reg.add(t.ID, w.user)
	if keyed && w.rng.IntN(2) == 0 {
		// A retry replays the first answer and creates nothing.
		again := w.call("POST", w.path(""), body, headers...)
		if again.status != 201 || again.body != r.body || again.header.Get("Idempotent-Replayed") != "true" {
			w.st.violation("idempotent retry: %d %s, first %s", again.status, again.body, r.body)
		}
	}
}

func (w *soaker) get() {
	mine, ok := w.own()
	if !ok {
		return
	}
	t, ok := w.expect(w.call("GET", w.path(fmt.Sprintf("/%d", mine.ID)), nil), 200, "get")
	if ok {
		if diff := same(t, mine); diff != "" {
			w.st.violation("get %d: %s", mine.ID, diff)
		}
	}
}

func (w *soaker) list() {
	r := w.call("GET", w.path("?limit=500"), nil)
	if r.err != nil || r.status >= 500 {
		return
	}
	var got []task
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		w.st.violation("list: %d %s", r.status, r.body)
		return
	}
	ids := make([]int64, 0, len(got))
	for _, t := range got {
		if t.UserID != w.user {
			w.st.violation("%s's list holds task %d of %s", w.user, t.ID, t.UserID)
		}
		ids = append(ids, t.ID)
	}
	want := make([]int64, 0, len(w.mine))
	for id := range w.mine {
		want = append(want, id)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) || r.header.Get("X-Total-Count") != fmt.Sprint(len(want)) {
		w.st.violation("%s's list has %d tasks (X-Total-Count %s), %d acknowledged", w.user, len(ids), r.header.Get("X-Total-Count"), len(want))
	}
}

// write applies a PATCH, PUT or toggle to an own task and keeps the
// answer; completing a recurring task also acknowledges its next occurrence.
func (w *soaker) write(method, suffix string, body any, what string) {
	mine, ok := w.own()
	if !ok {
		return
	}
	r := w.call(method, w.path(fmt.Sprintf("/%d%s", mine.ID, suffix)), body)
	if r.status == 422 && strings.Contains(r.body, `"due_date"`) {
		return // a write that would leave a recurring task without a due date: refused, nothing changed
	}
	t, ok := w.expect(r, 200, what)
	if !ok {
		return
	}
	w.mine[t.ID] = t
	if t.NextTaskID != nil && (mine.NextTaskID == nil || *mine.NextTaskID != *t.NextTaskID) {
		next, ok := w.expect(w.call("GET", w.path(fmt.Sprintf("/%d", *t.NextTaskID)), nil), 200, "next occurrence")
		if ok {
			w.mine[next.ID] = next
			w.reg.add(next.ID, w.user)
		}
	}
}

func (w *soaker) patch() { w.write("PATCH", "", w.randomBody(false), "patch") }
func (w *soaker) put()   { w.write("PUT", "", w.randomBody(true), "put") }

func (w *soaker) toggle() {
	var body any
	if w.rng.IntN(2) == 0 {
		body = map[string]any{"completed": w.rng.IntN(2) == 0}
	}
	w.write("PATCH", []string{"/toggle", "/complete"}[w.rng.IntN(2)], body, "toggle")
}

func (w *soaker) remove() {
	mine, ok := w.own()
	if !ok {
		return
	}
	if _, ok := w.expect(w.call("DELETE", w.path(fmt.Sprintf("/%d", mine.ID)), nil), 204, "delete"); ok {
		delete(w.mine, mine.ID)
	}
}

func (w *soaker) stats() {
	r := w.call("GET", w.path("/stats"), nil)
	var s struct{ Total, Pending, Completed int }
	if r.err != nil || r.status >= 500 {
		return
	}
	if err := json.Unmarshal([]byte(r.body), &s); r.status != 200 || err != nil {
		w.st.violation("stats: %d %s", r.status, r.body)
		return
	}
	done := 0
	for _, t := range w.mine {
		if t.Completed {
			done++
		}
	}
	if s.Total != len(w.mine) || s.Completed != done || s.Pending != len(w.mine)-done {
		w.st.violation("%s's stats %+v, acknowledged %d tasks, %d completed", w.user, s, len(w.mine), done)
	}
}

func (w *soaker) clear() {
	r := w.call("DELETE", w.path("?status=completed"), nil)
	var got struct{ Deleted int }
	if r.err != nil || r.status >= 500 {
		return
	}
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		w.st.violation("clear: %d %s", r.status, r.body)
		return
	}
	n := 0
	for id, t := range w.mine {
		if t.Completed {
			delete(w.mine, id)
			n++
		}
	}
	if got.Deleted != n {
		w.st.violation("%s cleared %d completed tasks, %d acknowledged", w.user, got.Deleted, n)
	}
}

// attack aims a request at another user's task: through the attacker's own
// path it must be a 404, through the victim's path a 403.
func (w *soaker) attack() {
	id, victim, ok := w.reg.foreign(w.rng, w.user)
	if !ok {
		return
	}
	w.st.attacks.Add(1)
	verbs := []struct {
		method, suffix string
		body           any
	}{
		{"GET", "", nil},
		{"PATCH", "", map[string]any{"title": "pwned by " + w.user}},
		{"PUT", "", map[string]any{"title": "pwned by " + w.user}},
		{"PATCH", "/toggle", nil},
		{"PATCH", "/complete", map[string]any{"completed": true}},
		{"DELETE", "", nil},
	}
	v := verbs[w.rng.IntN(len(verbs))]
	path, want := w.path(fmt.Sprintf("/%d%s", id, v.suffix)), 404
	if w.rng.IntN(4) == 0 {
		path, want = "/api/"+url.PathEscape(victim)+fmt.Sprintf("/tasks/%d%s", id, v.suffix), 403
	}
	r := w.call(v.method, path, v.body)
	if r.err == nil && r.status < 500 && r.status != want {
		w.st.violation("%s %s by %s on %s's task: %d %s, want %d", v.method, path, w.user, victim, r.status, r.body, want)
	}
	if strings.Contains(r.body, victim) {
		w.st.violation("%s %s by %s shows %s's data: %s", v.method, path, w.user, victim, r.body)
	}
}

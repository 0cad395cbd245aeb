//go:build soak

package blackbox_test

// The concurrent-isolation soak: N users run M random operations each
// against the built binary on PostgreSQL, all at once, every user also
// throwing requests at task ids of the others. Each user is one goroutine,
// so the last response a user got for a task is that task's state, and the
// database must hold exactly that afterwards. Each user also holds an event
// stream open all the while: afterwards no stream carried another user's
// change, and each stream, and the change feed since the stream began,
// ends with every acknowledged write of its user (each task at its last
// acknowledged version, each acknowledged delete as one).
//
//	REQUIRE_POSTGRES=1 go test -tags soak -run TestSoak -count=1 -v ./blackbox \
//	    -soak.users=16 -soak.ops=1500 -soak.duration=30s [-soak.rls]

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
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
	users := make([]string, *soakUsers)
	for u := range users {
		users[u] = fmt.Sprintf("soak-%02d", u)
	}
	watchers := watchAll(t, svc.base, users, &st)
	began := time.Now()
	acked, gone, reg := soakLoad(t, newClient(svc.base, *soakUsers*2), &st)
	elapsed := time.Since(began)
	rows := soakVerify(t, dsn, acked, &st)
	events := soakVerifyStreams(t, newClient(svc.base, 4), watchers, acked, gone, reg, &st)

	ops := st.ops.Load()
	fmt.Printf("soak: users=%d operations=%d (cross-user attempts %d) duration=%s ops/s=%.0f rows=%d streamed events=%d rls=%v 5xx=%d violations=%d\n",
		*soakUsers, ops, st.attacks.Load(), elapsed.Round(time.Millisecond), float64(ops)/elapsed.Seconds(), rows, events, *soakRLS,
		st.fiveXX.Load(), st.violations.Load())
	for _, s := range st.samples {
		t.Error(s)
	}
	if st.fiveXX.Load() > 0 || st.violations.Load() > 0 {
		t.Fatalf("%d 5xx, %d violations", st.fiveXX.Load(), st.violations.Load())
	}
}

// soakLoad runs the users at once until each has done -soak.ops or
// -soak.duration is up, and returns each user's last acknowledged tasks,
// the ids of each user's acknowledged deletes, and every id handed out.
func soakLoad(t *testing.T, c *client, st *soakStats) ([]map[int64]task, []map[int64]bool, *registry) {
	var reg registry
	acked := make([]map[int64]task, *soakUsers)
	gone := make([]map[int64]bool, *soakUsers)
	stopAt := time.Now().Add(*soakDuration)
	var wg sync.WaitGroup
	for u := 0; u < *soakUsers; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &soaker{user: fmt.Sprintf("soak-%02d", u), c: c, reg: &reg, st: st, mine: map[int64]task{}, gone: map[int64]bool{},
				rng: rand.New(rand.NewPCG(uint64(u), uint64(time.Now().UnixNano())))}
			w.tok = token(t, w.user)
			for i := 0; i < *soakOps && time.Now().Before(stopAt); i++ {
				w.step()
				st.ops.Add(1)
			}
			acked[u], gone[u] = w.mine, w.gone
		}()
	}
	wg.Wait()
	return acked, gone, &reg
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
	gone      map[int64]bool // own tasks whose delete was acknowledged
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
		w.gone[mine.ID] = true
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
			w.gone[id] = true
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

// owners is who owns each id handed out.
func (r *registry) owners() map[int64]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[int64]string, len(r.ids))
	for i, id := range r.ids {
		m[id] = r.own[i]
	}
	return m
}

// streamed is the last event a stream carried for one task.
type streamed struct {
	deleted bool
	version int64
}

// watcher holds one user's event stream open through the soak, as a
// browser tab would: it reconnects with Last-Event-ID when the stream
// ends, and keeps the last event of each task.
type watcher struct {
	user, tok, base string
	http            *http.Client
	st              *soakStats
	start           string // the cursor of the stream's ready event

	mu     sync.Mutex
	last   map[int64]streamed
	events int
	lastID string

	cancel context.CancelFunc
	done   chan struct{}
}

// watchAll opens a stream for each user and waits for each one's ready.
// Each user first creates and deletes a task, so that the stream starts
// past position 0: from 0 the feed is a full sync, which rightly sends no
// tombstones (the client holds nothing), and a task created and deleted
// before the stream's first read would leave no trace to check.
func watchAll(t *testing.T, base string, users []string, st *soakStats) []*watcher {
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0}}
	c := newClient(base, 2)
	ws := make([]*watcher, len(users))
	for i, u := range users {
		tok := token(t, u)
		r := c.do("POST", "/api/"+url.PathEscape(u)+"/tasks", tok, titleBody("warm-up"))
		tk, err := r.task()
		if r.err != nil || r.status != 201 || err != nil {
			t.Fatalf("%s's warm-up task: %d %v %s", u, r.status, r.err, r.body)
		}
		if r := c.do("DELETE", fmt.Sprintf("/api/%s/tasks/%d", url.PathEscape(u), tk.ID), tok, nil); r.status != 204 {
			t.Fatalf("%s's warm-up delete: %d %v %s", u, r.status, r.err, r.body)
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := &watcher{user: u, tok: tok, base: base, http: hc, st: st, last: map[int64]streamed{}, cancel: cancel, done: make(chan struct{})}
		ready := make(chan string, 1)
		go w.run(ctx, ready)
		select {
		case w.start = <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s's stream sent no ready", u)
		}
		ws[i] = w
		t.Cleanup(w.stop)
	}
	return ws
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// run reads the stream until ctx ends, reconnecting after a second of
// pause (as the TypeScript client does) when it ends for any other reason.
func (w *watcher) run(ctx context.Context, ready chan<- string) {
	defer close(w.done)
	for ctx.Err() == nil {
		w.read(ctx, ready)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (w *watcher) read(ctx context.Context, ready chan<- string) {
	req, err := http.NewRequestWithContext(ctx, "GET", w.base+"/api/"+url.PathEscape(w.user)+"/events", nil)
	if err != nil {
		w.st.violation("%s's stream: %v", w.user, err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+w.tok)
	w.mu.Lock()
	if w.lastID != "" {
		req.Header.Set("Last-Event-ID", w.lastID)
	}
	w.mu.Unlock()
	res, err := w.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			w.st.violation("%s's stream: %v", w.user, err)
		}
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		w.st.violation("%s's stream: %d %s", w.user, res.StatusCode, body)
		return
	}
	sc := bufio.NewScanner(res.Body)
	var id, name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				w.event(id, name, data, ready)
			}
			id, name, data = "", "", ""
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

func (w *watcher) event(id, name, data string, ready chan<- string) {
	var b struct {
		Cursor string `json:"cursor"`
		Task   *task  `json:"task"`
		ID     *int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		w.st.violation("%s's stream: event %s data %q: %v", w.user, name, data, err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if id != "" {
		w.lastID = id
	}
	switch name {
	case "ready":
		if w.lastID == "" || w.lastID == b.Cursor {
			w.lastID = b.Cursor
			select {
			case ready <- b.Cursor:
			default:
			}
		}
	case "task.created", "task.updated":
		w.events++
		if b.Task == nil || b.Task.UserID != w.user {
			w.st.violation("%s's stream carried %s %s", w.user, name, data)
			return
		}
		w.last[b.Task.ID] = streamed{version: b.Task.Version}
	case "task.deleted":
		w.events++
		if b.ID == nil {
			w.st.violation("%s's stream carried %s %s", w.user, name, data)
			return
		}
		w.last[*b.ID] = streamed{deleted: true}
	case "unavailable", "token-expired":
		// The stream ends; run reconnects with Last-Event-ID.
	default:
		w.st.violation("%s's stream carried an event %q: %s", w.user, name, data)
	}
}

// missing compares the last of each task (from the stream or the feed)
// with what was acknowledged to user: every task at its last acknowledged
// version, every acknowledged delete as a delete, and no id of another
// user's. It returns what differs.
func missing(user string, last map[int64]streamed, acked map[int64]task, gone map[int64]bool, owners map[int64]string) []string {
	var out []string
	for id, want := range acked {
		if got, ok := last[id]; !ok || got.deleted || got.version != want.Version {
			out = append(out, fmt.Sprintf("task %d: last %+v (present %v), acknowledged version %d", id, got, ok, want.Version))
		}
	}
	for id := range gone {
		if got, ok := last[id]; !ok || !got.deleted {
			out = append(out, fmt.Sprintf("task %d: last %+v (present %v), acknowledged deleted", id, got, ok))
		}
	}
	for id := range last {
		if owner := owners[id]; owner != user {
			out = append(out, fmt.Sprintf("task %d of %q", id, owner))
		}
	}
	sort.Strings(out)
	return out
}

// soakVerifyStreams checks, once the load is over, each user's stream and
// the change feed since that stream began against what was acknowledged
// to the user. A stream may lag the last write by a moment, so it is given
// a few seconds to catch up. It returns the number of change events the
// streams carried.
func soakVerifyStreams(t *testing.T, c *client, ws []*watcher, acked []map[int64]task, gone []map[int64]bool, reg *registry, st *soakStats) int {
	owners := reg.owners()
	total := 0
	for u, w := range ws {
		var diff []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			w.mu.Lock()
			diff = missing(w.user, w.last, acked[u], gone[u], owners)
			w.mu.Unlock()
			if len(diff) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.stop()
		total += w.events
		for i, d := range diff {
			if i == 3 {
				st.violation("%s's stream: %d differences in all", w.user, len(diff))
				break
			}
			st.violation("%s's stream: %s", w.user, d)
		}

		feed := map[int64]streamed{}
		since := w.start
		for page := 0; ; page++ {
			r := c.do("GET", "/api/"+url.PathEscape(w.user)+"/tasks/changes?limit=500&since="+url.QueryEscape(since), w.tok, nil)
			var p struct {
				Changes []struct {
					Op   string `json:"op"`
					Task *task  `json:"task"`
					ID   *int64 `json:"id"`
				} `json:"changes"`
				Cursor  string `json:"cursor"`
				HasMore bool   `json:"has_more"`
			}
			if r.err != nil || r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &p) != nil || page > 100 {
				st.violation("%s's feed since %s: %d %v %.300s", w.user, since, r.status, r.err, r.body)
				break
			}
			for _, ch := range p.Changes {
				switch {
				case ch.Task != nil && ch.Task.UserID != w.user:
					st.violation("%s's feed carries %s's task %d", w.user, ch.Task.UserID, ch.Task.ID)
				case ch.Task != nil:
					feed[ch.Task.ID] = streamed{version: ch.Task.Version}
				case ch.ID != nil:
					feed[*ch.ID] = streamed{deleted: true}
				}
			}
			if !p.HasMore {
				break
			}
			since = p.Cursor
		}
		diff = missing(w.user, feed, acked[u], gone[u], owners)
		for i, d := range diff {
			if i == 3 {
				st.violation("%s's feed: %d differences in all", w.user, len(diff))
				break
			}
			st.violation("%s's feed: %s", w.user, d)
		}
	}
	return total
}

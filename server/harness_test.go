package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/logbuf"
	"todo-api/internal/testpg"
	"todo-api/metrics"
	"todo-api/middleware"
	"todo-api/server"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

const testSecret = "test-secret-0123456789abcdef0123456789"

// clock is a test clock that moves 1 ms on every reading, so that rows get
// distinct, ordered timestamps and token times can be set exactly.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// set moves the clock to t; the next reading is 1 ms after it.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is the whole application on one database, driven through app.Test.
type env struct {
	t     *testing.T
	app   *fiber.App
	db    *gorm.DB
	clock *clock
	cfg   config.Config
	// metrics is the registry the app records into and serves at /metrics.
	metrics *metrics.Registry
	// baseURL is set once listen has been called.
	baseURL string
	// logs is what the server logged.
	logs *logbuf.Buffer
	// expect500 is set by the tests that provoke a 500 on purpose.
	expect500 bool
	// appDB is the handle the app itself runs on (db may be another one,
	// for inspection under row-level security); writeDoor watches it.
	appDB     *gorm.DB
	writeDoor *writeDoor
}

// eachDB runs fn once on the embedded SQLite file and once on PostgreSQL,
// each on a fresh database: the same table of cases runs on both. edits
// change the configuration both run with.
func eachDB(t *testing.T, fn func(t *testing.T, e *env), edits ...func(*config.Config)) {
	t.Helper()
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			if rlsMode() && driver == config.SQLite {
				t.Skip("TEST_ROW_LEVEL_SECURITY=on: PostgreSQL only")
			}
			fn(t, newEnv(t, driver, edits...))
		})
	}
}

func newEnv(t *testing.T, driver string, edits ...func(*config.Config)) *env {
	t.Helper()
	return newEnvWith(t, driver, nil, edits...)
}

// newEnvWith is newEnv with wire applied to the dependencies before the app
// is built, to plug in a key source or a readiness check.
func newEnvWith(t *testing.T, driver string, wire func(*server.Deps), edits ...func(*config.Config)) *env {
	t.Helper()
	dbcfg := config.Database{Driver: driver, Timeout: 5 * time.Second}
	if driver == config.SQLite {
		dbcfg.DSN = filepath.Join(t.TempDir(), "todo.db")
	} else {
		dbcfg.DSN = testpg.NewDatabase(t)
	}
	cfg := config.Config{
		Port:        8000,
		Env:         config.Development,
		Database:    dbcfg,
		Auth:        config.Auth{Secret: []byte(testSecret), Leeway: 30 * time.Second},
		CORSOrigins: []string{"http://localhost:3000"},
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	clk := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	// The server log is shown only when the test fails.
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	inspect := setUpRowLevelSecurity(t, &cfg, clk.Now, log)
	db, err := database.Open(cfg.Database, clk.Now, log)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	reg := metrics.New(metrics.Build{Version: "test", Commit: "test-commit"})
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.WatchDB(sqlDB, "todo"); err != nil {
		t.Fatal(err)
	}
	deps := server.Deps{
		Config:   cfg,
		DB:       db,
		Log:      log,
		Clock:    clk.Now,
		Verifier: middleware.NewVerifier(cfg.Auth, clk.Now),
		Metrics:  reg,
	}
	if wire != nil {
		wire(&deps)
	}
	door := watchWriteDoor(t, db)
	app := server.New(deps)
	return &env{t: t, app: app, db: inspect(db), clock: clk, cfg: cfg, logs: logs, metrics: reg, appDB: db, writeDoor: door}
}

// sign signs claims with key using method, for tokens the tests forge.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// token signs claims for sub that expire in an hour, then applies edits.
func (e *env) token(sub string, edits ...func(jwt.MapClaims)) string {
	now := e.clock.Now()
	claims := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for _, edit := range edits {
		edit(claims)
	}
	return sign(e.t, jwt.SigningMethodHS256, []byte(testSecret), claims)
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request. body is sent as JSON unless it is a string, which
// is sent as is; headers are name, value pairs. The request and the response
// are checked against docs/openapi.yaml (contract_test.go says how).
func (e *env) call(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		sent = raw
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(sent)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	var res *http.Response
	var err error
	if e.baseURL != "" {
		req.RequestURI = ""
		req.URL, err = url.Parse(e.baseURL + path)
		if err == nil {
			res, err = http.DefaultClient.Do(req)
		}
	} else {
		res, err = e.app.Test(req, -1)
	}
	// Errorf, not Fatalf: call runs inside subtests, where only the
	// subtest's own t may stop the test; the zero status fails the caller.
	if err != nil {
		e.t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Errorf("%s %s: reading the body: %v", method, path, err)
	}
	if res.StatusCode == http.StatusInternalServerError && !e.expect500 {
		e.t.Errorf("%s %s: unexpected 500: %s", method, path, raw)
	}
	e.checkContract(req, path, sent, res, raw)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// listen serves the app on a real loopback port; from then on call goes
// over real HTTP (app.Test cannot send bodies over Fiber's limit, say).
func (e *env) listen() {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = e.app.Listener(ln) }()
	e.t.Cleanup(func() { _ = e.app.Shutdown() })
	e.baseURL = "http://" + ln.Addr().String()
}

// task is a task as the API returns it.
type task struct {
	ID          int64      `json:"id"`
	UserID      string     `json:"user_id"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"`
	Priority    string     `json:"priority"`
	Tags        []string   `json:"tags"`
	DueDate     *time.Time `json:"due_date"`
	Recurrence  *string    `json:"recurrence"`
	Version     int64      `json:"version"`
	NextTaskID  *int64     `json:"next_task_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ListID      *int64     `json:"list_id"`
	ParentID    *int64     `json:"parent_id"`
	Position    string     `json:"position"`
	RemindAt    *time.Time `json:"remind_at"`
	RemindedAt  *time.Time `json:"reminded_at"`
}

// problemBody is an RFC 9457 error body.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r response) task(t *testing.T) task {
	t.Helper()
	var out task
	r.decode(t, &out)
	return out
}

// internals are strings that must never reach a client.
var internals = []string{"select ", "insert ", "update ", "delete from", "sqlstate", "sqlite", "gorm", "pgx", ".go:", "/work/", "goroutine", "panic", testSecret}

// problem checks that r is a problem+json error with the given status and
// nothing internal in it, and returns the body.
func (r response) problem(t *testing.T, status int) problemBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p problemBody
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || p.Detail == "" || p.Type == "" {
		t.Errorf("incomplete problem body: %s", r.body)
	}
	lower := strings.ToLower(string(r.body))
	for _, s := range internals {
		if strings.Contains(lower, strings.ToLower(s)) {
			t.Errorf("problem body shows %q: %s", s, r.body)
		}
	}
	return p
}

// fieldErrors lists the field names a 422 reports.
func (p problemBody) fields() []string {
	out := make([]string, len(p.Errors))
	for i, fe := range p.Errors {
		out[i] = fe.Field
	}
	return out
}

// create makes a task for user and returns it, failing the test otherwise.
func (e *env) create(user string, body any) task {
	e.t.Helper()
	r := e.call("POST", "/api/"+user+"/tasks", e.token(user), body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.task(e.t)
}

func ptr[T any](v T) *T { return &v }

// ids returns the ids of a list response, failing unless it is a 200 whose
// tasks all belong to user.
func (r response) ids(t *testing.T, user string) []int64 {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got []task
	r.decode(t, &got)
	out := make([]int64, 0, len(got))
	for _, g := range got {
		if g.UserID != user {
			t.Errorf("%s's list holds a task of %s", user, g.UserID)
		}
		out = append(out, g.ID)
	}
	return out
}

// countRows counts every row of the tasks table, of all users.
func (e *env) countRows() int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table("tasks").Count(&n).Error; err != nil {
		e.t.Fatalf("counting tasks: %v", err)
	}
	return n
}

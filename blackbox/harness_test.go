// Package blackbox_test drives the built todo-api binary as a client would,
// over HTTP, and looks at the database behind it: the crash test (kill -9
// under load, then restart) runs with go test ./...; the concurrent-isolation
// soak is behind the soak build tag (see soak_test.go).
package blackbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/testpg"
)

func TestMain(m *testing.M) {
	code := testpg.Run(m)
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

const secret = "blackbox-secret-0123456789abcdef0123456789"

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds the service once per test run, as a user would.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "todo-api-blackbox-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "todo-api")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// service is one run of the binary.
type service struct {
	t    testing.TB
	cmd  *exec.Cmd
	base string
	env  []string
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// start runs the binary with env (DATABASE_URL and so on) on a free port
// and waits until /healthz answers.
func start(t testing.TB, env ...string) *service {
	t.Helper()
	bin := binary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &service{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), env: env, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	s.cmd = exec.Command(bin)
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + s.cmd.Dir, fmt.Sprintf("PORT=%d", port),
		"BETTER_AUTH_SECRET=" + secret, "APP_ENV=production",
		// These tests load the service far above one user's rate limit on
		// purpose; the limit has tests of its own (server/limits_test.go).
		"RATE_LIMIT_PER_MINUTE=0",
	}, env...)
	w := lockedWriter{s.mu, s.log}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("service log (tail):\n%s", s.logTail())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r, err := http.Get(s.base + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("the service exited at start:\n%s", s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service never became healthy:\n%s", s.logTail())
		}
	}
}

// kill9 ends the process with SIGKILL: no shutdown, no flush, nothing.
func (s *service) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop ends the process with SIGTERM, as a platform does.
func (s *service) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.kill()
	}
}

func (s *service) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.log.Bytes()
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// token is an HS256 token for user, valid for a day.
func token(t testing.TB, user string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(24 * time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client talks to one service.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, conns int) *client {
	return &client{base: base, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
	}}
}

// reply is a response, or the transport error that replaced it.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// do sends one request; body is JSON-encoded unless it is nil.
func (c *client) do(method, path, tok string, body any, headers ...string) reply {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return reply{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: raw, err: err}
}

// task is a task as the API returns it and as the checks compare it.
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
}

func (r reply) task() (task, error) {
	var t task
	err := json.Unmarshal(r.body, &t)
	return t, err
}

// same compares two views of a task field by field, times as instants; it
// returns what differs, or "".
func same(a, b task) string {
	var diff []string
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	tm := func(p *time.Time) string {
		if p == nil {
			return "<nil>"
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	id := func(p *int64) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprint(*p)
	}
	check := func(name, x, y string) {
		if x != y {
			diff = append(diff, fmt.Sprintf("%s %q != %q", name, x, y))
		}
	}
	check("user_id", a.UserID, b.UserID)
	check("title", a.Title, b.Title)
	check("description", str(a.Description), str(b.Description))
	check("completed", fmt.Sprint(a.Completed), fmt.Sprint(b.Completed))
	check("completed_at", tm(a.CompletedAt), tm(b.CompletedAt))
	check("priority", a.Priority, b.Priority)
	check("tags", strings.Join(a.Tags, "|"), strings.Join(b.Tags, "|"))
	check("due_date", tm(a.DueDate), tm(b.DueDate))
	check("recurrence", str(a.Recurrence), str(b.Recurrence))
	check("version", fmt.Sprint(a.Version), fmt.Sprint(b.Version))
	check("next_task_id", id(a.NextTaskID), id(b.NextTaskID))
	check("created_at", tm(&a.CreatedAt), tm(&b.CreatedAt))
	check("updated_at", tm(&a.UpdatedAt), tm(&b.UpdatedAt))
	return strings.Join(diff, "; ")
}

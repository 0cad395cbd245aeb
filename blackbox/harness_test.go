// Package blackbox_test runs the built todo-api binary as its users and
// operators meet it: a process with an environment and a working directory,
// spoken to over HTTP, stopped by a signal, with the database behind it
// looked at directly. The deployment files (Dockerfile, fly.toml,
// render.yaml) are checked here too, beside the binary they ship. The
// concurrent-isolation soak is behind the soak build tag (soak_test.go).
//
// TestMain builds the binary once per go test run; every test starts it
// through this file. A new test of the binary, in a new file of this folder:
//
//	func TestSomething(t *testing.T) {
//		svc := start(t, "DATABASE_URL="+testpg.NewDatabase(t)) // waits for /readyz
//		r := svc.do("POST", "/api/alice/tasks", token(t, "alice"), `{"title":"x"}`)
//		if r.err != nil || r.status != 201 { t.Fatalf("create: %v %d %s", r.err, r.status, r.body) }
//		if err := svc.stop(); err != nil { t.Errorf("exit after SIGTERM: %v", err) } // svc.out is its log
//	}
//
// launch(t, spec{...}) starts without waiting (another binary, arguments, a
// working directory, no secret); runOnce runs a command that exits (token,
// healthcheck); eventually polls a condition with a deadline. Wait for a
// state with those, never with a fixed sleep.
package blackbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"todo-api/internal/logbuf"
	"todo-api/internal/testpg"
)

// builtBin is the binary TestMain built; TestMain sets it once, before any
// test runs, and nothing changes it afterwards.
var builtBin string

// TestMain builds the binary, runs the tests with testpg's shared cluster,
// and removes the binary.
func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "todo-api-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "todo-api")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".." // the module root, where package main lives
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	builtBin = bin
	return testpg.Run(m)
}

// testSecret is the BETTER_AUTH_SECRET every start gets unless its spec
// says noSecret; token signs with it.
const testSecret = "a-secret-of-at-least-32-bytes-0123456789"

// Deadlines of the harness: generous, because the machine is shared; a
// healthy start takes well under a second.
const (
	readyWithin = 30 * time.Second
	stopWithin  = 15 * time.Second
)

// spec says how to run the binary. Its zero value is the binary TestMain
// built, in a new empty directory (so no .env), with PATH, HOME and
// BETTER_AUTH_SECRET=testSecret as its whole environment.
type spec struct {
	bin      string   // the binary to run; "" is the one TestMain built
	args     []string // its arguments
	env      []string // added to the environment; a later entry of a name wins
	dir      string   // the working directory; "" is a new empty one
	noSecret bool     // leave BETTER_AUTH_SECRET out, as on a newcomer's machine
}

// command is the exec.Cmd for sp, not yet started. extra comes before
// sp.env, so a test's own entries win.
func (sp spec) command(t testing.TB, ctx context.Context, extra ...string) *exec.Cmd {
	t.Helper()
	bin := sp.bin
	if bin == "" {
		bin = builtBin
	}
	cmd := exec.CommandContext(ctx, bin, sp.args...)
	cmd.Dir = sp.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}
	if !sp.noSecret {
		cmd.Env = append(cmd.Env, "BETTER_AUTH_SECRET="+testSecret)
	}
	cmd.Env = append(append(cmd.Env, extra...), sp.env...)
	return cmd
}

// result is what a run of the binary that exits printed, and how it ended.
type result struct {
	stdout   string
	output   string // stdout and stderr interleaved
	err      error  // the exit status
	timedOut bool   // killed at the deadline rather than exited
}

// runOnce runs sp to its end, killing it after within.
func runOnce(t testing.TB, sp spec, within time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := sp.command(t, ctx)
	var stdout, output logbuf.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, &output), &output
	err := cmd.Run()
	return result{stdout: stdout.String(), output: output.String(), err: err, timedOut: ctx.Err() != nil}
}

// service is one running process of the binary.
type service struct {
	t      testing.TB
	cmd    *exec.Cmd
	port   string
	base   string         // http://127.0.0.1:port
	out    *logbuf.Buffer // stdout (the log) and stderr together
	stderr *logbuf.Buffer // stderr alone: the development welcome
	http   *client        // for do
	done   chan struct{}  // closed once the process has exited
	err    error          // its exit status, once done is closed
}

// start launches the binary with env (and PORT, the secret) and waits
// until /readyz answers 200.
func start(t testing.TB, env ...string) *service {
	t.Helper()
	s := launch(t, spec{env: env})
	s.ready()
	return s
}

// launch starts sp on a free port without waiting for it. The process is
// killed when the test ends, and its output logged if the test failed.
func launch(t testing.TB, sp spec) *service {
	t.Helper()
	port := freePort(t)
	s := &service{t: t, port: port, base: "http://127.0.0.1:" + port,
		out: &logbuf.Buffer{}, stderr: &logbuf.Buffer{}, done: make(chan struct{})}
	s.http = newClient(s.base, 4)
	s.cmd = sp.command(t, context.Background(), "PORT="+port)
	s.cmd.Stdout, s.cmd.Stderr = s.out, io.MultiWriter(s.out, s.stderr)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("output of %s:\n%s", s.base, s.output())
		}
	})
	return s
}

// ready waits until /readyz answers 200: the database and the token
// verifiers are usable.
func (s *service) ready() { s.t.Helper(); s.await("/readyz") }

// live waits until /healthz answers 200: the process serves, whatever its
// dependencies do (for tests where /readyz says 503 on purpose).
func (s *service) live() { s.t.Helper(); s.await("/healthz") }

func (s *service) await(path string) {
	s.t.Helper()
	probe := &http.Client{Timeout: 2 * time.Second}
	answered := eventually(readyWithin, func() bool {
		if s.exited() {
			s.t.Fatalf("%s exited before %s answered 200: %v\n%s", s.base, path, s.err, s.output())
		}
		r, err := probe.Get(s.base + path)
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	if !answered {
		s.t.Fatalf("%s%s not 200 within %v\n%s", s.base, path, readyWithin, s.output())
	}
}

// exited tells whether the process has ended.
func (s *service) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// send delivers sig and returns at once.
func (s *service) send(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// wait waits up to within for the process to exit and returns its exit
// status; it fails the test if the process is still running then.
func (s *service) wait(within time.Duration) error {
	s.t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(within):
		s.t.Fatalf("%s still running %v later", s.base, within)
		return nil
	}
}

// signal sends sig and waits up to within for the exit, returning its status.
func (s *service) signal(sig syscall.Signal, within time.Duration) error {
	s.t.Helper()
	s.send(sig)
	return s.wait(within)
}

// stop ends the process with SIGTERM, as a platform does, and returns its
// exit status.
func (s *service) stop() error {
	s.t.Helper()
	return s.signal(syscall.SIGTERM, stopWithin)
}

// kill ends the process with SIGKILL: no shutdown, no flush, nothing.
func (s *service) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// do sends one request to the service; see client.do.
func (s *service) do(method, path, tok string, body any, headers ...string) reply {
	return s.http.do(method, path, tok, body, headers...)
}

// output is the process's output for a failure message: all of it, or
// under load (an access line a request) its start and its end.
func (s *service) output() string {
	const head, tail = 4 << 10, 12 << 10
	out := s.out.String()
	if len(out) <= head+tail {
		return out
	}
	return out[:head] + fmt.Sprintf("\n[… %d bytes …]\n", len(out)-head-tail) + out[len(out)-tail:]
}

// eventually polls cond, more slowly as time goes on, until it holds or
// within has passed; it tells which. cond runs on the caller's goroutine,
// so it may call t.Fatal.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 250*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}

// freePort is a TCP port nobody listened on a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// refused tells whether a new connection to addr is refused: the listener
// is closed.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// underLoad is env with what the tests that load the service add: the
// production environment, and no rate limit, since they go far above one
// user's on purpose (the limit has tests of its own, server/limits_test.go).
func underLoad(env ...string) []string {
	return append([]string{"APP_ENV=production", "RATE_LIMIT_PER_MINUTE=0"}, env...)
}

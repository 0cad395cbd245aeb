package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/logbuf"
)

// testSecret signs the tokens of the tests that run the real binary.
const testSecret = "a-secret-of-at-least-32-bytes-0123456789"

// instance is the service running as a real process.
type instance struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *logbuf.Buffer // stdout (the log) and stderr together
	base string
	done chan struct{} // closed once the process has exited
	err  error         // its exit status, once done
}

// launch starts bin in an empty directory with PORT, BETTER_AUTH_SECRET and
// env (later entries win), without waiting for it to be ready. The process
// is killed when the test ends, and its output shown if the test failed.
func launch(t *testing.T, bin string, env ...string) *instance {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir, "PORT=" + port,
		"BETTER_AUTH_SECRET=" + testSecret}, env...)
	in := &instance{t: t, cmd: cmd, out: &logbuf.Buffer{}, base: "http://127.0.0.1:" + port, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.out, in.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.err = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", in.base, in.out.String())
		}
	})
	return in
}

// ready waits until /readyz answers 200.
func (in *instance) ready() {
	in.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-in.done:
			in.t.Fatalf("%s exited before becoming ready: %v\n%s", in.base, in.err, in.out.String())
		default:
		}
		if r, err := http.Get(in.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
	}
	in.t.Fatalf("%s never became ready\n%s", in.base, in.out.String())
}

// signal sends sig and waits up to within for the exit, returning its error.
func (in *instance) signal(sig syscall.Signal, within time.Duration) error {
	in.t.Helper()
	if err := in.cmd.Process.Signal(sig); err != nil {
		in.t.Fatal(err)
	}
	select {
	case <-in.done:
		return in.err
	case <-time.After(within):
		in.t.Fatalf("still running %v after %v", within, sig)
		return nil
	}
}

// token signs an hour-long HS256 token for user.
func token(t *testing.T, user string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reply is one HTTP exchange's outcome.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request with client and reads the whole answer.
func do(client *http.Client, method, target, tok, body string) (reply, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		return reply{}, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}, err
}

// directURL is dsn with the host of admin: the database without the pooler,
// when the tests run through one (TEST_DATABASE_POOLER).
func directURL(t *testing.T, dsn, admin string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	a, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = a.Host
	return u.String()
}

// mustJSONTitle is a create body.
func mustJSONTitle(title string) string { return fmt.Sprintf(`{"title":%q}`, title) }

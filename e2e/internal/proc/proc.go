// Package proc starts the processes of the end-to-end tests (node, next,
// the built todo-api) and waits for them, for e2e/better-auth and
// e2e/nextjs alike.
package proc

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BaseEnv is the little of the environment node and next need.
func BaseEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
}

// Start runs cmd with BaseEnv plus env, waits until its output has
// a line containing ready, and stops it when the test ends. Its output is
// shown when the test fails.
func Start(t *testing.T, name, ready string, cmd *exec.Cmd, env ...string) {
	t.Helper()
	cmd.Env = append(BaseEnv(t), env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var mu sync.Mutex
	var out strings.Builder
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(seen) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("%s output:\n%s", name, out.String())
			mu.Unlock()
		}
	})
	select {
	case <-seen:
	case err := <-exited:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s exited before it was ready: %v\n%s", name, err, out.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("%s not ready after 90 s", name)
	}
}

// BuildAPI builds the todo-api binary from this checkout.
func BuildAPI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "todo-api")
	out, err := exec.Command("go", "build", "-o", bin, "todo-api").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func FreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func Eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

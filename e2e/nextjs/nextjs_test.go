//go:build e2e

// Package nextjs_test runs the Next.js example app (examples/nextjs) as its
// README does — next build, Better Auth's migrations, next start — on a
// throwaway PostgreSQL for Better Auth and the built todo-api on SQLite,
// then drives it in headless Chromium (ui.mjs, playwright-core).
//
// It needs Node.js (>= 20.19), `npm ci` in examples/nextjs and in e2e/
// (playwright-core), Chromium at /usr/bin/chromium (or $CHROMIUM) and the
// PostgreSQL server binaries, so it is behind the e2e build tag; .ci/run runs
//
//	go test -tags e2e -run '^TestNextJSExample$' -v ./e2e/nextjs/
//
// NEXTJS_SCREENSHOTS=DIR keeps the screenshots of each step in DIR.
package nextjs_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"todo-api/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

func TestNextJSExample(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; this test needs Node.js >= 20.19")
	}
	app, err := filepath.Abs(filepath.Join("..", "..", "examples", "nextjs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []struct{ file, fix string }{
		{filepath.Join(app, "node_modules", "next", "package.json"), "run npm ci in examples/nextjs"},
		{filepath.Join("..", "node_modules", "playwright-core", "package.json"), "run npm ci in e2e"},
	} {
		if _, err := os.Stat(need.file); err != nil {
			t.Fatalf("%s is missing: %s", need.file, need.fix)
		}
	}
	shots := os.Getenv("NEXTJS_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	webPort, apiPort := freePort(t), freePort(t)
	web := "http://127.0.0.1:" + webPort
	api := "http://127.0.0.1:" + apiPort
	// What .env.local holds in the README; the test's values win over any
	// .env file in the folder, as process variables do in Next.js.
	env := []string{
		"BETTER_AUTH_URL=" + web,
		"BETTER_AUTH_SECRET=" + randomHex(32),
		"DATABASE_URL=" + testpg.NewDatabase(t),
		"NEXT_PUBLIC_API_URL=" + api,
		"NEXT_TELEMETRY_DISABLED=1",
	}
	nextBin := filepath.Join(app, "node_modules", "next", "dist", "bin", "next")

	begin := time.Now()
	build := exec.Command(node, nextBin, "build")
	build.Dir = app
	build.Env = append(baseEnv(t), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("next build: %v\n%s", err, out)
	}
	t.Logf("next build: %v", time.Since(begin).Round(time.Second))

	migrate := exec.Command(node, "scripts/migrate.mjs")
	migrate.Dir = app
	migrate.Env = append(baseEnv(t), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("npm run migrate: %v\n%s", err, out)
	} else {
		t.Logf("%s", strings.TrimSpace(string(out)))
	}

	start := exec.Command(node, nextBin, "start", "--hostname", "127.0.0.1", "--port", webPort)
	start.Dir = app
	startProcess(t, "next start", "Ready", start, env...)

	// todo-api as the README runs it: the embedded SQLite file, Better Auth's
	// keys from the app, the app's origin allowed by CORS.
	server := exec.Command(buildAPI(t))
	server.Dir = t.TempDir() // no .env from the checkout
	startProcess(t, "todo-api", `"msg":"listening"`, server,
		"PORT="+apiPort, "DATABASE_URL=sqlite:"+filepath.Join(server.Dir, "todo.db"),
		"BETTER_AUTH_URL="+web, "CORS_ORIGINS="+web, "APP_ENV=development")
	eventually(t, 20*time.Second, "todo-api ready (Better Auth's JWKS loaded)", func() bool {
		res, err := http.Get(api + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})

	begin = time.Now()
	ui := exec.Command(node, "ui.mjs")
	ui.Env = append(baseEnv(t), "WEB_URL="+web, "SCREENSHOTS="+shots)
	if c := os.Getenv("CHROMIUM"); c != "" {
		ui.Env = append(ui.Env, "CHROMIUM="+c)
	}
	out, err := ui.CombinedOutput()
	t.Logf("ui.mjs (%v):\n%s", time.Since(begin).Round(time.Second), out)
	if err != nil {
		t.Fatalf("ui.mjs: %v (screenshots in %s)", err, shots)
	}
	if !strings.Contains(string(out), "ok: every step passed") {
		t.Fatal("ui.mjs ended without passing every step")
	}
}

// baseEnv is the little of the environment node and next need.
func baseEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
}

// startProcess runs cmd with baseEnv plus env, waits until its output has
// a line containing ready, and stops it when the test ends. Its output is
// shown when the test fails.
func startProcess(t *testing.T, name, ready string, cmd *exec.Cmd, env ...string) {
	t.Helper()
	cmd.Env = append(baseEnv(t), env...)
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

// buildAPI builds the todo-api binary from this checkout.
func buildAPI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "todo-api")
	out, err := exec.Command("go", "build", "-o", bin, "todo-api").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

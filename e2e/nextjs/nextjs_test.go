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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"todo-api/e2e/internal/proc"
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

	webPort, apiPort := proc.FreePort(t), proc.FreePort(t)
	web := "http://127.0.0.1:" + webPort
	api := "http://127.0.0.1:" + apiPort
	// What .env.local holds in the README; the test's values win over any
	// .env file in the folder, as process variables do in Next.js.
	env := []string{
		"BETTER_AUTH_URL=" + web,
		"BETTER_AUTH_SECRET=" + proc.RandomHex(32),
		"DATABASE_URL=" + testpg.NewDatabase(t),
		"NEXT_PUBLIC_API_URL=" + api,
		"NEXT_TELEMETRY_DISABLED=1",
	}
	nextBin := filepath.Join(app, "node_modules", "next", "dist", "bin", "next")

	begin := time.Now()
	build := exec.Command(node, nextBin, "build")
	build.Dir = app
	build.Env = append(proc.BaseEnv(t), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("next build: %v\n%s", err, out)
	}
	t.Logf("next build: %v", time.Since(begin).Round(time.Second))

	migrate := exec.Command(node, "scripts/migrate.mjs")
	migrate.Dir = app
	migrate.Env = append(proc.BaseEnv(t), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("npm run migrate: %v\n%s", err, out)
	} else {
		t.Logf("%s", strings.TrimSpace(string(out)))
	}

	start := exec.Command(node, nextBin, "start", "--hostname", "127.0.0.1", "--port", webPort)
	start.Dir = app
	proc.Start(t, "next start", "Ready", start, env...)

	// todo-api as the README runs it: the embedded SQLite file, Better Auth's
	// keys from the app, the app's origin allowed by CORS.
	server := exec.Command(proc.BuildAPI(t))
	server.Dir = t.TempDir() // no .env from the checkout
	proc.Start(t, "todo-api", `"msg":"listening"`, server,
		"PORT="+apiPort, "DATABASE_URL=sqlite:"+filepath.Join(server.Dir, "todo.db"),
		"BETTER_AUTH_URL="+web, "CORS_ORIGINS="+web, "APP_ENV=development")
	proc.Eventually(t, 20*time.Second, "todo-api ready (Better Auth's JWKS loaded)", func() bool {
		res, err := http.Get(api + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})

	begin = time.Now()
	ui := exec.Command(node, "ui.mjs")
	ui.Env = append(proc.BaseEnv(t), "WEB_URL="+web, "SCREENSHOTS="+shots)
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

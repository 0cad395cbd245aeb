package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/jwkstest"
	"todo-api/internal/logbuf"
	"todo-api/internal/testpg"
)

func TestMain(m *testing.M) {
	code := testpg.Run(m)
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds the service once per test run, as a user would.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "todo-api-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "todo-api")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
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

// start runs the binary in an empty directory (no .env) with only env set,
// and returns it with a reader over its stderr.
func start(t *testing.T, bin string, env ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd, bufio.NewReader(stderr)
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s never became healthy", base)
}

// TestFreshStart is the newcomer's first minute: `go run .` with nothing
// configured starts on SQLite and prints a token and curl lines that work
// when pasted into a shell.
func TestFreshStart(t *testing.T) {
	bin := binary(t)
	port := freePort(t)
	cmd, stderr := start(t, bin, "PORT="+port)
	var banner strings.Builder
	var curls []string
	for len(curls) < 2 {
		line, err := stderr.ReadString('\n')
		banner.WriteString(line)
		if err != nil {
			t.Fatalf("start-up output ended early: %v\n%s", err, banner.String())
		}
		if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
			curls = append(curls, strings.TrimSpace(line))
		}
	}
	for _, want := range []string{"http://localhost:" + port, "sqlite", "todo.db", `"demo"`} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, banner.String())
		}
	}
	waitHealthy(t, "http://127.0.0.1:"+port)
	if _, err := os.Stat(filepath.Join(cmd.Dir, "todo.db")); err != nil {
		t.Errorf("no SQLite file in the working directory: %v", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the printed lines cannot be pasted here")
	}
	created, err := exec.Command("sh", "-c", curls[0]).Output()
	if err != nil || !bytes.Contains(created, []byte(`"title":"Buy milk"`)) || !bytes.Contains(created, []byte(`"user_id":"demo"`)) {
		t.Fatalf("pasted create: %v %s", err, created)
	}
	listed, err := exec.Command("sh", "-c", curls[1]).Output()
	if err != nil || !bytes.HasPrefix(listed, []byte(`[{"id":1,`)) {
		t.Fatalf("pasted list: %v %s", err, listed)
	}

	// SIGTERM ends the service cleanly.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _ = io.Copy(io.Discard, stderr); done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("still running 15 s after SIGTERM")
	}
}

func TestStartupRefusals(t *testing.T) {
	bin := binary(t)
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"production without auth", []string{"APP_ENV=production"}, "BETTER_AUTH_SECRET"},
		{"production without a database", []string{"APP_ENV=production", "BETTER_AUTH_SECRET=" + testSecret}, "DATABASE_URL must be set"},
		{"short secret", []string{"BETTER_AUTH_SECRET=too-short"}, "at least 32 bytes"},
		{"unknown database", []string{"DATABASE_URL=mysql://localhost/x"}, "DATABASE_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The timeout only matters if a refusal regresses into a start.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Dir = t.TempDir()
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=" + freePort(t)}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("started anyway:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("message does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestTokenCommand(t *testing.T) {
	bin := binary(t)
	secret := "a-secret-of-at-least-32-bytes-0123456789"
	cmd := exec.Command(bin, "token", "-ttl", "2h", "alice")
	cmd.Dir = t.TempDir()
	// .env is read from the working directory.
	if err := os.WriteFile(filepath.Join(cmd.Dir, ".env"), []byte("BETTER_AUTH_SECRET="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(strings.TrimSpace(string(out)), &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid || claims.Subject != "alice" {
		t.Fatalf("token %q: %v %+v", out, err, claims)
	}
	if ttl := time.Until(claims.ExpiresAt.Time); ttl < 119*time.Minute || ttl > 121*time.Minute {
		t.Errorf("ttl %v, want 2h", ttl)
	}

	cmd = exec.Command(bin, "token", "alice")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "BETTER_AUTH_SECRET") {
		t.Errorf("without a secret: %v %s", err, out)
	}
}

// TestPostgresStart runs the binary on DATABASE_URL=postgres://… and uses it.
func TestPostgresStart(t *testing.T) {
	bin := binary(t)
	dsn := testpg.NewDatabase(t)
	port := freePort(t)
	secret := "a-secret-of-at-least-32-bytes-0123456789"
	_, stderr := start(t, bin, "PORT="+port, "DATABASE_URL="+dsn, "BETTER_AUTH_SECRET="+secret)
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	base := "http://127.0.0.1:" + port
	waitHealthy(t, base)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "pg-user", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/pg-user/tasks", strings.NewReader(`{"title":"on postgres"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !regexp.MustCompile(`"title":"on postgres"`).Match(body) {
		t.Fatalf("create on postgres: %d %s", res.StatusCode, body)
	}
	r, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("readyz: %d", r.StatusCode)
	}
}

// TestBetterAuthDownAtStart runs the binary with BETTER_AUTH_URL naming a
// port nobody listens on: it starts, logs its verification modes, says on
// /readyz why it is not ready, serves HS256 tokens, and once Better Auth
// comes up at that address accepts its tokens without a restart.
func TestBetterAuthDownAtStart(t *testing.T) {
	bin := binary(t)
	port := freePort(t)
	authAddr := "127.0.0.1:" + freePort(t)
	authURL := "http://" + authAddr
	secret := "a-secret-of-at-least-32-bytes-0123456789"

	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir, "PORT=" + port,
		"BETTER_AUTH_URL=" + authURL, "BETTER_AUTH_SECRET=" + secret}
	var logs logbuf.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("service output:\n%s", logs.String())
		}
	})
	base := "http://127.0.0.1:" + port
	waitHealthy(t, base)

	var verification struct {
		Modes          []string `json:"modes"`
		JWKSURL        string   `json:"jwks_url"`
		JWKSAlgorithms []string `json:"jwks_algorithms"`
		Issuer         string   `json:"issuer"`
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"token verification"`) {
			if err := json.Unmarshal([]byte(line), &verification); err != nil {
				t.Fatal(err)
			}
		}
	}
	if strings.Join(verification.Modes, ",") != "hs256 (BETTER_AUTH_SECRET),jwks" || verification.JWKSURL != authURL+"/api/auth/jwks" ||
		len(verification.JWKSAlgorithms) != 5 || verification.Issuer != authURL {
		t.Errorf("start-up log: %+v", verification)
	}

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "jwks fetch failed"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed fetch logged")
		}
	}
	if status, body := get("/readyz", ""); status != 503 || !strings.Contains(body, "JWKS") || !strings.Contains(body, "unreachable") {
		t.Errorf("readyz while Better Auth is down: %d %s", status, body)
	}
	claims := jwt.MapClaims{"sub": "alice", "iss": authURL, "aud": authURL, "exp": time.Now().Add(15 * time.Minute).Unix()}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := get("/api/alice/tasks", hs); status != 200 {
		t.Errorf("HS256 token while Better Auth is down: %d %s", status, body)
	}
	key := jwkstest.NewKey(t, "EdDSA", "better-auth-key")
	ba := key.Sign(t, claims)
	if status, _ := get("/api/alice/tasks", ba); status != 401 {
		t.Errorf("Better Auth token with no keys loaded: %d, want 401", status)
	}

	ln, err := net.Listen("tcp", authAddr)
	if err != nil {
		t.Fatal(err)
	}
	jwkstest.NewServerOn(t, ln, key)
	begin := time.Now()
	for {
		status, _ := get("/api/alice/tasks", ba)
		if status == 200 {
			break
		}
		if time.Since(begin) > 30*time.Second {
			t.Fatalf("Better Auth token still %d 30 s after its JWKS came up", status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("Better Auth token accepted %v after the JWKS came up", time.Since(begin).Round(time.Millisecond))
	if status, body := get("/readyz", ""); status != 200 {
		t.Errorf("readyz after recovery: %d %s", status, body)
	}
}

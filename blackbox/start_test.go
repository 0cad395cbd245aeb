package blackbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/testpg"
)

// TestFreshStart is the newcomer's first minute: `go run .` with nothing
// configured starts on SQLite and prints a token and curl lines that work
// when pasted into a shell.
func TestFreshStart(t *testing.T) {
	svc := launch(t, spec{noSecret: true})
	banner, curls := welcome(t, svc)
	for _, want := range []string{"http://localhost:" + svc.port, "sqlite", "todo.db", `"demo"`} {
		if !strings.Contains(banner, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, banner)
		}
	}
	svc.live()
	if _, err := os.Stat(filepath.Join(svc.cmd.Dir, "todo.db")); err != nil {
		t.Errorf("no SQLite file in the working directory: %v", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the printed lines cannot be pasted here")
	}
	created, err := exec.Command("sh", "-c", curls[0]).Output()
	if err != nil || !strings.Contains(string(created), `"title":"Buy milk"`) || !strings.Contains(string(created), `"user_id":"demo"`) {
		t.Fatalf("pasted create: %v %s", err, created)
	}
	listed, err := exec.Command("sh", "-c", curls[1]).Output()
	if err != nil || !strings.HasPrefix(string(listed), `[{"id":1,`) {
		t.Fatalf("pasted list: %v %s", err, listed)
	}

	// SIGTERM ends the service cleanly.
	if err := svc.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// welcome waits for the development welcome on stderr and returns it up to
// its second curl line, and the first two curl lines.
func welcome(t *testing.T, svc *service) (string, []string) {
	t.Helper()
	var banner strings.Builder
	var curls []string
	printed := eventually(readyWithin, func() bool {
		ended := svc.exited()
		banner.Reset()
		curls = curls[:0]
		text := svc.stderr.String()
		for len(curls) < 2 {
			line, rest, complete := strings.Cut(text, "\n")
			if !complete {
				break
			}
			text = rest
			banner.WriteString(line + "\n")
			if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
				curls = append(curls, strings.TrimSpace(line))
			}
		}
		if len(curls) < 2 && ended {
			t.Fatalf("start-up output ended early: %v\n%s", svc.err, svc.stderr.String())
		}
		return len(curls) == 2
	})
	if !printed {
		t.Fatalf("no two curl lines within %v:\n%s", readyWithin, svc.stderr.String())
	}
	return banner.String(), curls
}

func TestStartupRefusals(t *testing.T) {
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
			// The deadline only matters if a refusal regresses into a start.
			r := runOnce(t, spec{noSecret: true, env: append([]string{"PORT=" + freePort(t)}, tc.env...)}, 20*time.Second)
			if r.err == nil || r.timedOut {
				t.Fatalf("started anyway:\n%s", r.output)
			}
			if !strings.Contains(r.output, tc.want) {
				t.Errorf("message does not name %q:\n%s", tc.want, r.output)
			}
		})
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	// .env is read from the working directory.
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("BETTER_AUTH_SECRET="+testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runOnce(t, spec{args: []string{"token", "-ttl", "2h", "alice"}, dir: dir, noSecret: true}, 20*time.Second)
	if r.err != nil {
		t.Fatalf("token: %v\n%s", r.err, r.output)
	}
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(strings.TrimSpace(r.stdout), &claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid || claims.Subject != "alice" {
		t.Fatalf("token %q: %v %+v", r.stdout, err, claims)
	}
	if ttl := time.Until(claims.ExpiresAt.Time); ttl < 119*time.Minute || ttl > 121*time.Minute {
		t.Errorf("ttl %v, want 2h", ttl)
	}

	r = runOnce(t, spec{args: []string{"token", "alice"}, noSecret: true}, 20*time.Second)
	if r.err == nil || !strings.Contains(r.output, "BETTER_AUTH_SECRET") {
		t.Errorf("without a secret: %v %s", r.err, r.output)
	}
}

// TestPostgresStart runs the binary on DATABASE_URL=postgres://… and uses it.
func TestPostgresStart(t *testing.T) {
	svc := launch(t, spec{env: []string{"DATABASE_URL=" + testpg.NewDatabase(t)}})
	svc.live()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "pg-user", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	r := svc.do("POST", "/api/pg-user/tasks", tok, `{"title":"on postgres"}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.status != 201 || !regexp.MustCompile(`"title":"on postgres"`).MatchString(r.body) {
		t.Fatalf("create on postgres: %d %s", r.status, r.body)
	}
	r = svc.do("GET", "/readyz", "", nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.status != 200 {
		t.Fatalf("readyz: %d", r.status)
	}
}

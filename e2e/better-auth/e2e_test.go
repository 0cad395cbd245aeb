//go:build e2e

// Package betterauth_test drives todo-api with tokens minted by a real Better
// Auth server (server.mjs, its JWT plugin, PostgreSQL through pg), once per
// signing algorithm the plugin offers.
//
// It needs Node.js (>= 20.19), `npm ci` run in this directory, and the
// PostgreSQL server binaries (internal/testpg starts a throwaway cluster),
// so it is behind the e2e build tag; .ci/run runs it with
//
//	(cd e2e/better-auth && npm ci) && go test -tags e2e ./e2e/...
package betterauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"todo-api/e2e/internal/proc"
	"todo-api/internal/jwkstest"
	"todo-api/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

// algorithms are those Better Auth's JWT plugin can sign with; EdDSA is its
// default and the one the extra checks (rotation, removal) run with.
var algorithms = []string{"EdDSA", "ES256", "ES512", "PS256", "RS256"}

func TestBetterAuthEndToEnd(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; this test needs Node.js >= 20.19")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "better-auth", "package.json")); err != nil {
		t.Fatal("better-auth is not installed: run npm ci in e2e/better-auth")
	}
	t.Logf("better-auth %s, pg %s, node %s", packageVersion(t, "better-auth"), packageVersion(t, "pg"), nodeVersion(t, node))
	bin := proc.BuildAPI(t)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) { endToEnd(t, node, bin, alg) })
	}
}

func endToEnd(t *testing.T, node, bin, alg string) {
	authDB := testpg.NewDatabase(t)
	authURL := "http://127.0.0.1:" + proc.FreePort(t)
	proc.Start(t, "better-auth", "listening on", exec.Command(node, "server.mjs"),
		"DATABASE_URL="+authDB, "BETTER_AUTH_URL="+authURL, "BETTER_AUTH_SECRET="+proc.RandomHex(32), "JWT_ALG="+alg)

	alice := signUp(t, authURL, "alice")
	bob := signUp(t, authURL, "bob")
	observeToken(t, authURL, alice, alg)

	// todo-api with only BETTER_AUTH_URL for auth.
	apiURL := "http://127.0.0.1:" + proc.FreePort(t)
	api := exec.Command(bin)
	api.Dir = t.TempDir() // no .env from the checkout
	proc.Start(t, "todo-api", `"msg":"listening"`, api,
		"PORT="+strings.TrimPrefix(apiURL, "http://127.0.0.1:"), "DATABASE_URL="+testpg.NewDatabase(t), "BETTER_AUTH_URL="+authURL)
	proc.Eventually(t, 20*time.Second, "todo-api ready (JWKS loaded)", func() bool {
		status, _ := call(t, "GET", apiURL+"/readyz", "", nil)
		return status == 200
	})

	do := func(u *user, method, path string, body any) (int, []byte) {
		return call(t, method, apiURL+"/api/"+path, u.token, body)
	}
	type task struct {
		ID        int64  `json:"id"`
		UserID    string `json:"user_id"`
		Title     string `json:"title"`
		Completed bool   `json:"completed"`
	}
	ids := map[*user]int64{}
	for _, u := range []*user{alice, bob} {
		status, body := do(u, "POST", u.id+"/tasks", map[string]any{"title": u.name + "'s task"})
		var created task
		if status != 201 || json.Unmarshal(body, &created) != nil || created.UserID != u.id {
			t.Fatalf("%s create: %d %s", u.name, status, body)
		}
		ids[u] = created.ID
		status, body = do(u, "GET", u.id+"/tasks", nil)
		var list []task
		if status != 200 || json.Unmarshal(body, &list) != nil || len(list) != 1 || list[0].ID != created.ID {
			t.Fatalf("%s list: %d %s", u.name, status, body)
		}
		status, body = do(u, "PATCH", fmt.Sprintf("%s/tasks/%d/toggle", u.id, created.ID), nil)
		var toggled task
		if status != 200 || json.Unmarshal(body, &toggled) != nil || !toggled.Completed {
			t.Fatalf("%s toggle: %d %s", u.name, status, body)
		}
	}

	// Bob on Alice's path: 403; on Alice's task through his own path: 404,
	// the same answer as a task that does not exist.
	for _, method := range []string{"GET", "POST"} {
		if status, body := do(bob, method, alice.id+"/tasks", map[string]any{"title": "x"}); status != 403 {
			t.Errorf("bob %s on alice's path: %d %s", method, status, body)
		}
	}
	aliceTask := fmt.Sprintf("%s/tasks/%d", bob.id, ids[alice])
	for _, r := range []struct{ method, suffix string }{{"GET", ""}, {"PATCH", "/toggle"}, {"DELETE", ""}} {
		if status, body := do(bob, r.method, aliceTask+r.suffix, nil); status != 404 {
			t.Errorf("bob %s on alice's task id: %d %s", r.method, status, body)
		}
	}

	// One flipped byte in the signature: 401.
	forged := *alice
	forged.token = flipSignatureByte(t, alice.token)
	if status, body := do(&forged, "GET", alice.id+"/tasks", nil); status != 401 {
		t.Errorf("token with a flipped signature byte: %d %s", status, body)
	}

	for _, u := range []*user{alice, bob} {
		if status, body := do(u, "DELETE", fmt.Sprintf("%s/tasks/%d", u.id, ids[u]), nil); status != 204 {
			t.Errorf("%s delete: %d %s", u.name, status, body)
		}
		if status, body := do(u, "GET", u.id+"/tasks", nil); status != 200 || string(body) != "[]" {
			t.Errorf("%s list after delete: %d %s", u.name, status, body)
		}
	}
	if alg == "EdDSA" {
		agents(t, apiURL, authURL, alice, bob) // mcp_test.go
		rotation(t, authURL, authDB, alice, func(tok string) int {
			status, _ := call(t, "GET", apiURL+"/api/"+alice.id+"/tasks", tok, nil)
			return status
		})
	}
}

// rotation expires Better Auth's signing key in its database, as its
// rotationInterval would: the next token comes with a new key and kid, which
// todo-api must accept within 15 s. Then it deletes the old key from the
// database: once a refresh has happened, the old key's tokens are refused.
func rotation(t *testing.T, authURL, authDB string, u *user, status func(string) int) {
	oldToken := u.token
	oldKid := header(t, oldToken)["kid"]
	ctx := context.Background()
	db, err := pgx.Connect(ctx, authDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `UPDATE jwks SET "expiresAt" = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	newToken := fetchToken(t, authURL, u)
	newKid := header(t, newToken)["kid"]
	if newKid == oldKid {
		t.Fatalf("Better Auth kept kid %v after its key expired", oldKid)
	}
	begin := time.Now()
	proc.Eventually(t, 15*time.Second, "token with the rotated-in kid accepted", func() bool { return status(newToken) == 200 })
	t.Logf("rotation: kid %v -> %v, accepted after %v", oldKid, newKid, time.Since(begin).Round(time.Millisecond))
	if got := status(oldToken); got != 200 {
		t.Errorf("old key, still in the JWKS grace period, refused: %d", got)
	}

	if _, err := db.Exec(ctx, `DELETE FROM jwks WHERE id = $1`, oldKid); err != nil {
		t.Fatal(err)
	}
	// Any unknown kid makes todo-api refresh; a made-up one will do.
	probe := jwkstest.NewKey(t, "EdDSA", "probe-"+proc.RandomHex(4)).Sign(t, jwt.MapClaims{"sub": u.id, "exp": time.Now().Add(time.Minute).Unix()})
	proc.Eventually(t, 15*time.Second, "removed key refused", func() bool {
		_ = status(probe)
		return status(oldToken) == 401
	})
	if got := status(newToken); got != 200 {
		t.Errorf("current key refused after the old one was removed: %d", got)
	}
}

// user is a Better Auth account and the JWT it was issued.
type user struct {
	name, id string
	client   *http.Client // carries the session cookie
	token    string
}

// signUp creates an account through Better Auth's real endpoint and fetches
// its JWT from /api/auth/token with the session cookie.
func signUp(t *testing.T, authURL, name string) *user {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &user{name: name, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	body, _ := json.Marshal(map[string]string{"name": name, "email": name + "@example.com", "password": "correct horse battery staple"})
	req, _ := http.NewRequest("POST", authURL+"/api/auth/sign-up/email", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", authURL)
	res, err := u.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.User.ID == "" {
		t.Fatalf("sign-up %s: %d %s", name, res.StatusCode, raw)
	}
	u.id = out.User.ID
	u.token = fetchToken(t, authURL, u)
	return u
}

func fetchToken(t *testing.T, authURL string, u *user) string {
	t.Helper()
	res, err := u.client.Get(authURL + "/api/auth/token")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.Token == "" {
		t.Fatalf("GET /api/auth/token for %s: %d %s", u.name, res.StatusCode, raw)
	}
	return out.Token
}

// observeToken checks, and logs for the README, what Better Auth's tokens
// and key set look like: the header, the claims, the lifetime, the JWK, and
// the set-auth-jwt header of get-session.
func observeToken(t *testing.T, authURL string, u *user, alg string) {
	t.Helper()
	h, c := header(t, u.token), payload(t, u.token)
	if h["alg"] != alg || h["kid"] == nil {
		t.Errorf("token header %v, want alg %s and a kid", h, alg)
	}
	if c["sub"] != u.id || c["iss"] != authURL || c["aud"] != authURL {
		t.Errorf("claims sub=%v iss=%v aud=%v, want %s and %s twice", c["sub"], c["iss"], c["aud"], u.id, authURL)
	}
	exp, _ := c["exp"].(float64)
	iat, _ := c["iat"].(float64)
	if exp-iat != 900 {
		t.Errorf("token lives %vs, want 900 (15 min)", exp-iat)
	}
	claimNames := make([]string, 0, len(c))
	for k := range c {
		claimNames = append(claimNames, k)
	}
	slices.Sort(claimNames)
	t.Logf("token header %v; claims %v; lifetime %vs", h, claimNames, exp-iat)

	res, err := http.Get(authURL + "/api/auth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %s", raw)
	}
	fields := make([]string, 0, len(set.Keys[0]))
	for k := range set.Keys[0] {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	t.Logf("JWKS entry fields %v (kty %v, alg %v, crv %v)", fields, set.Keys[0]["kty"], set.Keys[0]["alg"], set.Keys[0]["crv"])
	if set.Keys[0]["kid"] != h["kid"] {
		t.Errorf("JWKS kid %v, token kid %v", set.Keys[0]["kid"], h["kid"])
	}

	res, err = u.client.Get(authURL + "/api/auth/get-session")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if jwtHeader := res.Header.Get("set-auth-jwt"); jwtHeader == "" || header(t, jwtHeader)["kid"] != h["kid"] {
		t.Errorf("get-session set-auth-jwt header %q", jwtHeader)
	}
}

func decodeSegment(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	var m map[string]any
	if err != nil || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("segment %d of %q: %v", i, token, err)
	}
	return m
}

func header(t *testing.T, token string) map[string]any  { return decodeSegment(t, token, 0) }
func payload(t *testing.T, token string) map[string]any { return decodeSegment(t, token, 1) }

// flipSignatureByte changes one bit of the signature's first byte.
func flipSignatureByte(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[0] ^= 0x01
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func packageVersion(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("node_modules", name, "package.json"))
	var p struct {
		Version string `json:"version"`
	}
	if err != nil || json.Unmarshal(raw, &p) != nil {
		t.Fatalf("reading %s's package.json: %v", name, err)
	}
	return p.Version
}

func nodeVersion(t *testing.T, node string) string {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

package blackbox_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/jwkstest"
)

// TestBetterAuthDownAtStart runs the binary with BETTER_AUTH_URL naming a
// port nobody listens on: it starts, logs its verification modes, says on
// /readyz why it is not ready, serves HS256 tokens, and once Better Auth
// comes up at that address accepts its tokens without a restart.
func TestBetterAuthDownAtStart(t *testing.T) {
	authAddr := "127.0.0.1:" + freePort(t)
	authURL := "http://" + authAddr
	svc := launch(t, spec{env: []string{"BETTER_AUTH_URL=" + authURL}})
	svc.live() // not ready: /readyz says 503 until the JWKS is fetched
	checkVerificationLog(t, svc, authURL)

	claims := jwt.MapClaims{"sub": "alice", "iss": authURL, "aud": authURL, "exp": time.Now().Add(15 * time.Minute).Unix()}
	key := jwkstest.NewKey(t, "EdDSA", "better-auth-key")
	ba := key.Sign(t, claims)
	whileBetterAuthIsDown(t, svc, claims, ba)

	ln, err := net.Listen("tcp", authAddr)
	if err != nil {
		t.Fatal(err)
	}
	jwkstest.NewServerOn(t, ln, key)
	begin := time.Now()
	var status int
	if !eventually(30*time.Second, func() bool {
		r := svc.do("GET", "/api/alice/tasks", ba, nil)
		if r.err != nil {
			t.Fatal(r.err)
		}
		status = r.status
		return status == 200
	}) {
		t.Fatalf("Better Auth token still %d 30 s after its JWKS came up", status)
	}
	t.Logf("Better Auth token accepted %v after the JWKS came up", time.Since(begin).Round(time.Millisecond))
	if r := svc.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("readyz after recovery: %d %s", r.status, r.body)
	}
}

// checkVerificationLog reads the start-up line that lists how tokens are
// verified.
func checkVerificationLog(t *testing.T, svc *service, authURL string) {
	t.Helper()
	var verification struct {
		Modes          []string `json:"modes"`
		JWKSURL        string   `json:"jwks_url"`
		JWKSAlgorithms []string `json:"jwks_algorithms"`
		Issuer         string   `json:"issuer"`
	}
	for _, line := range strings.Split(svc.out.String(), "\n") {
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
}

// whileBetterAuthIsDown: /readyz names the JWKS, HS256 tokens work, and a
// Better Auth token (ba) is refused, there being no keys to check it with.
func whileBetterAuthIsDown(t *testing.T, svc *service, claims jwt.MapClaims, ba string) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return strings.Contains(svc.out.String(), "jwks fetch failed") }) {
		t.Fatal("no failed fetch logged")
	}
	if r := svc.do("GET", "/readyz", "", nil); r.err != nil || r.status != 503 || !strings.Contains(r.body, "JWKS") || !strings.Contains(r.body, "unreachable") {
		t.Errorf("readyz while Better Auth is down: %v %d %s", r.err, r.status, r.body)
	}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if r := svc.do("GET", "/api/alice/tasks", hs, nil); r.status != 200 {
		t.Errorf("HS256 token while Better Auth is down: %d %s", r.status, r.body)
	}
	if r := svc.do("GET", "/api/alice/tasks", ba, nil); r.status != 401 {
		t.Errorf("Better Auth token with no keys loaded: %d, want 401", r.status)
	}
}

package blackbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"todo-api/internal/testpg"
)

// TestDatabaseOutage stops the PostgreSQL server under the running service
// and starts it again: meanwhile every request that needs the database gets
// a 503 problem within DB_TIMEOUT (never a hang, never a 500, never driver
// text), /healthz stays up, /readyz names the database, and afterwards the
// same process serves again without a restart.
func TestDatabaseOutage(t *testing.T) {
	const dbTimeout = time.Second
	cluster := testpg.NewCluster(t)
	svc := start(t, "DATABASE_URL="+cluster.NewDatabase(t), "DB_TIMEOUT="+dbTimeout.String(), "RATE_LIMIT_PER_MINUTE=0")
	alice := token(t, "alice")
	if r := svc.do("POST", "/api/alice/tasks", alice, titleBody("before the outage")); r.err != nil || r.status != 201 {
		t.Fatalf("create: %v %+v", r.err, r)
	}

	cluster.Stop(t)
	for round := range 3 { // several rounds: pooled connections die one by one
		duringOutage(t, svc, alice, round, dbTimeout)
	}

	cluster.Start(t)
	var r reply
	if !eventually(20*time.Second, func() bool {
		r = svc.do("GET", "/api/alice/tasks", alice, nil)
		return r.err == nil && r.status == 200
	}) {
		t.Fatalf("not serving 20 s after the database came back: %v %+v", r.err, r)
	}
	if !strings.Contains(r.body, "before the outage") {
		t.Errorf("list after recovery: %s", r.body)
	}
	if r := svc.do("POST", "/api/alice/tasks", alice, titleBody("after the outage")); r.err != nil || r.status != 201 {
		t.Errorf("create after recovery: %v %+v", r.err, r)
	}
	if r := svc.do("GET", "/readyz", "", nil); r.err != nil || r.status != 200 {
		t.Errorf("readyz after recovery: %v %+v", r.err, r)
	}
	if svc.exited() {
		t.Fatalf("the service exited: %v", svc.err)
	}
	if strings.Contains(svc.out.String(), `"status":500`) {
		t.Error("a request was answered 500 during the outage")
	}
}

// duringOutage is one round of requests while the database is down: those
// that need it get a 503 problem that hides the cause, within DB_TIMEOUT;
// /healthz answers 200.
func duringOutage(t *testing.T, svc *service, alice string, round int, dbTimeout time.Duration) {
	t.Helper()
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/api/alice/tasks", ""},
		{"POST", "/api/alice/tasks", titleBody("during the outage")},
		{"GET", "/readyz", ""},
	} {
		start := time.Now()
		r := svc.do(req.method, req.path, alice, req.body)
		took := time.Since(start)
		if r.err != nil {
			t.Fatalf("round %d %s %s: %v", round, req.method, req.path, r.err)
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("round %d %s %s: %d %s %s", round, req.method, req.path, r.status, r.header.Get("Content-Type"), r.body)
		}
		if took > dbTimeout+2*time.Second {
			t.Errorf("round %d %s %s took %v, DB_TIMEOUT is %v", round, req.method, req.path, took, dbTimeout)
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Status != 503 || p.Detail == "" {
			t.Errorf("round %d: body %s", round, r.body)
		}
		lower := strings.ToLower(r.body)
		for _, leak := range []string{"dial", "127.0.0.1", "sqlstate", "connect", "pgx", "postgres@"} {
			if strings.Contains(lower, leak) {
				t.Errorf("round %d: body shows %q: %s", round, leak, r.body)
			}
		}
		if req.path == "/readyz" && !strings.Contains(p.Detail, "database") {
			t.Errorf("readyz detail %q does not name the database", p.Detail)
		}
	}
	if r := svc.do("GET", "/healthz", "", nil); r.err != nil || r.status != 200 {
		t.Errorf("healthz during the outage: %v %+v", r.err, r)
	}
}

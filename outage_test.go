package main

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
	bin := binary(t)
	cluster := testpg.NewCluster(t)
	dsn := cluster.NewDatabase(t)
	in := launch(t, bin, "DATABASE_URL="+dsn, "DB_TIMEOUT="+dbTimeout.String(), "RATE_LIMIT_PER_MINUTE=0")
	in.ready()
	alice := token(t, "alice")
	client := &http.Client{Timeout: 30 * time.Second}
	tasks := in.base + "/api/alice/tasks"
	if r, err := do(client, "POST", tasks, alice, mustJSONTitle("before the outage")); err != nil || r.status != 201 {
		t.Fatalf("create: %v %+v", err, r)
	}

	cluster.Stop(t)
	for round := range 3 { // several rounds: pooled connections die one by one
		for _, req := range []struct{ method, url, body string }{
			{"GET", tasks, ""},
			{"POST", tasks, mustJSONTitle("during the outage")},
			{"GET", in.base + "/readyz", ""},
		} {
			start := time.Now()
			r, err := do(client, req.method, req.url, alice, req.body)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("round %d %s %s: %v", round, req.method, req.url, err)
			}
			if r.status != http.StatusServiceUnavailable || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("round %d %s %s: %d %s %s", round, req.method, req.url, r.status, r.header.Get("Content-Type"), r.body)
			}
			if took > dbTimeout+2*time.Second {
				t.Errorf("round %d %s %s took %v, DB_TIMEOUT is %v", round, req.method, req.url, took, dbTimeout)
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
			if strings.HasSuffix(req.url, "/readyz") && !strings.Contains(p.Detail, "database") {
				t.Errorf("readyz detail %q does not name the database", p.Detail)
			}
		}
		if r, err := do(client, "GET", in.base+"/healthz", "", ""); err != nil || r.status != 200 {
			t.Errorf("healthz during the outage: %v %+v", err, r)
		}
	}

	cluster.Start(t)
	var r reply
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		r, err = do(client, "GET", tasks, alice, "")
		if err == nil && r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving 20 s after the database came back: %v %+v", err, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(r.body, "before the outage") {
		t.Errorf("list after recovery: %s", r.body)
	}
	if r, err := do(client, "POST", tasks, alice, mustJSONTitle("after the outage")); err != nil || r.status != 201 {
		t.Errorf("create after recovery: %v %+v", err, r)
	}
	if r, err := do(client, "GET", in.base+"/readyz", "", ""); err != nil || r.status != 200 {
		t.Errorf("readyz after recovery: %v %+v", err, r)
	}
	select {
	case <-in.done:
		t.Fatalf("the service exited: %v", in.err)
	default:
	}
	if strings.Contains(in.out.String(), `"status":500`) {
		t.Error("a request was answered 500 during the outage")
	}
}

package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A nil registry is what parts of the program get when metrics are off:
// every method must be a harmless no-op.
func TestNilRegistry(t *testing.T) {
	var r *Registry
	r.RequestStarted()
	r.RequestDone("GET", "/x", 200, time.Millisecond)
	r.RateLimited("user")
	r.JWKSRefreshed(errors.New("down"))
	if err := r.Register(nil); err != nil {
		t.Error(err)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil handler: %d", rec.Code)
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(Build{Version: "a", Commit: "1"}), New(Build{Version: "b", Commit: "2"})
	a.RequestStarted()
	a.RequestDone("GET", "/x", 200, 3*time.Millisecond)
	scrape := func(r *Registry) string {
		rec := httptest.NewRecorder()
		r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	sa, sb := scrape(a), scrape(b)
	if !strings.Contains(sa, `todo_api_http_requests_total{method="GET",route="/x",status="200"} 1`) ||
		!strings.Contains(sa, `todo_api_http_requests_in_flight 0`) {
		t.Errorf("registry a:\n%s", sa)
	}
	if strings.Contains(sb, `route="/x"`) || !strings.Contains(sb, `version="b"`) {
		t.Errorf("registry b shares a's series:\n%s", sb)
	}
}

// Package metrics holds the service's Prometheus registry and the instruments
// the rest of the program updates. main builds one Registry and passes it
// around; nothing registers with the client library's global default
// registry, so tests can build as many as they like.
//
// Every method works on a nil *Registry and then does nothing, so a part of
// the program that may run without metrics (tests, sub-commands) needs no
// checks of its own.
package metrics

import (
	"database/sql"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes the service's own metric names.
const namespace = "todo_api"

// Unmatched is the route label of a request that matched no route, so that
// scanners probing random paths add one series, not one per path.
const Unmatched = "unmatched"

// Build identifies the running binary.
type Build struct {
	Version string
	Commit  string
}

// Registry is the service's metrics: HTTP traffic, database pool, build,
// rate limiting and key-set refreshes.
type Registry struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	jwksRefresh *prometheus.CounterVec
	reminders   *prometheus.CounterVec
}

// New builds a registry holding the Go runtime and process collectors, the
// build info gauge and the service's own instruments.
func New(build Build) *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from receiving a request to handing its response to the server, by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being handled right now.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused with 429, by what the limit was keyed on (user or ip).",
		}, []string{"key"}),
		jwksRefresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "jwks_refresh_total",
			Help: "Fetches of the JSON Web Key Set, by result (ok or error).",
		}, []string{"result"}),
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reminders_fired_total",
			Help: "Reminders this instance fired, by whether they were late (true or false).",
		}, []string{"late"}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": build.Version, "commit": build.Commit, "goversion": runtime.Version()},
	})
	info.Set(1)
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		info, r.requests, r.duration, r.inFlight, r.rateLimited, r.jwksRefresh, r.reminders,
	)
	return r
}

// Handler serves the registry in the Prometheus exposition formats.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		// A collector failing (say, a closed pool) should not hide the rest.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Register adds a collector of another part of the program.
func (r *Registry) Register(c prometheus.Collector) error {
	if r == nil {
		return nil
	}
	return r.reg.Register(c)
}

// WatchDB exports db's pool statistics (open, in use and idle connections,
// waits and their duration) as the go_sql_* metrics labelled db_name=name.
func (r *Registry) WatchDB(db *sql.DB, name string) error {
	return r.Register(collectors.NewDBStatsCollector(db, name))
}

// RequestStarted counts a request as in flight until RequestDone.
func (r *Registry) RequestStarted() {
	if r != nil {
		r.inFlight.Inc()
	}
}

// RequestDone records a finished request. route must be a route pattern
// (or Unmatched), never a raw path, to keep the number of series bounded.
func (r *Registry) RequestDone(method, route string, status int, took time.Duration) {
	if r == nil {
		return
	}
	r.inFlight.Dec()
	code := strconv.Itoa(status)
	r.requests.WithLabelValues(method, route, code).Inc()
	r.duration.WithLabelValues(method, route, code).Observe(took.Seconds())
}

// RateLimited counts a request refused by the rate limit; key is "user" or "ip".
func (r *Registry) RateLimited(key string) {
	if r != nil {
		r.rateLimited.WithLabelValues(key).Inc()
	}
}

// JWKSRefreshed counts one fetch of the key set; err is its outcome. The
// JWKS key source calls it, so the series exist only when JWKS is on.
func (r *Registry) JWKSRefreshed(err error) {
	if r == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	r.jwksRefresh.WithLabelValues(result).Inc()
}

// ReminderFired counts one reminder this instance fired.
func (r *Registry) ReminderFired(late bool) {
	if r != nil {
		r.reminders.WithLabelValues(strconv.FormatBool(late)).Inc()
	}
}

package agents

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times tool calls by tool name and the status of the
// REST answer behind them ("0": refused before any request). Both labels
// come from fixed sets — the tool table, HTTP status codes — never from
// arguments, so ids never become series.
type Metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics builds the instruments; register them with Collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "todo_api", Subsystem: "mcp", Name: "tool_calls_total",
			Help: "MCP tool calls, by tool and the HTTP status of the REST answer behind them (0: arguments refused).",
		}, []string{"tool", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "todo_api", Subsystem: "mcp", Name: "tool_call_duration_seconds",
			Help:    "Time an MCP tool call took, by tool.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"tool"}),
	}
}

// Collectors are the instruments, for metrics.Registry.Register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.duration}
}

func (m *Metrics) observe(tool string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(tool, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(tool).Observe(took.Seconds())
}

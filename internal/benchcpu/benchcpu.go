// Package benchcpu adds a CPU-time metric to Go benchmarks. On a shared
// machine wall-clock ns/op swings with what other processes do; the CPU
// time the benchmark process itself used per operation (user + system, GC
// included) swings far less, so benchstat comparisons of it stay meaningful.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Start begins measuring; call the returned function after the loop.
//
//	defer benchcpu.Start(b)()
func Start(b *testing.B) func() {
	b.Helper()
	start := used()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((used()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

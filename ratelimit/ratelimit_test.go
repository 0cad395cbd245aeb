package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestBucket(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(60, 3, clk.Now) // one token a second, three at once

	steps := []struct {
		advance   time.Duration
		allowed   bool
		remaining int
		reset     time.Duration
		retry     time.Duration
	}{
		{0, true, 2, time.Second, 0},
		{0, true, 1, 2 * time.Second, 0},
		{0, true, 0, 3 * time.Second, 0},
		{0, false, 0, 3 * time.Second, time.Second},
		{500 * time.Millisecond, false, 0, 2500 * time.Millisecond, 500 * time.Millisecond},
		{500 * time.Millisecond, true, 0, 3 * time.Second, 0},
		{10 * time.Second, true, 2, time.Second, 0}, // refilled to the burst, not beyond
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		d := l.Take("alice")
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.Reset != s.reset || d.RetryAfter != s.retry || d.Limit != 3 {
			t.Errorf("step %d: %+v, want allowed=%v remaining=%d reset=%v retry=%v", i, d, s.allowed, s.remaining, s.reset, s.retry)
		}
	}
	if d := l.Take("bob"); !d.Allowed || d.Remaining != 2 {
		t.Errorf("bob shares alice's bucket: %+v", d)
	}
	if w := l.Window(); w != 3*time.Second {
		t.Errorf("window %v", w)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(600, 600, clk.Now)
	l.maxPerShard = 10 // 640 keys at most

	for i := range 5000 {
		l.Take(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := l.Len(); n > 640 {
		t.Fatalf("%d buckets held, bound is 640", n)
	}

	// Idle buckets refill and are swept once a minute has passed.
	clk.Advance(2 * time.Minute)
	for i := range shardCount {
		// One new key per shard triggers each shard's sweep.
		for k := 0; ; k++ {
			key := fmt.Sprintf("late-%d-%d", i, k)
			if int(l.shardIndex(key)) == i {
				l.Take(key)
				break
			}
		}
	}
	if n := l.Len(); n != shardCount {
		t.Errorf("%d buckets after the sweep, want %d (one fresh key per shard)", n, shardCount)
	}
}

func TestConcurrentTakes(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(60, 100, clk.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if l.Take("shared").Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("%d of 400 allowed with a frozen clock, want exactly the burst of 100", allowed)
	}
}

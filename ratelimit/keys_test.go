package ratelimit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestAddressKey(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true}, // one /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2", true},
	}
	for _, tc := range cases {
		ka, kb := AddressKey(netip.MustParseAddr(tc.a)), AddressKey(netip.MustParseAddr(tc.b))
		if (ka == kb) != tc.same {
			t.Errorf("%s → %q, %s → %q: same=%v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
		}
	}
	if k := AddressKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key %q", k)
	}
}

// TestFloodKeepsExhaustedBuckets: 400,000 new keys through a full limiter
// never evict a bucket that is still exhausted, so its owner gets no fresh
// burst from the flood.
func TestFloodKeepsExhaustedBuckets(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewBounded(60, 3, 4*shardCount, clk.Now)
	for range 3 {
		l.Take("alice")
	}
	if d := l.Take("alice"); d.Allowed {
		t.Fatal("alice is not limited to begin with")
	}
	for i := range 400_000 {
		l.Take(fmt.Sprintf("flood-%d", i))
	}
	if n := l.Len(); n > 4*shardCount {
		t.Errorf("%d buckets held, bound is %d", n, 4*shardCount)
	}
	if d := l.Take("alice"); d.Allowed || d.Remaining != 0 {
		t.Errorf("after the flood alice has a fresh bucket: %+v", d)
	}
}

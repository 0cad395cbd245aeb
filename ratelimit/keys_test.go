package ratelimit

import (
	"fmt"
	"io"
	"net"
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

func TestLimitConns(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusal := []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	ln := LimitConns(raw, 2, refusal)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first, _ := dial(), dial()
	server := <-accepted
	<-accepted

	over := dial()
	_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(over); string(got) != string(refusal) || err != nil {
		t.Errorf("third connection got %q (%v), want the refusal and a close", got, err)
	}
	select {
	case c := <-accepted:
		t.Fatalf("the server was handed a connection over the cap from %v", c.RemoteAddr())
	default:
	}

	// A closed connection frees its place, once however often it is closed.
	server.Close()
	server.Close()
	first.Close()
	dial()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a connection within the cap again was not accepted")
	}
	if lc := ln.(*connLimiter); lc.open["127.0.0.1"] != 2 {
		t.Errorf("%d counted open, want 2", lc.open["127.0.0.1"])
	}
	if LimitConns(raw, 0, refusal) != raw {
		t.Error("a cap of 0 wraps the listener")
	}
}

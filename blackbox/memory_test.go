package blackbox_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/internal/bombtest"
)

// The memory tests attack the built binary and read its resident memory
// from /proc: what a 256 MiB machine would feel, garbage collector and all.

const (
	mib = 1 << 20
	// memoryBudget is what the process may reach under each attack.
	memoryBudget = 100 * mib
	// memoryKill ends an attack that has already lost, before it takes the
	// memory of the machine the tests share.
	memoryKill = 1024 * mib
)

// serveBinary starts the built binary with env, logging only warnings.
func serveBinary(t *testing.T, env ...string) *service {
	t.Helper()
	return start(t, append([]string{"LOG_LEVEL=warn"}, env...)...)
}

// memory reads VmRSS (resident now) and VmHWM (the peak) of pid, in bytes.
func memory(pid int) (rss, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// watch samples the service's memory until stop is called and kills the
// process if it passes memoryKill; stop returns the peak.
func (s *service) watch(t *testing.T) (stop func() int64) {
	t.Helper()
	done := make(chan struct{})
	var killed atomic.Bool
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if rss, _, err := memory(s.cmd.Process.Pid); err == nil && rss > memoryKill {
				killed.Store(true)
				_ = s.cmd.Process.Kill()
				return
			}
		}
	}()
	return func() int64 {
		close(done)
		_, peak, err := memory(s.cmd.Process.Pid)
		if killed.Load() {
			t.Errorf("killed at over %d MiB resident", memoryKill/mib)
			return memoryKill
		}
		if err != nil {
			t.Fatal(err)
		}
		return peak
	}
}

// TestBombMemory: 64 concurrent compressed bodies of under 64 KiB that
// inflate to 64 MiB each (16 of each encoding) leave the process under
// 100 MiB, and each is refused with 415.
func TestBombMemory(t *testing.T) {
	const n = 64
	encodings := bombtest.Encodings()
	bombs := map[string][]byte{}
	for _, enc := range encodings {
		b, err := bombtest.Make(enc)
		if err != nil {
			t.Fatal(err)
		}
		bombs[enc] = b
	}
	// The bombs, not the per-address connection cap, are under test: 64
	// connections beside the harness's own would meet the default cap of 64.
	s := serveBinary(t, "HTTP_MAX_CONNS_PER_IP=1000")
	_, before, _ := memory(s.cmd.Process.Pid)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bomber", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	stop := s.watch(t)
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := encodings[i%len(encodings)]
			req, _ := http.NewRequest("POST", s.base+"/api/bomber/tasks", bytes.NewReader(bombs[enc]))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", enc)
			res, err := client.Do(req)
			if err != nil {
				answers[i] = enc + ": " + err.Error()
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			answers[i] = fmt.Sprintf("%s: %d %s", enc, res.StatusCode, res.Header.Get("Content-Type"))
		}()
	}
	wg.Wait()
	peak := stop()
	t.Logf("%d bombs: peak RSS %.1f MiB (%.1f MiB before the attack)", n, float64(peak)/mib, float64(before)/mib)
	if peak > memoryBudget {
		t.Errorf("peak RSS %.1f MiB, budget %d MiB", float64(peak)/mib, memoryBudget/mib)
	}
	for _, a := range answers {
		if enc, _, _ := strings.Cut(a, ":"); a != enc+": 415 application/problem+json" {
			t.Errorf("answer %s, want 415 problem+json", a)
		}
	}
}

// held is a set of connections an attack keeps open.
type held struct {
	conns   []net.Conn
	refused int
}

// open dials n connections to s and sends each head; with read set, each
// reads its answer (a keep-alive connection left idle after one request).
func (s *service) open(t *testing.T, n int, head string, read bool) *held {
	t.Helper()
	h := &held{}
	t.Cleanup(func() {
		for _, c := range h.conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", s.addrPort())
		if err != nil {
			t.Fatalf("dial after %d connections: %v", len(h.conns), err)
		}
		h.conns = append(h.conns, c)
		if _, err := io.WriteString(c, head); err != nil {
			h.refused++
			continue
		}
		if read {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || res.StatusCode != 200 {
				h.refused++
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
		}
	}
	return h
}

// settle waits until the service's memory stops growing (or 3 s pass) and
// returns it then.
func (s *service) settle() (rss, peak int64) {
	var last int64
	for i := 0; i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		rss, peak, _ = memory(s.cmd.Process.Pid)
		if i >= 5 && rss-last < 256<<10 {
			break
		}
		last = rss
	}
	return rss, peak
}

// stillOpen counts the connections the service still holds open: those
// that neither got an answer nor were closed. A connection that is silent
// at first is asked again after a pause, since on a loaded machine the
// refusal of one over the cap may still be on its way.
func (h *held) stillOpen() int {
	silent := func(c net.Conn) bool {
		buf := make([]byte, 1)
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf)
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	var first []net.Conn
	for _, c := range h.conns {
		if silent(c) {
			first = append(first, c)
		}
	}
	time.Sleep(200 * time.Millisecond)
	open := 0
	for _, c := range first {
		if silent(c) {
			open++
		}
	}
	return open
}

// TestPreAuthMemory: 800 connections without a token, each having sent
// only the head of a request, or one request and then nothing, cost the
// process little: the body is neither allocated from its declared length
// nor read before the token is checked, and idle connections are cheap.
// With the per-address cap lifted, all 800 are held and RSS stays under
// 100 MiB; with the default cap, all but the first 64 are turned away.
func TestPreAuthMemory(t *testing.T) {
	const n = 800
	post := func(length int) string {
		return fmt.Sprintf("POST /api/someone/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", length)
	}
	lifted := []string{"HTTP_MAX_CONNS_PER_IP=1000"}
	cases := []struct {
		name     string
		env      []string
		head     string
		read     bool
		wantOpen int
	}{
		{"headers declaring a 1 MiB body", lifted, post(1 << 20), false, n},
		{"headers declaring a 64 KiB body", lifted, post(64 << 10), false, n},
		{"idle keep-alive after GET /healthz", lifted, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", true, n},
		{"headers declaring a 1 MiB body, default connection cap", nil, post(1 << 20), false, 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := serveBinary(t, tc.env...)
			before, _, _ := memory(s.cmd.Process.Pid)
			stop := s.watch(t)
			h := s.open(t, n, tc.head, tc.read)
			rss, _ := s.settle()
			open := h.stillOpen()
			peak := stop()
			t.Logf("%d connections: %d held open; RSS %.1f MiB (peak %.1f, %.1f before)", n, open, float64(rss)/mib, float64(peak)/mib, float64(before)/mib)
			if peak > memoryBudget {
				t.Errorf("peak RSS %.1f MiB, budget %d MiB", float64(peak)/mib, memoryBudget/mib)
			}
			if open != tc.wantOpen {
				t.Errorf("%d connections held open, want %d", open, tc.wantOpen)
			}
		})
	}
}

// addrPort is the service's host:port on loopback.
func (s *service) addrPort() string { return "127.0.0.1:" + s.port }

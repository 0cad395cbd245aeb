// Command streams is the event stream's load test: it opens many
// concurrent event streams over many users on one or more instances,
// drives the mixed workload (60 % list, 20 % get, 15 % toggle, 5 % create)
// at a steady rate beside them, and reports how long each acknowledged
// write took to reach every open stream of its owner, and whether any
// stream missed one or got one twice.
//
//	go run ./bench/streams -urls http://127.0.0.1:8080,http://127.0.0.1:8081 \
//	    -data bench/out -streams 5000 -users 1000 -rate 500 -duration 30s -pids 123,456
//
// Data: tokens.txt and task_ids.txt as bench/seed.py writes them. The
// target needs HTTP_MAX_CONNS_PER_IP=0 (every stream comes from 127.0.0.1)
// and an EVENTS_PER_USER of at least streams/users.
//
// Delivery latency is from the moment the write's response arrived to the
// moment a stream read the event with the same task id and version. A
// stream counts as having missed a write when, by the end, it has seen no
// event of that task at that version or later (the change feed sends a
// task once in its latest state, so a later version covers an earlier
// one); only streams that were ready before the write was sent and stayed
// open to the end are asked. A duplicate is the same task id and version
// read twice on one stream.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	urls := flag.String("urls", "http://127.0.0.1:8080", "comma-separated base URLs of the instances; streams and writes are spread over them")
	data := flag.String("data", "bench/out", "directory with tokens.txt and task_ids.txt")
	streams := flag.Int("streams", 5000, "event streams to hold open")
	users := flag.Int("users", 1000, "users the streams and the load are spread over (the first of tokens.txt)")
	rate := flag.Float64("rate", 500, "requests per second of the mixed workload (open loop)")
	duration := flag.Duration("duration", 30*time.Second, "how long the load runs once every stream is ready")
	grace := flag.Duration("grace", 3*time.Second, "how long to wait for events after the last write")
	pids := flag.String("pids", "", "comma-separated pids of the instances, for their peak RSS")
	flag.Parse()

	bases := strings.Split(*urls, ",")
	ds, err := load(*data, *users)
	if err != nil {
		log.Fatal(err)
	}
	r := &run{data: ds, bases: bases, writes: map[writeKey]*write{}}
	streamClient := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: -1, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	r.load = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	opened := time.Now()
	for k := range *streams {
		s := &stream{user: k % len(ds.users), versions: map[int64]int64{}, seen: map[[2]int64]bool{}, ready: make(chan struct{})}
		r.streams = append(r.streams, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.read(ctx, streamClient, bases[k%len(bases)], ds, r)
		}()
	}
	readyBy := time.After(2 * time.Minute)
	for _, s := range r.streams {
		select {
		case <-s.ready:
		case <-readyBy:
		}
	}
	ready := 0
	for _, s := range r.streams {
		if s.readyAt.Load() != 0 {
			ready++
		}
	}
	log.Printf("%d of %d streams ready in %s", ready, len(r.streams), time.Since(opened).Round(time.Millisecond))

	sent, late := r.drive(*rate, *duration)
	time.Sleep(*grace)
	stop()
	wg.Wait()
	r.report(ready, sent, late, *duration, strings.Split(*pids, ","))
}

// dataset is the seeded users, their tokens and task ids.
type dataset struct {
	users  []string
	tokens []string
	tasks  [][2]int64 // user index, task id
}

func load(dir string, n int) (*dataset, error) {
	ds := &dataset{}
	index := map[string]int{}
	err := eachPair(filepath.Join(dir, "tokens.txt"), func(user, token string) {
		if len(ds.users) < n {
			index[user] = len(ds.users)
			ds.users, ds.tokens = append(ds.users, user), append(ds.tokens, token)
		}
	})
	if err != nil {
		return nil, err
	}
	err = eachPair(filepath.Join(dir, "task_ids.txt"), func(user, id string) {
		if i, ok := index[user]; ok {
			v, _ := strconv.ParseInt(id, 10, 64)
			ds.tasks = append(ds.tasks, [2]int64{int64(i), v})
		}
	})
	if err == nil && (len(ds.users) < n || len(ds.tasks) == 0) {
		err = fmt.Errorf("%s holds %d users and %d of their tasks; want %d users", dir, len(ds.users), len(ds.tasks), n)
	}
	return ds, err
}

func eachPair(path string, fn func(a, b string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if a, b, ok := strings.Cut(sc.Text(), "\t"); ok {
			fn(a, b)
		}
	}
	return sc.Err()
}

type writeKey struct {
	user    int
	id, ver int64
}

// write is one acknowledged write of the load.
type write struct {
	sent, acked time.Time
}

type run struct {
	data    *dataset
	bases   []string
	load    *http.Client
	streams []*stream

	mu        sync.Mutex
	writes    map[writeKey]*write
	latencies []time.Duration
	loadErrs  atomic.Int64
	loadCodes sync.Map // status -> *atomic.Int64
}

// drive sends the mixed workload at rate requests per second for d, open
// loop: a request is sent at its time whether or not earlier ones returned
// (up to 512 in flight; beyond that it counts as late and is skipped).
func (r *run) drive(rate float64, d time.Duration) (sent, late int64) {
	interval := time.Duration(float64(time.Second) / rate)
	slots := make(chan struct{}, 512)
	var wg sync.WaitGroup
	start := time.Now()
	for n := int64(0); ; n++ {
		at := start.Add(time.Duration(n) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		select {
		case slots <- struct{}{}:
		default:
			late++
			continue
		}
		sent++
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			r.request()
		}()
	}
	wg.Wait()
	return sent, late
}

func (r *run) request() {
	ds := r.data
	base := r.bases[rand.IntN(len(r.bases))]
	pick := ds.tasks[rand.IntN(len(ds.tasks))]
	user, id := int(pick[0]), pick[1]
	var method, path string
	var body []byte
	switch p := rand.IntN(100); {
	case p < 60:
		user = rand.IntN(len(ds.users))
		method, path = "GET", fmt.Sprintf("/api/%s/tasks?limit=50", ds.users[user])
	case p < 80:
		method, path = "GET", fmt.Sprintf("/api/%s/tasks/%d", ds.users[user], id)
	case p < 95:
		method, path = "PATCH", fmt.Sprintf("/api/%s/tasks/%d/toggle", ds.users[user], id)
	default:
		user = rand.IntN(len(ds.users))
		method, path = "POST", fmt.Sprintf("/api/%s/tasks", ds.users[user])
		body = []byte(`{"title":"stream bench","priority":"medium"}`)
	}
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ds.tokens[user])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sent := time.Now()
	resp, err := r.load.Do(req)
	if err != nil {
		r.loadErrs.Add(1)
		return
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	acked := time.Now()
	if resp.StatusCode/100 != 2 {
		r.loadErrs.Add(1)
		c, _ := r.loadCodes.LoadOrStore(resp.StatusCode, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		return
	}
	if method == "GET" {
		return
	}
	var t struct{ ID, Version int64 }
	if json.Unmarshal(raw, &t) != nil {
		r.loadErrs.Add(1)
		return
	}
	r.mu.Lock()
	r.writes[writeKey{user, t.ID, t.Version}] = &write{sent: sent, acked: acked}
	r.mu.Unlock()
}

// stream is one open event stream and what it read.
type stream struct {
	user     int
	ready    chan struct{}
	readyAt  atomic.Int64 // unix nanoseconds; 0 until the ready event
	endedAt  atomic.Int64 // unix nanoseconds the stream ended before the run did
	endedWhy atomic.Value

	mu       sync.Mutex
	versions map[int64]int64 // task id -> highest version read
	seen     map[[2]int64]bool
	dups     int
	events   int
	received []received
}

type received struct {
	id, ver int64
	at      time.Time
}

func (s *stream) read(ctx context.Context, c *http.Client, base string, ds *dataset, r *run) {
	defer func() {
		if ctx.Err() == nil {
			s.endedAt.Store(time.Now().UnixNano())
		}
		if s.readyAt.Load() == 0 {
			close(s.ready)
		}
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/%s/events", base, ds.users[s.user]), nil)
	req.Header.Set("Authorization", "Bearer "+ds.tokens[s.user])
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	if err != nil {
		s.endedWhy.Store(err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		s.endedWhy.Store(resp.Status)
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event string
	var payload []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			s.dispatch(event, payload)
			event, payload = "", payload[:0]
		case bytes.HasPrefix(line, []byte("event:")):
			event = strings.TrimSpace(string(line[6:]))
		case bytes.HasPrefix(line, []byte("data:")):
			payload = append(payload, bytes.TrimSpace(line[5:])...)
		}
	}
	if ctx.Err() == nil {
		s.endedWhy.Store(fmt.Sprintf("stream ended: %v", sc.Err()))
	}
}

func (s *stream) dispatch(event string, payload []byte) {
	now := time.Now()
	switch event {
	case "ready":
		if s.readyAt.CompareAndSwap(0, now.UnixNano()) {
			close(s.ready)
		}
	case "task.created", "task.updated":
		var d struct {
			Task struct{ ID, Version int64 }
		}
		if json.Unmarshal(payload, &d) != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.events++
		k := [2]int64{d.Task.ID, d.Task.Version}
		if s.seen[k] {
			s.dups++
			return
		}
		s.seen[k] = true
		s.versions[d.Task.ID] = max(s.versions[d.Task.ID], d.Task.Version)
		s.received = append(s.received, received{d.Task.ID, d.Task.Version, now})
	case "token-expired":
		s.endedWhy.Store("token-expired")
	}
}

func (r *run) report(ready int, sent, late int64, d time.Duration, pids []string) {
	var lat []time.Duration
	var missed, dups, events, ended int
	why := map[string]int{}
	for _, s := range r.streams {
		if e := s.endedAt.Load(); e != 0 {
			ended++
			w, _ := s.endedWhy.Load().(string)
			why[w]++
			continue
		}
		readyAt := s.readyAt.Load()
		if readyAt == 0 {
			continue
		}
		s.mu.Lock()
		dups += s.dups
		events += s.events
		for _, got := range s.received {
			if w := r.writes[writeKey{s.user, got.id, got.ver}]; w != nil {
				lat = append(lat, max(0, got.at.Sub(w.acked)))
			}
		}
		for k, w := range r.writes {
			if k.user == s.user && w.sent.UnixNano() > readyAt && s.versions[k.id] < k.ver {
				missed++
			}
		}
		s.mu.Unlock()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	var codes []string
	r.loadCodes.Range(func(k, v any) bool {
		codes = append(codes, fmt.Sprintf("%v:%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	for w, n := range why {
		log.Printf("%d streams ended early: %s", n, w)
	}
	rss := 0.0
	for _, pid := range pids {
		rss += peakRSSMiB(strings.TrimSpace(pid))
	}
	fmt.Printf("STREAMS_RESULT streams=%d ready=%d ended_early=%d requests=%d late=%d rps=%.0f load_errors=%d codes=%s writes=%d deliveries=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f missed=%d duplicates=%d rss_mib=%.0f\n",
		len(r.streams), ready, ended, sent, late, float64(sent)/d.Seconds(), r.loadErrs.Load(), strings.Join(codes, ","),
		len(r.writes), len(lat), pct(0.50), pct(0.99), pct(1), missed, dups, rss)
}

// peakRSSMiB is a process's VmHWM, 0 when pid is empty or gone.
func peakRSSMiB(pid string) float64 {
	if pid == "" {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"todo-api/database"
)

func (e *env) keyRows() int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table("idempotency_keys").Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// idempotentPost posts body for user under an Idempotency-Key.
func idempotentPost(t *testing.T, e *env, user, key string, body any) response {
	t.Helper()
	return e.call("POST", "/api/"+user+"/tasks", e.token(user), body, "Idempotency-Key", key)
}

// TestIdempotentCreate: a retry under the same key replays the first
// response and creates nothing; another request under it is a 422.
func TestIdempotentCreate(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		post := func(user, key string, body any) response { return idempotentPost(t, e, user, key, body) }
		first := post("alice", "key-1", `{"title":"Buy milk","tags":["home"]}`)
		if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%d %s %v", first.status, first.body, first.header)
		}
		created := first.task(t)
		rows := e.countRows()

		t.Run("retries replay the first response", func(t *testing.T) {
			for _, body := range []string{
				`{"title":"Buy milk","tags":["home"]}`,
				`{ "tags" : ["HOME"], "title" : "  Buy milk " }`, // the same request, written differently
			} {
				r := post("alice", "key-1", body)
				if r.status != 201 || string(r.body) != string(first.body) || r.header.Get("Idempotent-Replayed") != "true" ||
					r.header.Get("Location") != first.header.Get("Location") || r.header.Get("ETag") != first.header.Get("ETag") ||
					r.header.Get("Content-Type") != "application/json" {
					t.Errorf("retry: %d %s %v", r.status, r.body, r.header)
				}
			}
			if n := e.countRows(); n != rows {
				t.Errorf("retries created %d tasks", n-rows)
			}
		})
		t.Run("the replay is the first response, not the task now", func(t *testing.T) {
			e.call("PATCH", first.header.Get("Location"), alice, map[string]any{"title": "changed"})
			if r := post("alice", "key-1", `{"title":"Buy milk","tags":["home"]}`); r.task(t).Title != "Buy milk" {
				t.Errorf("replayed %s", r.body)
			}
		})
		t.Run("the same key with another request", func(t *testing.T) {
			p := post("alice", "key-1", `{"title":"Buy bread"}`).problem(t, 422)
			if !reflect.DeepEqual(p.fields(), []string{"Idempotency-Key"}) {
				t.Errorf("fields %v", p.fields())
			}
			if n := e.countRows(); n != rows {
				t.Errorf("%d tasks created", n-rows)
			}
		})
		t.Run("keys of different users never collide", func(t *testing.T) {
			r := post("bob", "key-1", `{"title":"Buy milk","tags":["home"]}`)
			if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" || r.task(t).UserID != "bob" || r.task(t).ID == created.ID {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
		t.Run("an invalid request stores nothing", func(t *testing.T) {
			post("alice", "key-2", `{"title":""}`).problem(t, 422)
			post("alice", "key-2", `{"title":`).problem(t, 400)
			if r := post("alice", "key-2", `{"title":"fixed"}`); r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
		t.Run("without a key every POST creates", func(t *testing.T) {
			before := e.countRows()
			e.create("alice", map[string]any{"title": "same"})
			e.create("alice", map[string]any{"title": "same"})
			if n := e.countRows(); n != before+2 {
				t.Errorf("%d created", n-before)
			}
		})
	})
}

// TestIdempotencyKeyHeader: a key of 1-255 printable ASCII characters
// works; any other is a 422 that creates nothing.
func TestIdempotencyKeyHeader(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		post := func(user, key string, body any) response { return idempotentPost(t, e, user, key, body) }
		before := e.countRows()
		for _, key := range []string{strings.Repeat("k", 256), "caf\xc3\xa9"} {
			p := post("alice", key, `{"title":"x"}`).problem(t, 422)
			if !reflect.DeepEqual(p.fields(), []string{"Idempotency-Key"}) {
				t.Errorf("fields %v", p.fields())
			}
		}
		if n := e.countRows(); n != before {
			t.Errorf("%d tasks created by refused keys", n-before)
		}
		long := strings.Repeat("k", 255)
		a, b := post("alice", long, `{"title":"x"}`), post("alice", long, `{"title":"x"}`)
		if a.status != 201 || b.header.Get("Idempotent-Replayed") != "true" || a.task(t).ID != b.task(t).ID {
			t.Errorf("255 characters: %d %d", a.status, b.status)
		}
	})
}

// TestIdempotencyExpiry: a record lives 24 hours; then the key is fresh,
// and the purge (and the janitor that runs it) removes only expired ones.
func TestIdempotencyExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		post := func(user, key string, body any) response { return idempotentPost(t, e, user, key, body) }
		created := post("alice", "key-1", `{"title":"Buy milk"}`).task(t)
		post("alice", "key-2", `{"title":"Buy eggs"}`).task(t)
		post("bob", "key-1", `{"title":"Buy milk"}`).task(t)
		t.Run("records expire after 24 hours and are purged", func(t *testing.T) {
			keys := e.keyRows()
			e.clock.set(e.clock.Now().Add(24*time.Hour + time.Second))
			r := post("alice", "key-1", `{"title":"Buy bread"}`)
			if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" || r.task(t).ID == created.ID {
				t.Fatalf("after expiry: %d %s", r.status, r.body)
			}
			if n := e.keyRows(); n != keys {
				t.Errorf("the expired record was not reused: %d rows, were %d", n, keys)
			}
			// key-1 is fresh again; every other record is older than 24 h.
			n, err := database.PurgeIdempotencyKeys(context.Background(), e.db, e.clock.Now().Add(-24*time.Hour))
			if err != nil || n != keys-1 || e.keyRows() != 1 {
				t.Errorf("purged %d (%v), %d left", n, err, e.keyRows())
			}
			if r := post("alice", "key-1", `{"title":"Buy bread"}`); r.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("the live record was purged")
			}
		})
		t.Run("the janitor purges on its own", func(t *testing.T) {
			e.clock.set(e.clock.Now().Add(25 * time.Hour))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				database.Janitor(ctx, e.db, e.clock.Now, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			deadline := time.Now().Add(5 * time.Second)
			for e.keyRows() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-done
			if n := e.keyRows(); n != 0 {
				t.Errorf("%d records left", n)
			}
		})
	})
}

// TestIdempotencyKeyRace retries one key from many goroutines at once, as a
// client on a flaky network might: exactly one task is created and every
// response is that task.
func TestIdempotencyKeyRace(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		const retries = 12
		users := []string{"alice", "bob"}
		ids := make([][]int64, len(users))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for u, user := range users {
			tok := e.token(user)
			for i := 0; i < retries; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.call("POST", "/api/"+user+"/tasks", tok, map[string]any{"title": "once"}, "Idempotency-Key", "shared-key")
					if r.status != http.StatusCreated {
						t.Errorf("%s: %d %s", user, r.status, r.body)
						return
					}
					var got task
					if err := json.Unmarshal(r.body, &got); err != nil {
						t.Errorf("%s: %v", user, err)
						return
					}
					mu.Lock()
					ids[u] = append(ids[u], got.ID)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		for u, user := range users {
			if len(ids[u]) != retries {
				t.Fatalf("%s: %d answers", user, len(ids[u]))
			}
			for _, id := range ids[u] {
				if id != ids[u][0] {
					t.Errorf("%s got ids %v", user, ids[u])
					break
				}
			}
			got := e.call("GET", "/api/"+user+"/tasks", e.token(user), nil).ids(t, user)
			if !reflect.DeepEqual(got, []int64{ids[u][0]}) {
				t.Errorf("%s has tasks %v, want exactly %d", user, got, ids[u][0])
			}
		}
		if e.countRows() != 2 || e.keyRows() != 2 {
			t.Errorf("%d tasks and %d keys, want 2 and 2", e.countRows(), e.keyRows())
		}
	})
}

package controllers_test

// Fuzz targets for what a client controls in a task request: the body of
// POST, PUT, PATCH and toggle (FuzzDecodeTask), and the query string of the
// list and stats (FuzzListQuery). Both drive the whole application on an
// SQLite file through app.Test. The seed corpus is in testdata/fuzz; plain
// `go test` runs it, `go test -fuzz=^FuzzDecodeTask$ ./controllers` explores.

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/database"
	"todo-api/middleware"
	"todo-api/server"
)

const fuzzSecret = "fuzz-secret-0123456789abcdef0123456789"

// fuzzApp is the whole application on a fresh SQLite file, with a token for
// alice and one for bob.
type fuzzApp struct {
	app         *fiber.App
	db          *gorm.DB
	alice, bob  string
	aliceTaskID int64
}

func newFuzzApp(tb testing.TB, dir string) *fuzzApp {
	tb.Helper()
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	cfg := config.Config{
		Env:         config.Development,
		Database:    config.Database{Driver: config.SQLite, DSN: filepath.Join(dir, "fuzz.db")},
		Auth:        config.Auth{Secret: []byte(fuzzSecret), Leeway: 30 * time.Second},
		CORSOrigins: []string{"http://localhost:3000"},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := database.Open(cfg.Database, now, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = database.Close(db) })
	f := &fuzzApp{db: db}
	f.app = server.New(server.Deps{Config: cfg, DB: db, Log: log, Clock: now, Verifier: middleware.NewVerifier(cfg.Auth, now)})
	for _, u := range []struct {
		name string
		tok  *string
	}{{"alice", &f.alice}, {"bob", &f.bob}} {
		if *u.tok, err = middleware.Sign(cfg.Auth, u.name, now(), time.Hour); err != nil {
			tb.Fatal(err)
		}
	}
	for _, body := range []string{
		`{"title":"alice's","description":"d","tags":["home"],"due_date":"2026-12-01T17:00:00Z"}`,
		`{"title":"alice's done","completed":true,"priority":"high"}`,
		`{"title":"alice's series","due_date":"2026-11-01T09:00:00Z","recurrence":"weekly"}`,
	} {
		r := f.do(tb, "POST", "/api/alice/tasks", f.alice, "application/json", []byte(body))
		if r.status != 201 {
			tb.Fatalf("seeding: %d %s", r.status, r.body)
		}
		if f.aliceTaskID == 0 {
			var t struct{ ID int64 }
			_ = json.Unmarshal(r.body, &t)
			f.aliceTaskID = t.ID
		}
	}
	if r := f.do(tb, "POST", "/api/bob/tasks", f.bob, "application/json", []byte(`{"title":"bob's","tags":["home"]}`)); r.status != 201 {
		tb.Fatalf("seeding: %d %s", r.status, r.body)
	}
	return f
}

type fuzzResponse struct {
	status int
	header http.Header
	body   []byte
}

func (f *fuzzApp) do(tb testing.TB, method, target, token, contentType string, body []byte) fuzzResponse {
	tb.Helper()
	req := httptest.NewRequest(method, "http://api.test/", bytes.NewReader(body))
	// Set the URL by hand: NewRequest panics on targets it cannot parse.
	req.URL = &url.URL{Path: target}
	if p, q, ok := strings.Cut(target, "?"); ok {
		req.URL = &url.URL{Path: p, RawQuery: q}
	}
	req.RequestURI = ""
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := f.app.Test(req, -1)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return fuzzResponse{status: res.StatusCode, header: res.Header, body: raw}
}

// snapshot is every task row, to compare before and after a request.
func (f *fuzzApp) snapshot(tb testing.TB) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	if err := f.db.Table("tasks").Order("id").Find(&rows).Error; err != nil {
		tb.Fatal(err)
	}
	return rows
}

// isProblem checks an error response: problem+json, its status in the
// body, nothing that looks like an internal.
func isProblem(t *testing.T, r fuzzResponse) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d with Content-Type %q: %s", r.status, ct, r.body)
	}
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status || p.Detail == "" {
		t.Fatalf("not a problem body: %s", r.body)
	}
	lower := strings.ToLower(string(r.body))
	for _, s := range []string{"sqlite", "gorm", "sqlstate", ".go:", "goroutine", "panic"} {
		if strings.Contains(lower, s) {
			t.Fatalf("problem body shows %q: %s", s, r.body)
		}
	}
}

// FuzzDecodeTask sends arbitrary bytes as the body of a create, replace,
// patch or toggle. Properties: no panic, never a 5xx, only the statuses the
// API documents for bodies, every error a clean problem, and a refused
// request leaves every row as it was; an accepted write answers with the
// row as stored.
func FuzzDecodeTask(f *testing.F) {
	f.Add(uint8(0), []byte(`{"title":"Buy milk","tags":["Home"," x "],"due_date":"2026-12-01T17:00:00+01:00"}`))
	f.Add(uint8(2), []byte(`{"completed":true,"description":null}`))
	fa := newFuzzApp(f, f.TempDir())
	routes := []struct{ method, suffix string }{{"POST", ""}, {"PUT", "/1"}, {"PATCH", "/1"}, {"PATCH", "/1/toggle"}}
	types := []string{"application/json", "application/json; charset=utf-8", "application/merge-patch+json", "text/plain", ""}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		route := routes[int(op)%len(routes)]
		ct := types[int(op/4)%len(types)]
		target := "/api/alice/tasks" + strings.Replace(route.suffix, "1", strconv.FormatInt(fa.aliceTaskID, 10), 1)
		before := fa.snapshot(t)
		r := fa.do(t, route.method, target, fa.alice, ct, body)
		switch r.status {
		case 200, 201:
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil || got["user_id"] != "alice" {
				t.Fatalf("%d with body %s", r.status, r.body)
			}
			id := int64(got["id"].(float64))
			read := fa.do(t, "GET", "/api/alice/tasks/"+strconv.FormatInt(id, 10), fa.alice, "", nil)
			var stored map[string]any
			_ = json.Unmarshal(read.body, &stored)
			if read.status != 200 || !reflect.DeepEqual(stored["version"], got["version"]) || stored["title"] != got["title"] {
				t.Fatalf("answered %s, stored %s", r.body, read.body)
			}
			if r.status == 201 {
				// Keep the table small: the property is about refusals.
				fa.db.Exec("DELETE FROM tasks WHERE id = ?", id)
			}
		case 400, 413, 415, 422:
			isProblem(t, r)
			if after := fa.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Fatalf("a refused request (%d %s) changed the rows:\nbefore %v\nafter  %v", r.status, r.body, before, after)
			}
		default:
			t.Fatalf("%s %s answered %d: %s", route.method, target, r.status, r.body)
		}
	})
}

// FuzzListQuery sends an arbitrary query string to the list and to stats.
// Properties: no panic, never a 5xx, 200 or a 422 naming parameters; a 200
// list holds only the caller's tasks, no more than asked for, and no
// request writes anything.
func FuzzListQuery(f *testing.F) {
	f.Add(false, "status=pending&priority=high,low&tag=home&q=milk&sort=due_date&order=asc&limit=2&offset=1")
	f.Add(true, "tz=Europe/Berlin")
	fa := newFuzzApp(f, f.TempDir())
	before := fa.snapshot(f)
	f.Fuzz(func(t *testing.T, stats bool, query string) {
		target := "/api/alice/tasks?" + escapeQuery(query)
		if stats {
			target = "/api/alice/tasks/stats?" + escapeQuery(query)
		}
		r := fa.do(t, "GET", target, fa.alice, "", nil)
		switch r.status {
		case 200:
			if stats {
				var s map[string]int64
				if err := json.Unmarshal(r.body, &s); err != nil || s["total"] != 3 {
					t.Fatalf("stats %s", r.body)
				}
				break
			}
			var list []map[string]any
			if err := json.Unmarshal(r.body, &list); err != nil {
				t.Fatalf("list %s: %v", r.body, err)
			}
			total, err := strconv.Atoi(r.header.Get("X-Total-Count"))
			if err != nil || total > 3 || len(list) > total {
				t.Fatalf("%d tasks, X-Total-Count %q", len(list), r.header.Get("X-Total-Count"))
			}
			for _, tk := range list {
				if tk["user_id"] != "alice" {
					t.Fatalf("alice's list holds %v", tk)
				}
			}
		case 422:
			isProblem(t, r)
			var p struct {
				Errors []struct{ Field, Message string }
			}
			_ = json.Unmarshal(r.body, &p)
			if len(p.Errors) == 0 {
				t.Fatalf("422 without errors: %s", r.body)
			}
			for _, e := range p.Errors {
				if e.Message == "" || len([]rune(e.Field)) > 65 {
					t.Fatalf("bad field error %+v", e)
				}
			}
		case 400, 431:
			// The HTTP layer refused the request line (fasthttp); still a problem.
			isProblem(t, r)
		default:
			t.Fatalf("GET %s answered %d: %s", target, r.status, r.body)
		}
		if after := fa.snapshot(t); !reflect.DeepEqual(before, after) {
			t.Fatalf("a read changed the rows")
		}
	})
}

// escapeQuery percent-encodes the bytes that cannot appear in a request
// line, so that the query's decoded values are arbitrary bytes.
func escapeQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// FuzzTimeFields sends an arbitrary string wherever a time goes in: the due
// date and the reminder time of a create and of a patch, and the list's
// due_before and due_after.
// Properties: never a 5xx; a refusal is a 422 naming the field; and
// "accepted ⇒ readable": after every request the task reads back and the
// user's list answers 200, sorted by due date too.
func FuzzTimeFields(f *testing.F) {
	for _, at := range []string{"2026-12-01T17:00:00Z", "0000-01-01T00:30:00+01:00", "9999-12-31T23:59:59-23:59",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "2026-02-30T00:00:00Z", "2026-12-01T17:00:00+24:00"} {
		for op := uint8(0); op < 6; op++ {
			f.Add(op, at)
		}
	}
	fa := newFuzzApp(f, f.TempDir())
	f.Fuzz(func(t *testing.T, op uint8, at string) {
		op %= 6
		field := [...]string{"due_date", "due_date", "due_before", "due_after", "remind_at", "remind_at"}[op]
		doc, _ := json.Marshal(map[string]any{"title": "fuzz", field: at})
		var r fuzzResponse
		switch op {
		case 0, 4:
			r = fa.do(t, "POST", "/api/alice/tasks", fa.alice, "application/json", doc)
		case 1, 5:
			patch, _ := json.Marshal(map[string]any{field: at})
			r = fa.do(t, "PATCH", "/api/alice/tasks/"+strconv.FormatInt(fa.aliceTaskID, 10), fa.alice, "application/json", patch)
		default:
			r = fa.do(t, "GET", "/api/alice/tasks?"+field+"="+url.QueryEscape(at), fa.alice, "", nil)
		}
		switch r.status {
		case 200, 201:
			if op != 2 && op != 3 {
				var got struct{ ID int64 }
				_ = json.Unmarshal(r.body, &got)
				if read := fa.do(t, "GET", "/api/alice/tasks/"+strconv.FormatInt(got.ID, 10), fa.alice, "", nil); read.status != 200 {
					t.Fatalf("accepted %q (%s) but reading it back answered %d %s", at, r.body, read.status, read.body)
				}
			}
		case 422:
			var p struct{ Errors []struct{ Field string } }
			if err := json.Unmarshal(r.body, &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != field {
				t.Fatalf("%q: a 422 that does not name %s: %s", at, field, r.body)
			}
		default:
			t.Fatalf("%s=%q answered %d: %s", field, at, r.status, r.body)
		}
		for _, q := range []string{"", "?sort=due_date"} {
			if l := fa.do(t, "GET", "/api/alice/tasks"+q, fa.alice, "", nil); l.status != 200 {
				t.Fatalf("after %s=%q the list%s answers %d: %s", field, at, q, l.status, l.body)
			}
		}
		if r.status == 201 {
			var got struct{ ID int64 }
			_ = json.Unmarshal(r.body, &got)
			fa.db.Exec("DELETE FROM tasks WHERE id = ?", got.ID)
		}
	})
}

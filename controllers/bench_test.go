package controllers

// Micro-benchmarks of the request hot paths that need no database: decoding
// and validating a body, building the list's SQL, and encoding a page of
// tasks. bench/README.md shows how to compare two revisions with benchstat;
// the whole-service numbers come from bench/run.sh.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/database"
	"todo-api/internal/benchcpu"
	"todo-api/internal/jsonbody"
	"todo-api/models"
)

// benchCtx is a Fiber context for one request, as the router hands it to a
// handler; release it with app.ReleaseCtx.
func benchCtx(b *testing.B, app *fiber.App, method, uri, contentType string, body []byte) *fiber.Ctx {
	b.Helper()
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(method)
	fctx.Request.SetRequestURI(uri)
	if contentType != "" {
		fctx.Request.Header.SetContentType(contentType)
	}
	fctx.Request.SetBody(body)
	return app.AcquireCtx(fctx)
}

// BenchmarkDecodeCreate decodes and validates the create workload's body.
func BenchmarkDecodeCreate(b *testing.B) {
	benchDecode(b, fiber.MethodPost, "/api/user-0001/tasks", modeReplace,
		`{"title":"Pay invoice #1-42","description":"created by the wrk benchmark","priority":"medium"}`)
}

// BenchmarkDecodePatchFull decodes and validates a PATCH that sets every field.
func BenchmarkDecodePatchFull(b *testing.B) {
	benchDecode(b, fiber.MethodPatch, "/api/user-0001/tasks/1", modePatch,
		`{"title":"  Buy milk ","description":"2 litres, oat","completed":true,"priority":"high",`+
			`"tags":["Home","errands","home"],"due_date":"2026-12-01T17:00:00+01:00","recurrence":"weekly"}`)
}

// benchDecode measures decoding body and validating it in mode, as the
// handlers do for a request to method path.
func benchDecode(b *testing.B, method, path string, mode inputMode, body string) {
	app := fiber.New()
	v := NewValidator()
	c := benchCtx(b, app, method, path, fiber.MIMEApplicationJSON, []byte(body))
	defer app.ReleaseCtx(c)
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		var in taskInput
		unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := in.changes(v, mode, unknown); err != nil {
			b.Fatal(err)
		}
	}
}

// dryRunStore is a Store whose statements are built but never sent.
func dryRunStore(b *testing.B) *database.Store {
	b.Helper()
	db, err := gorm.Open(sqlite.Open("file:bench?mode=memory"), &gorm.Config{
		DryRun: true, SkipDefaultTransaction: true, Logger: logger.Discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	return database.NewStore(db)
}

// BenchmarkListQuery parses the list workload's query string and builds its
// SQL (without running it), and the same for a query that uses every filter.
func BenchmarkListQuery(b *testing.B) {
	for _, tc := range []struct{ name, uri string }{
		{"default", "/api/user-0001/tasks?limit=50"},
		{"filtered", "/api/user-0001/tasks?status=pending&priority=high,medium&tag=home&tag=work&q=milk" +
			"&due_after=2026-01-01T00:00:00Z&due_before=2026-12-31T00:00:00Z&sort=due_date&order=desc&limit=20&offset=20"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			app := fiber.New()
			h := &Tasks{store: dryRunStore(b), now: models.Clock(time.Now)}
			c := benchCtx(b, app, fiber.MethodGet, tc.uri, "", nil)
			defer app.ReleaseCtx(c)
			now := time.Now()
			b.ReportAllocs()
			defer benchcpu.Start(b)()
			for b.Loop() {
				q, err := parseListQuery(c)
				if err != nil {
					b.Fatal(err)
				}
				stmt := listStatements(h, c, q, now)
				if stmt == "" {
					b.Fatal("no SQL")
				}
			}
		})
	}
}

// benchPage is a page of 50 tasks shaped like the benchmark's seeded rows.
func benchPage() []models.Task {
	desc := "Check the notes from the previous meeting first. Budget is around 150 EUR."
	due := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	page := make([]models.Task, 50)
	for i := range page {
		created := time.Date(2025, 6, 28, 4, 51, 10, 430917000, time.UTC).Add(-time.Duration(i) * time.Hour)
		t := models.Task{
			ID: int64(100000 - i*1000), UserID: "user-0001", Title: "Review quarterly report before Friday",
			Priority: models.PriorityMedium, Tags: models.Tags{}, Version: 1, CreatedAt: created, UpdatedAt: created,
		}
		if i%3 != 0 {
			t.Description = &desc
		}
		if i%2 == 0 {
			t.DueDate = &due
		}
		page[i] = t
	}
	return page
}

// BenchmarkEncodePage maps a 50-task page to its response shape and encodes
// it, as the list handler does.
func BenchmarkEncodePage(b *testing.B) {
	page := benchPage()
	var size int
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		out := make([]taskResponse, len(page))
		for i := range page {
			out[i] = newTaskResponse(&page[i])
		}
		buf, err := json.Marshal(out)
		if err != nil {
			b.Fatal(err)
		}
		size = len(buf)
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// listStatements builds, without running them, the statements the list
// handler runs for q, and returns their SQL; it also hashes the list ETag
// over a page of 50 rows, as a full page costs.
func listStatements(h *Tasks, c *fiber.Ctx, q listQuery, now time.Time) string {
	q.filter.Now = now
	tasks := func() *gorm.DB { return h.store.Tasks(c.UserContext(), "user-0001") }
	sqlText := models.Page(tasks, q.filter, q.order, q.limit, q.offset).Find(&[]models.Task{}).Statement.SQL.String()
	_ = listETag("user-0001", q, 100, benchRows)
	return sqlText
}

// benchRows is benchPage as list rows.
var benchRows = func() []models.PageRow {
	page := benchPage()
	rows := make([]models.PageRow, len(page))
	for i := range page {
		rows[i] = models.PageRow{Task: page[i], TotalCount: int64(len(page))}
	}
	return rows
}()

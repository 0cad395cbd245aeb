package server_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestListRejects(t *testing.T) {
	esc := url.QueryEscape
	cases := []struct{ query, field string }{
		{"status=done", "status"},
		{"status=", "status"},
		{"status=PENDING", "status"},
		{"priority=urgent", "priority"},
		{"priority=", "priority"},
		{"priority=high,,low", "priority"},
		{"priority=high&priority=low", "priority"},
		{"tag=", "tag"},
		{"tag=%20%20", "tag"},
		{"tag=" + strings.Repeat("t", 51), "tag"},
		{"tag=a%00b", "tag"},
		{"tag=a%0Ab", "tag"},
		{"tag=%FF", "tag"},
		{"tag=a&tag=b&tag=c&tag=d&tag=e&tag=f&tag=g&tag=h&tag=i&tag=j&tag=k", "tag"},
		{"q=" + strings.Repeat("q", 201), "q"},
		{"q=a%00b", "q"},
		{"q=%C3%28", "q"},
		{"q=a&q=b", "q"},
		{"due_before=2026-12-01", "due_before"},
		{"due_before=tomorrow", "due_before"},
		{"due_before=", "due_before"},
		{"due_after=2026-13-01T00:00:00Z", "due_after"},
		{"due_after=1764000000", "due_after"},
		{"overdue=yes", "overdue"},
		{"overdue=false", "overdue"},
		{"overdue=", "overdue"},
		{"sort=name", "sort"},
		{"sort=id", "sort"},
		{"sort=due", "sort"},
		{"sort=", "sort"},
		{"sort=" + esc("created desc"), "sort"},
		{"sort=" + esc("created;DROP TABLE tasks"), "sort"},
		{"sort=" + esc("(SELECT 1)"), "sort"},
		{"sort=title&sort=created", "sort"},
		{"order=up", "order"},
		{"order=ASC", "order"},
		{"order=" + esc("asc, id"), "order"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=1.5", "limit"},
		{"offset=-1", "offset"},
		{"offset=99999999999999999999", "offset"},
		{"page=2", "page"},
		{"tags=home", "tags"},
		{"user_id=bob", "user_id"},
	}
	eachDB(t, func(t *testing.T, e *env) {
		e.create("alice", map[string]any{"title": "x"})
		for _, tc := range cases {
			t.Run(tc.query, func(t *testing.T) {
				p := e.call("GET", "/api/alice/tasks?"+tc.query, e.token("alice"), nil).problem(t, 422)
				if !reflect.DeepEqual(p.fields(), []string{tc.field}) || !strings.Contains(p.Detail, tc.field) {
					t.Errorf("want one error naming %s: %+v", tc.field, p)
				}
			})
		}
		t.Run("every bad parameter is reported at once", func(t *testing.T) {
			p := e.call("GET", "/api/alice/tasks?status=x&sort=y&limit=0", e.token("alice"), nil).problem(t, 422)
			if !reflect.DeepEqual(p.fields(), []string{"status", "sort", "limit"}) {
				t.Errorf("fields %v", p.fields())
			}
		})
	})
}

// TestListSQLMetacharacters sends SQL in every free-text parameter: it is a
// value to match, never SQL, and the tables are intact afterwards.
func TestListSQLMetacharacters(t *testing.T) {
	payloads := []string{
		`' OR '1'='1`,
		`'; DROP TABLE tasks; --`,
		`%' OR 1=1 --`,
		`") OR true; --`,
		`\`, `\%`, `!%`, `[a-z]*`, `*`, `?`, `$1`, `@>`, `'[]'`, `["home"]`, `%" ,"home`,
	}
	eachDB(t, func(t *testing.T, e *env) {
		ids := seedList(e)
		rows := e.countRows()
		for _, p := range payloads {
			for _, param := range []string{"q", "tag"} {
				t.Run(param+"="+p, func(t *testing.T) {
					got := e.call("GET", "/api/alice/tasks?"+param+"="+url.QueryEscape(p), e.token("alice"), nil).ids(t, "alice")
					if len(got) != 0 {
						t.Errorf("%v matched %v", p, got)
					}
				})
			}
			t.Run("sort="+p, func(t *testing.T) {
				e.call("GET", "/api/alice/tasks?sort="+url.QueryEscape(p), e.token("alice"), nil).problem(t, 422)
			})
		}
		if n := e.countRows(); n != rows {
			t.Errorf("%d rows after the payloads, %d before", n, rows)
		}
		// Quotes, backslashes, brackets and JSON in stored values match as text.
		odd := e.create("alice", map[string]any{"title": `it's "quoted" \ back[slash]`, "tags": []string{`o'neil`, `["home"]`}})
		for query, want := range map[string][]int64{
			"q=" + url.QueryEscape(`it's "quoted" \ back[slash]`): {odd.ID},
			"q=" + url.QueryEscape(`\ back[`):                     {odd.ID},
			"tag=" + url.QueryEscape(`O'Neil`):                    {odd.ID},
			"tag=" + url.QueryEscape(`["home"]`):                  {odd.ID},
			"tag=home&q=" + url.QueryEscape("'"):                  {},
		} {
			if got := e.call("GET", "/api/alice/tasks?"+query, e.token("alice"), nil).ids(t, "alice"); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, want %v", query, got, want)
			}
		}
		if got := e.call("GET", "/api/alice/tasks?order=asc", e.token("alice"), nil).ids(t, "alice"); !reflect.DeepEqual(got, append(ids, odd.ID)) {
			t.Errorf("alice's tasks are now %v", got)
		}
		if got := e.call("GET", "/api/bob/tasks", e.token("bob"), nil).ids(t, "bob"); len(got) != 2 {
			t.Errorf("bob's tasks are now %v", got)
		}
	})
}

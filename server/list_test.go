package server_test

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// listFixture is alice's tasks for the list tests, created in this order on
// the test clock (2026-11-27T10:00Z), so index i is the i-th oldest. Bob
// has a task that matches nearly every filter, to show that none of them
// reaches past the user scope.
var listFixture = []map[string]any{
	{"title": "Buy milk", "description": "2 litres, oat", "priority": "high", "tags": []string{"home", "errands"}, "due_date": "2026-11-28T09:00:00Z"},
	{"title": "pay rent", "priority": "medium", "tags": []string{"home"}, "due_date": "2026-12-01T00:00:00Z", "completed": true},
	{"title": "Call mom", "description": "sunday!", "priority": "low"},
	{"title": "100% done_ish", "description": "literal chars", "priority": "high", "tags": []string{"work"}, "due_date": "2026-11-20T12:00:00Z"},
	{"title": "Write report", "description": "Q4 numbers for MILK co", "priority": "medium", "tags": []string{"work", "urgent"}, "due_date": "2026-11-20T12:00:00Z", "completed": true},
	{"title": "apple pie", "description": "done-ish recipe", "priority": "low", "tags": []string{"home"}},
	{"title": "Zebra", "description": "100 percent", "priority": "medium", "tags": []string{"home", "errands"}, "due_date": "2026-12-01T00:00:00Z"},
}

// seedList creates the fixture and returns alice's ids, oldest first.
func seedList(e *env) []int64 {
	e.t.Helper()
	ids := make([]int64, len(listFixture))
	for i, body := range listFixture {
		ids[i] = e.create("alice", body).ID
	}
	e.create("bob", map[string]any{"title": "Buy milk 100% done_ish!", "description": "MILK", "priority": "high",
		"tags": []string{"home", "errands", "work", "urgent"}, "due_date": "2026-11-20T12:00:00Z"})
	e.create("bob", map[string]any{"title": "bob done", "completed": true, "tags": []string{"home"}})
	return ids
}

func TestListFiltersAndSorts(t *testing.T) {
	cases := []struct {
		query string
		want  []int // indexes into listFixture
	}{
		{"", []int{6, 5, 4, 3, 2, 1, 0}},
		{"order=asc", []int{0, 1, 2, 3, 4, 5, 6}},
		{"status=pending", []int{6, 5, 3, 2, 0}},
		{"status=completed", []int{4, 1}},
		{"priority=high", []int{3, 0}},
		{"priority=low,medium", []int{6, 5, 4, 2, 1}},
		{"priority=" + url.QueryEscape(" high , high"), []int{3, 0}},
		{"tag=home", []int{6, 5, 1, 0}},
		{"tag=home&tag=errands", []int{6, 0}},
		{"tag=HOME&tag=" + url.QueryEscape(" Errands "), []int{6, 0}},
		{"tag=home&tag=home", []int{6, 5, 1, 0}},
		{"tag=work&tag=home", nil},
		{"tag=nope", nil},
		{"q=milk", []int{4, 0}},
		{"q=MILK", []int{4, 0}},
		{"q=" + url.QueryEscape("  milk "), []int{4, 0}},
		{"q=" + url.QueryEscape("100%"), []int{3}},
		{"q=" + url.QueryEscape("%"), []int{3}},
		{"q=done_", []int{3}},
		{"q=_", []int{3}},
		{"q=" + url.QueryEscape("!"), []int{2}},
		{"q=" + url.QueryEscape("y!"), []int{2}},
		{"q=", []int{6, 5, 4, 3, 2, 1, 0}},
		{"q=percent", []int{6}},
		{"due_before=2026-11-28T09:00:00Z", []int{4, 3, 0}},
		{"due_before=2026-11-28T08:59:59.999999Z", []int{4, 3}},
		{"due_before=" + url.QueryEscape("2026-11-28T10:00:00+01:00"), []int{4, 3, 0}},
		{"due_before=2026-11-28T10:00:00+01:00", []int{4, 3, 0}}, // "+" unencoded arrives as a space
		{"due_after=2026-12-01T00:00:00Z", []int{6, 1}},
		{"due_after=2026-11-28T09:00:00.0000001Z", []int{6, 1}},
		{"due_after=2026-11-28T09:00:00Z&due_before=2026-11-28T09:00:00Z", []int{0}},
		{"due_after=2026-12-02T00:00:00Z&due_before=2026-11-01T00:00:00Z", nil},
		{"overdue=true", []int{3}},
		{"overdue=true&status=completed", nil},
		{"overdue=true&status=pending&priority=high&tag=work&q=done", []int{3}},
		{"status=pending&priority=high,medium&tag=home&q=MILK&due_after=2026-11-01T00:00:00Z&due_before=2026-12-31T00:00:00Z&sort=due_date", []int{0}},
		{"status=all&tag=home&sort=title", []int{5, 0, 1, 6}},

		{"sort=created", []int{6, 5, 4, 3, 2, 1, 0}},
		{"sort=created&order=asc", []int{0, 1, 2, 3, 4, 5, 6}},
		{"sort=updated", []int{2, 6, 5, 4, 3, 1, 0}}, // 2 was edited last (see below)
		{"sort=updated&order=asc", []int{0, 1, 3, 4, 5, 6, 2}},
		{"sort=title", []int{3, 5, 0, 2, 1, 4, 6}},
		{"sort=title&order=desc", []int{6, 4, 1, 2, 0, 5, 3}},
		// Equal due dates fall back to id; no due date is last either way.
		{"sort=due_date", []int{3, 4, 0, 1, 6, 2, 5}},
		{"sort=due_date&order=desc", []int{6, 1, 0, 4, 3, 5, 2}},
		{"sort=due_date&order=asc&status=pending", []int{3, 0, 6, 2, 5}},
		// priority orders low < medium < high.
		{"sort=priority", []int{2, 5, 1, 4, 6, 0, 3}},
		{"sort=priority&order=desc", []int{3, 0, 6, 4, 1, 5, 2}},
		{"order=desc&sort=priority&priority=high,low", []int{3, 0, 5, 2}},
	}
	eachDB(t, func(t *testing.T, e *env) {
		ids := seedList(e)
		// Touch task 2 so that updated_at differs from created_at order.
		if r := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", ids[2]), e.token("alice"), map[string]any{"description": "sunday!!"}); r.status != 200 {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		for _, tc := range cases {
			t.Run(tc.query, func(t *testing.T) {
				r := e.call("GET", "/api/alice/tasks?"+tc.query, e.token("alice"), nil)
				got := r.ids(t, "alice")
				want := make([]int64, len(tc.want))
				for i, j := range tc.want {
					want[i] = ids[j]
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("ids %v, want %v (fixture indexes %v)", got, want, tc.want)
				}
				if r.header.Get("X-Total-Count") != fmt.Sprint(len(want)) {
					t.Errorf("X-Total-Count %q, want %d", r.header.Get("X-Total-Count"), len(want))
				}
			})
		}
	})
}

// TestListTies gives every task the same value of every sort key: each key
// and order then falls back to id in the same direction.
func TestListTies(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var asc []int64
		for i := 0; i < 4; i++ {
			asc = append(asc, e.create("carol", map[string]any{"title": "Same", "priority": "high", "due_date": "2026-12-01T00:00:00Z"}).ID)
		}
		at := e.clock.Now()
		if err := e.fixture().Exec("UPDATE tasks SET created_at = ?, updated_at = ? WHERE user_id = ?", at, at, "carol").Error; err != nil {
			t.Fatal(err)
		}
		desc := []int64{asc[3], asc[2], asc[1], asc[0]}
		for _, key := range []string{"created", "updated", "title", "due_date", "priority"} {
			for order, want := range map[string][]int64{"asc": asc, "desc": desc} {
				q := "?sort=" + key + "&order=" + order
				if got := e.call("GET", "/api/carol/tasks"+q, e.token("carol"), nil).ids(t, "carol"); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %v, want %v", q, got, want)
				}
			}
		}
	})
}

var linkPart = regexp.MustCompile(`<([^>]*)>; rel="(next|prev)"`)

// links parses a Link header into rel → URL.
func links(t *testing.T, header string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split(header, ", ") {
		if part == "" {
			continue
		}
		m := linkPart.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("malformed Link member %q in %q", part, header)
		}
		out[m[2]] = m[1]
	}
	return out
}

func TestListPages(t *testing.T) {
	cases := []struct {
		query      string
		want       []int
		next, prev string // the expected Link targets, "" for none
	}{
		{"sort=title&limit=3", []int{3, 5, 0}, "limit=3&offset=3&sort=title", ""},
		{"sort=title&limit=3&offset=3", []int{2, 1, 4}, "limit=3&offset=6&sort=title", "limit=3&offset=0&sort=title"},
		{"sort=title&limit=3&offset=6", []int{6}, "", "limit=3&offset=3&sort=title"},
		{"sort=title&limit=3&offset=1", []int{5, 0, 2}, "limit=3&offset=4&sort=title", "limit=3&offset=0&sort=title"},
		{"sort=title&limit=3&offset=10", nil, "", "limit=3&offset=4&sort=title"},
		{"limit=7", []int{6, 5, 4, 3, 2, 1, 0}, "", ""},
		{"tag=home&tag=errands&limit=1", []int{6}, "limit=1&offset=1&tag=home&tag=errands", ""},
		{"offset=2&limit=500&status=pending", []int{3, 2, 0}, "", "limit=500&offset=0&status=pending"},
	}
	eachDB(t, func(t *testing.T, e *env) {
		ids := seedList(e)
		for _, tc := range cases {
			t.Run(tc.query, func(t *testing.T) {
				r := e.call("GET", "/api/alice/tasks?"+tc.query, e.token("alice"), nil)
				got := r.ids(t, "alice")
				want := make([]int64, len(tc.want))
				for i, j := range tc.want {
					want[i] = ids[j]
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("ids %v, want %v", got, want)
				}
				l := links(t, r.header.Get("Link"))
				for rel, q := range map[string]string{"next": tc.next, "prev": tc.prev} {
					want := ""
					if q != "" {
						want = "/api/alice/tasks?" + q
					}
					if l[rel] != want {
						t.Errorf("rel=%s %q, want %q (Link %q)", rel, l[rel], want, r.header.Get("Link"))
					}
				}
			})
		}
		t.Run("following next visits every task once, in order", func(t *testing.T) {
			var got []int64
			next := "/api/alice/tasks?sort=due_date&order=desc&limit=2"
			for pages := 0; next != ""; pages++ {
				if pages > 10 {
					t.Fatal("Link next never ends")
				}
				r := e.call("GET", next, e.token("alice"), nil)
				got = append(got, r.ids(t, "alice")...)
				if r.header.Get("X-Total-Count") != "7" {
					t.Errorf("X-Total-Count %q", r.header.Get("X-Total-Count"))
				}
				next = links(t, r.header.Get("Link"))["next"]
			}
			want := []int64{ids[6], ids[1], ids[0], ids[4], ids[3], ids[5], ids[2]}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pages gave %v, want %v", got, want)
			}
		})
	})
}

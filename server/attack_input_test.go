package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// The input attacks send hostile values: bytes PostgreSQL cannot store or
// that are not text, Unicode that must survive byte for byte, wrong JSON
// types, impossible ids, repeated and deeply nested members, and SQL in
// every query parameter. A refused request changes nothing.

// TestAttackText: what is not text is refused naming its field; what is
// text reads back byte for byte.
func TestAttackText(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		t.Run("bytes that are not text", func(t *testing.T) {
			p.run(t, []attack{
				p.post("escaped NUL in title", `{"title":"a\u0000b"}`, 422, p.field("title")),
				p.post("escaped NUL in description", `{"title":"a","description":"x\u0000"}`, 422, p.field("description")),
				p.post("escaped NUL in a tag", `{"title":"a","tags":["\u0000"]}`, 422, p.field("tags[0]")),
				p.post("escaped NUL in a due date", `{"title":"a","due_date":"2026-12-01T17:00:00Z\u0000"}`, 422, p.field("due_date")),
				p.post("raw NUL byte in a string", "{\"title\":\"a\x00b\"}", 400, nil),
				p.post("raw NUL byte between members", "{\"title\":\"a\"\x00}", 400, nil),
				p.post("invalid UTF-8 byte in title", "{\"title\":\"a\xffb\"}", 400, nil),
				p.post("overlong UTF-8 encoding of /", "{\"title\":\"a\xc0\xafb\"}", 400, nil),
				p.post("UTF-8-encoded surrogate", "{\"title\":\"a\xed\xa0\x80b\"}", 400, nil),
				p.post("truncated UTF-8 sequence", "{\"title\":\"a\xe2\x82\"}", 400, nil),
				p.post("invalid UTF-8 in a tag", "{\"title\":\"a\",\"tags\":[\"\xfe\"]}", 400, nil),
				p.post("invalid UTF-8 in a member name", "{\"title\":\"a\",\"\xff\":1}", 400, nil),
				p.post("escaped lone high surrogate", `{"title":"a\ud800b"}`, 400, nil),
				p.post("escaped lone low surrogate", `{"title":"a\udc00b"}`, 400, nil),
				p.post("escaped surrogates in the wrong order", `{"title":"\udc00\ud800"}`, 400, nil),
				p.post("escaped high surrogate at the end", `{"title":"a\ud83d"}`, 400, nil),
				p.post("escaped lone surrogate in an ignored member", `{"title":"a","id":"\ud800"}`, 400, nil),
				{name: "escaped lone surrogate in a patch", method: "PATCH", path: p.one, body: `{"description":"\udfff"}`, status: 400, check: p.nothingChanged},
				p.post("C1 control character in title", `{"title":"a\u0085b"}`, 422, p.field("title")),
				p.post("escape and DEL in a tag", `{"title":"a","tags":["\u001b[31m\u007f"]}`, 422, p.field("tags[0]")),
			})
		})
		t.Run("Unicode round-trips byte for byte", func(t *testing.T) {
			texts := map[string]string{
				"emoji ZWJ sequences and skin tones": "👩🏽‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏿",
				"right-to-left with an override":     "שלום עולם مرحبا \u202Egnp.exe\u202C",
				"combining marks, not normalised":    "e\u0301 a\u0308 Z\u0324\u0354\u0367\u0311\u0353a\u0308",
				"astral letters and CJK":             "𝕳𝖊𝖑𝖑𝖔 漢字 한국어",
				"byte order mark and zero-widths":    "\uFEFFa\u200Bb\u200Dc\u2060d",
				"line and paragraph separators":      "a\u2028b\u2029c",
				"HTML and JSON specials":             `<script>alert("x")</script> & \ '`,
				"200 astral characters":              strings.Repeat("👍", 200),
			}
			var cases []attack
			for name, text := range texts {
				body := map[string]any{"title": text, "description": text + "\n\t" + text, "tags": []string{"🏠", "ünïcödé", "e\u0301"}}
				cases = append(cases, attack{name: name, method: "POST", path: "/api/alice/tasks", body: body, status: 201, check: func(t *testing.T, r response) {
					p.rows++
					got := r.task(t)
					if got.Title != text || *got.Description != text+"\n\t"+text || strings.Join(got.Tags, "|") != "🏠|ünïcödé|e\u0301" {
						t.Errorf("answered %q / %q / %q", got.Title, *got.Description, got.Tags)
					}
					read := p.e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", got.ID), p.alice, nil).task(t)
					stored := p.e.row(t, got.ID)
					if read.Title != text || fmt.Sprint(stored["title"]) != text || fmt.Sprint(stored["description"]) != text+"\n\t"+text {
						t.Errorf("read back %q, stored %q", read.Title, stored["title"])
					}
				}})
			}
			cases = append(cases, p.post("201 astral characters", fmt.Sprintf(`{"title":%q}`, strings.Repeat("👍", 201)), 422, p.field("title")))
			p.run(t, cases)
		})
	})
}

// TestAttackJSONShapes: wrong types, repeated members and deep nesting are
// refused before anything is stored.
func TestAttackJSONShapes(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		t.Run("completed of the wrong type", func(t *testing.T) {
			var cases []attack
			for _, v := range []struct {
				raw    string
				status int
			}{{`"true"`, 400}, {`1`, 400}, {`0`, 400}, {`"false"`, 400}, {`null`, 422}, {`[]`, 400}, {`{}`, 400}} {
				body := `{"completed":` + v.raw + `}`
				check := p.nothingChanged
				if v.status == 422 {
					check = p.field("completed")
				}
				cases = append(cases,
					attack{name: "POST completed " + v.raw, method: "POST", path: "/api/alice/tasks", body: `{"title":"x","completed":` + v.raw + `}`, status: v.status, check: check},
					attack{name: "PATCH completed " + v.raw, method: "PATCH", path: p.one, body: body, status: v.status, check: check},
					attack{name: "toggle completed " + v.raw, method: "PATCH", path: p.one + "/toggle", body: body, status: v.status, check: check},
				)
			}
			p.run(t, cases)
		})
		t.Run("repeated members", func(t *testing.T) {
			p.run(t, []attack{
				p.post("title twice", `{"title":"a","title":"b"}`, 400, nil),
				p.post("title in two cases", `{"title":"a","Title":"b"}`, 400, nil),
				p.post("title and its escaped spelling", `{"title":"a","\u0074itle":"b"}`, 400, nil),
				p.post("tags and tags with a long s (folds to s)", `{"title":"a","tags":["x"],"tag\u017f":["y"]}`, 400, nil),
				p.post("a read-only member twice", `{"title":"a","id":1,"id":2}`, 400, nil),
				p.post("a repeat inside an ignored object", `{"title":"a","id":{"x":1,"x":2}}`, 400, nil),
				{name: "completed twice in a patch", method: "PATCH", path: p.one, body: `{"completed":false,"completed":true}`, status: 400, check: p.nothingChanged},
				{name: "completed twice in a toggle", method: "PATCH", path: p.one + "/toggle", body: `{"completed":true,"completed":false}`, status: 400, check: p.nothingChanged},
				{name: "the same member in sibling objects is fine", method: "POST", path: "/api/alice/tasks", body: `{"title":"a","id":[{"x":1},{"x":2}]}`, status: 201, check: func(*testing.T, response) { p.rows++ }},
			})
		})
		t.Run("deep nesting", func(t *testing.T) {
			nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
			p.run(t, []attack{
				p.post("10,001 levels in an ignored member", `{"title":"a","id":`+nest(10001)+`}`, 400, nil),
				p.post("30,000 levels in an ignored member", `{"title":"a","id":`+nest(30000)+`}`, 400, nil),
				p.post("10,001 levels of objects", `{"title":"a","id":`+strings.Repeat(`{"a":`, 10001)+"1"+strings.Repeat("}", 10001)+`}`, 400, nil),
				p.post("100 levels as the title", `{"title":`+nest(100)+`}`, 400, nil),
				{name: "1,000 levels in an ignored member is just ignored", method: "POST", path: "/api/alice/tasks", body: `{"title":"a","id":` + nest(1000) + `}`, status: 201, check: func(*testing.T, response) { p.rows++ }},
			})
		})
	})
}

// TestAttackIDs: an id that is not a positive 64-bit integer names no task.
func TestAttackIDs(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		absent := p.e.call("GET", "/api/alice/tasks/999999999", p.alice, nil)
		same := func(t *testing.T, r response) {
			t.Helper()
			if string(r.body) != string(absent.body) {
				t.Errorf("body %s, a missing task's is %s", r.body, absent.body)
			}
			p.nothingChanged(t, r)
		}
		var cases []attack
		for _, id := range []string{"abc", "-1", "0", "1.5", "9223372036854775808", "18446744073709551616", "99999999999999999999", "1e3", "0x1", "%20" + fmt.Sprint(p.task), "-9223372036854775808"} {
			for _, v := range []struct{ method, suffix string }{{"GET", ""}, {"PATCH", "/toggle"}, {"PATCH", "/complete"}, {"DELETE", ""}} {
				cases = append(cases, attack{name: v.method + " " + id + v.suffix, method: v.method, path: "/api/alice/tasks/" + id + v.suffix, status: 404, check: same})
			}
		}
		p.run(t, cases)
	})
}

// TestAttackPaging: limit and offset stay in range.
func TestAttackPaging(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		list := func(query string, status int) attack {
			a := attack{name: query, method: "GET", path: "/api/alice/tasks?" + query, status: status}
			if status == 422 {
				name, _, _ := strings.Cut(query, "=")
				a.check = p.field(name)
			}
			return a
		}
		p.run(t, []attack{
			list("limit=-1", 422),
			list("limit=-0", 422),
			list("limit=-500", 422),
			list("limit=99999999999999999999", 422),
			list("limit=1e2", 422),
			list("limit=0x10", 422),
			list("limit=%2010", 422),
			list("limit=10%00", 422),
			list("offset=-1", 422),
			list("offset=1e3", 422),
			{name: "offset=2^63-1", method: "GET", path: "/api/alice/tasks?offset=9223372036854775807", status: 200, check: func(t *testing.T, r response) {
				if got := r.ids(t, "alice"); len(got) != 0 {
					t.Errorf("got %v", got)
				}
			}},
			{name: "limit=500 is the most there is", method: "GET", path: "/api/alice/tasks?limit=500", status: 200, check: func(t *testing.T, r response) {
				if got := r.ids(t, "alice"); int64(len(got)) != p.rows-1 {
					t.Errorf("%d tasks", len(got))
				}
			}},
		})
	})
}

// TestAttackQuerySQL: SQL in every query parameter is a value, never SQL.
func TestAttackQuerySQL(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		var cases []attack
		for _, payload := range []string{`' OR '1'='1`, `1; DROP TABLE tasks; --`, `") OR 1=1 --`} {
			esc := url.QueryEscape(payload)
			for _, name := range []string{"status", "priority", "due_before", "due_after", "overdue", "sort", "order", "limit", "offset"} {
				cases = append(cases, attack{name: name + "=" + payload, method: "GET", path: "/api/alice/tasks?" + name + "=" + esc, status: 422, check: p.field(name)})
			}
			for _, name := range []string{"q", "tag"} {
				cases = append(cases, attack{name: name + "=" + payload, method: "GET", path: "/api/alice/tasks?" + name + "=" + esc, status: 200, check: func(t *testing.T, r response) {
					if got := r.ids(t, "alice"); len(got) != 0 {
						t.Errorf("matched %v", got)
					}
					p.nothingChanged(t, r)
				}})
			}
			cases = append(cases,
				attack{name: "parameter name " + payload, method: "GET", path: "/api/alice/tasks?" + esc + "=1", status: 422},
				attack{name: "stats tz=" + payload, method: "GET", path: "/api/alice/tasks/stats?tz=" + esc, status: 422, check: p.field("tz")},
				attack{name: "clear status=" + payload, method: "DELETE", path: "/api/alice/tasks?status=" + esc, status: 422, check: p.field("status")},
			)
		}
		for i := range cases {
			cases[i].token = p.alice
		}
		p.run(t, cases)
	})
}

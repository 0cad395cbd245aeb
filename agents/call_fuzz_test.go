package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// FuzzToolRequest: whatever arguments a client sends to whichever tool,
// the decoder that turns them into the REST request (tool.request) does
// not panic, and what it builds stays inside the caller's scope: the path
// names the caller (or me) and, for a tool on one task, a positive
// decimal id and nothing else; a user_id naming anyone else is refused;
// the arguments it consumes (user_id, id, idempotency_key, version) are not
// sent on where the REST handlers would read them again; a version becomes
// the If-Match of that task at that version and nothing else; a body is one
// JSON object; and a refusal is a message, never an empty one.
func FuzzToolRequest(f *testing.F) {
	for i, seed := range []string{
		`{"title":"x"}`,
		`{"id":1,"title":"x","user_id":"me"}`,
		`{"id":"1/../../2","user_id":"bob"}`,
		`{"id":1e3}`,
		`{"id":-1}`,
		`{"id":9223372036854775808}`,
		`{"user_id":null,"idempotency_key":null}`,
		`{"user_id":"alice/../bob"}`,
		`{"tag":["a",["b"],{"c":1}],"limit":5,"overdue":true,"q":null}`,
		`{"list":"inbox","parent":"none"}`,
		`["title"]`,
		`"x"`,
		`null`,
		``,
		`{"title":"x","title":"y"}`,
		`{"idempotency_key":"k\r\nX-Evil: 1"}`,
		`{"user_id":"alice\u0000"}`,
		`{"id":1,"version":3,"title":"x"}`,
		`{"id":1,"version":"3"}`,
		`{"id":1,"version":null}`,
		`{"id":1,"version":1.5}`,
		`{"id":1,"version":0}`,
		`{"id":2,"version":9223372036854775808}`,
		`{"id":1,"version":"\"1-2\", \"1-3\""}`,
		`{"version":2}`,
	} {
		f.Add(uint8(i), seed, "alice")
	}
	// A version on each tool that takes one, and on one that does not.
	for _, name := range []string{"update_task", "complete_task", "delete_task", "move_task", "get_task"} {
		for i, tl := range tools {
			if tl.name == name {
				f.Add(uint8(i), `{"id":7,"version":3}`, "alice")
			}
		}
	}
	f.Add(uint8(0), `{"user_id":"me"}`, "me")
	f.Add(uint8(3), `{"user_id":""}`, "")
	f.Fuzz(func(t *testing.T, which uint8, args, callerID string) {
		tl := tools[int(which)%len(tools)]
		ctx := WithCaller(context.Background(), callerID, "fuzz")
		r, id, version, terr := tl.request(ctx, json.RawMessage(args))
		if terr != "" {
			if strings.TrimSpace(string(terr)) == "" {
				t.Fatal("an empty refusal")
			}
			return
		}
		var sent map[string]json.RawMessage
		if json.Unmarshal([]byte(args), &sent) == nil {
			if v, ok := sent["user_id"]; ok {
				var u string
				if json.Unmarshal(v, &u) != nil || (u != "" && u != "me" && u != callerID) {
					t.Fatalf("user_id %s accepted for caller %q", v, callerID)
				}
			}
		}
		if r.User != "me" && r.User != callerID {
			t.Fatalf("the request names user %q; the caller is %q", r.User, callerID)
		}
		if r.Method != tl.method {
			t.Fatalf("method %s for %s", r.Method, tl.name)
		}
		want := tl.path
		if tl.takesID() {
			if id < 1 {
				t.Fatalf("id %d accepted", id)
			}
			want = strings.Replace(tl.path, "{id}", strconv.FormatInt(id, 10), 1)
		} else if id != 0 {
			t.Fatalf("%s, which takes no id, has id %d", tl.name, id)
		}
		if r.Path != want {
			t.Fatalf("path %q, want %q", r.Path, want)
		}
		// What the tool consumed is not sent on; anything else is, for the
		// REST handlers to judge.
		consumed := []string{"user_id"}
		if tl.takesID() {
			consumed = append(consumed, "id")
		}
		if tl.idempotencyKey {
			consumed = append(consumed, "idempotency_key")
		}
		if tl.versioned {
			consumed = append(consumed, "version")
		}
		if tag, ok := r.Header["If-Match"]; ok != (version > 0) || !tl.versioned && version != 0 {
			t.Fatalf("%s: If-Match %q for version %d", tl.name, tag, version)
		} else if ok && tag != `"`+strconv.FormatInt(id, 10)+"-"+strconv.FormatInt(version, 10)+`"` {
			t.Fatalf("If-Match %q for task %d at version %d", tag, id, version)
		}
		for _, name := range consumed {
			if r.Query.Has(name) {
				t.Fatalf("the query carries %s: %v", name, r.Query)
			}
		}
		for k := range r.Header {
			if k != "Content-Type" && !(k == "Idempotency-Key" && tl.idempotencyKey) && !(k == "If-Match" && tl.versioned) {
				t.Fatalf("header %s set by arguments", k)
			}
		}
		if r.Body == nil {
			if tl.method != http.MethodGet && tl.method != http.MethodDelete {
				t.Fatalf("%s without a body", tl.name)
			}
			return
		}
		if tl.query || tl.method == http.MethodGet || tl.method == http.MethodDelete {
			t.Fatalf("%s sends a body", tl.name)
		}
		var body map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		if err := dec.Decode(&body); err != nil || dec.More() || body == nil {
			t.Fatalf("the body %q is not one JSON object: %v", r.Body, err)
		}
		for _, name := range consumed {
			if _, ok := body[name]; ok {
				t.Fatalf("the body carries %s: %s", name, r.Body)
			}
		}
	})
}

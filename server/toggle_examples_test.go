package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"todo-api/docs"
)

// TestToggleExamples sends the toggle bodies the /docs page offers, in the
// document's order, and checks that each does what its summary says: the
// first one, which the page fills in, flips the task. Bob sending them to
// Alice's task gets a 404 and changes nothing.
func TestToggleExamples(t *testing.T) {
	raw, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			RequestBodies struct {
				Toggle struct {
					Content map[string]struct {
						Examples json.RawMessage `json:"examples"`
					} `json:"content"`
				} `json:"Toggle"`
			} `json:"requestBodies"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	examples := orderedExamples(t, doc.Components.RequestBodies.Toggle.Content["application/json"].Examples)
	if len(examples) != 2 || examples[0].name != "flip" || examples[1].name != "set" {
		t.Fatalf("toggle examples %+v, want flip then set", examples)
	}
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		for _, start := range []bool{false, true} {
			for _, ex := range examples {
				t.Run(fmt.Sprintf("%s from completed=%v", ex.name, start), func(t *testing.T) {
					task := e.create("alice", map[string]any{"title": "toggled", "completed": start})
					path := fmt.Sprintf("/api/alice/tasks/%d/toggle", task.ID)
					want := !start // flip
					if ex.name == "set" {
						want = true
					}
					if r := e.call("PATCH", "/api/bob/tasks/"+fmt.Sprint(task.ID)+"/toggle", e.token("bob"), ex.body); r.status != http.StatusNotFound {
						t.Errorf("bob: %d %s", r.status, r.body)
					}
					r := e.call("PATCH", path, alice, ex.body)
					if r.status != http.StatusOK {
						t.Fatalf("%d %s", r.status, r.body)
					}
					if got := r.task(t); got.Completed != want {
						t.Errorf("body %s from completed=%v: completed=%v, want %v", ex.body, start, got.Completed, want)
					}
				})
			}
		}
	})
}

type example struct {
	name string
	body string
}

// orderedExamples reads an OpenAPI examples object keeping its order, which
// json.Unmarshal into a map would lose.
func orderedExamples(t *testing.T, raw json.RawMessage) []example {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("examples is not an object: %s", raw)
	}
	var out []example
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var ex struct {
			Value json.RawMessage `json:"value"`
		}
		if err := dec.Decode(&ex); err != nil {
			t.Fatal(err)
		}
		out = append(out, example{name: tok.(string), body: string(ex.Value)})
	}
	return out
}

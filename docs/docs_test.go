package docs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestOpenAPIJSON checks that the JSON served is the YAML document: the same
// values, and the keys in the order they are written.
func TestOpenAPIJSON(t *testing.T) {
	got, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON any
	if err := json.Unmarshal(got, &fromJSON); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	served, err := withCORS(openapiYAML, CORS())
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML any
	if err := yaml.Unmarshal(served, &fromYAML); err != nil {
		t.Fatal(err)
	}
	// Through encoding/json so that numbers compare as float64 on both sides.
	raw, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, want) {
		t.Fatal("the JSON document differs from the YAML one")
	}
	s := string(got)
	if !strings.HasPrefix(s, `{"openapi":"3.1.0","info":{"title":"todo-api"`) {
		t.Errorf("key order not kept: %.80s", s)
	}
	if strings.Index(s, `"/api/{user_id}/tasks":`) > strings.Index(s, `"/healthz":`) {
		t.Error("paths are not in document order")
	}
}

func TestYAMLToJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"scalars", "s: text\nq: '1'\ni: 42\nf: 1.5\nb: true\nn: null\nt: ~\n",
			`{"s":"text","q":"1","i":42,"f":1.5,"b":true,"n":null,"t":null}`},
		{"order kept", "z: 1\na: 2\nm: 3\n", `{"z":1,"a":2,"m":3}`},
		{"numeric keys are strings", "'200': ok\n404: missing\n", `{"200":"ok","404":"missing"}`},
		{"timestamps stay strings", "d: 2026-12-01T17:00:00Z\n", `{"d":"2026-12-01T17:00:00Z"}`},
		{"aliases expand", "a: &x {k: [1, 2]}\nb: *x\n", `{"a":{"k":[1,2]},"b":{"k":[1,2]}}`},
		{"block text", "d: |\n  line 1\n  line 2\n", `{"d":"line 1\nline 2\n"}`},
		{"strings are escaped", `s: "<a href=\"x\">\t"` + "\n", `{"s":"\u003ca href=\"x\"\u003e\t"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"a: [1\n", "<<: {a: 1}\n", "? [a]\n: 1\n", "a: 1\n---\nb: 2\n", "x: !!binary aGk=\n", ""} {
		if got, err := yamlToJSON([]byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, got)
		}
	}
}

func TestEtagMatches(t *testing.T) {
	const tag = `"abc"`
	cases := map[string]bool{
		`"abc"`:         true,
		`W/"abc"`:       true,
		`"x", "abc"`:    true,
		`*`:             true,
		`"abcd"`:        false,
		``:              false,
		`abc`:           false,
		`"x","y"`:       false,
		` "abc" , "y" `: true,
	}
	for header, want := range cases {
		if got := etagMatches(header, tag); got != want {
			t.Errorf("If-None-Match %q: %v, want %v", header, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"GZIP":                 true,
		"x-gzip":               true,
		"*":                    true,
		"":                     false,
		"identity":             false,
		"br":                   false,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"gzip;q=0.001":         true,
		"gzipx":                false,
	}
	for header, want := range cases {
		if got := acceptsGzip(header); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", header, got, want)
		}
	}
}

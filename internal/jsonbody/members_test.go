package jsonbody

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCheckMembers(t *testing.T) {
	cases := []struct {
		body string
		ok   bool
	}{
		{`{"title":"a","tags":["x","x"]}`, true}, // repeated values are not members
		{`{"a":{"b":1},"c":{"b":1}}`, true},      // the same name in sibling objects
		{`[{"a":1},{"a":1}]`, true},
		{`{"a":"\"a\":1,\"a\":2"}`, true},    // names inside a string value
		{`{"a":"\\","b":"\\\\ud800"}`, true}, // an escaped backslash, then text
		{`{"title":"\ud83d\ude00"}`, true},   // a proper surrogate pair
		{`{"ti\u0074le":1,"tle":2}`, true},
		{`null`, true},
		{`{"a":1,"a":1}`, false},
		{`{"a":1, "b":{"x":1,"x":2}}`, false},
		{`{"title":1,"TITLE":2}`, false},
		{`{"ti\u0074le":1,"title":2}`, false},
		{`{"k":1,"\u212a":2}`, false}, // KELVIN SIGN folds to k, as encoding/json matches it
		{`{"s":1,"\u017f":2}`, false}, // LATIN SMALL LETTER LONG S folds to s
		{`{"a":"\ud800"}`, false},
		{`{"a":"\udc00\ud800"}`, false},
		{`{"a":"\ud800\u0041"}`, false},
		{`{"\ud800":1}`, false},
	}
	for _, tc := range cases {
		if _, err := checkMembers([]byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.body, err)
		}
	}
}

// FuzzCheckMembers compares checkMembers, one pass over the bytes, with a
// slow reference built on encoding/json's tokenizer and on bytes.EqualFold,
// which is how encoding/json decides that a name matches a field.
func FuzzCheckMembers(f *testing.F) {
	f.Add([]byte(`{"title":"a","Title":"b"}`))
	f.Add([]byte(`{"a":[{"b":"\ud83d\ude00"},{"b":"\\u0041"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		_, err := checkMembers(body)
		got := err == nil
		want := !referenceDuplicate(t, body) && !referenceLoneSurrogate(body)
		if got != want {
			t.Fatalf("checkMembers says ok=%v, the reference ok=%v for %q", got, want, body)
		}
	})
}

func referenceDuplicate(t *testing.T, body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // 1E700 is valid JSON but no float64
	type frame struct {
		object  bool
		names   []string
		nameNow bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("valid JSON failed to tokenize: %v", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.nameNow {
			for _, n := range top.names {
				if bytes.EqualFold([]byte(n), []byte(s)) {
					return true
				}
			}
			top.names = append(top.names, s)
			top.nameNow = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, nameNow: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a name comes next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].nameNow = true
		}
	}
}

var escapeRE = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

func referenceLoneSurrogate(body []byte) bool {
	var prevHigh bool
	last := -1
	for _, m := range escapeRE.FindAllSubmatchIndex(body, -1) {
		esc := string(body[m[2]:m[3]])
		adjacent := m[0] == last
		last = m[1]
		if !strings.HasPrefix(esc, "u") {
			if prevHigh {
				return true
			}
			continue
		}
		r, _ := strconv.ParseUint(esc[1:], 16, 32)
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if prevHigh {
				return true
			}
			prevHigh = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !prevHigh || !adjacent {
				return true
			}
			prevHigh = false
		default:
			if prevHigh {
				return true
			}
		}
	}
	return prevHigh
}

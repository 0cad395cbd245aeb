package jsonbody

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"todo-api/problem"
)

// checkMembers refuses two things encoding/json lets through silently, in one
// pass over a body it has already accepted as one valid JSON value:
//
//   - an object with the same member twice. encoding/json keeps the last one,
//     so {"completed":false,"completed":true} would mean what a proxy, a WAF
//     or a logging layer that keeps the first one did not see (RFC 8259 §4
//     leaves it undefined; I-JSON, RFC 7493, forbids it). Names are compared
//     the way encoding/json matches them to fields, case-insensitively, so
//     "title" and "Title" are the same member too.
//   - a \uD800–\uDFFF escape that is not half of a surrogate pair. It names no
//     character, and encoding/json would store U+FFFD in its place, so what
//     is stored would not be what the client sent.
//
// It also returns the member names of the top-level object, so that the
// caller can tell which of them dst has no field for. It allocates only for
// objects (one small set each) and for member names that contain escapes.
func checkMembers(body []byte) (top []string, err error) {
	type container struct {
		object bool
		names  map[string]struct{}
	}
	var open []container
	nameNext := false // the next string is a member name
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			open = append(open, container{object: true})
			nameNext = true
		case '[':
			open = append(open, container{})
			nameNext = false
		case '}', ']':
			open = open[:len(open)-1]
			nameNext = false
		case ',':
			nameNext = len(open) > 0 && open[len(open)-1].object
		case '"':
			end, ok := stringEnd(body, i)
			if !ok {
				return nil, problem.BadRequest("The body is not valid Unicode: a \\u escape is half of a surrogate pair.")
			}
			if nameNext {
				obj := &open[len(open)-1]
				name := memberName(body[i : end+1])
				folded := foldName(name)
				if _, dup := obj.names[folded]; dup {
					return nil, problem.BadRequest(fmt.Sprintf("The body names the member %q more than once in one object.", problem.Truncate(name, 64)))
				}
				if obj.names == nil {
					obj.names = make(map[string]struct{}, 8)
				}
				obj.names[folded] = struct{}{}
				if len(open) == 1 {
					top = append(top, name)
				}
				nameNext = false
			}
			i = end
		}
	}
	return top, nil
}

// stringEnd returns the index of the quote that closes the JSON string
// starting at body[start], and false if the string escapes a lone surrogate.
func stringEnd(body []byte, start int) (int, bool) {
	for i := start + 1; i < len(body); i++ {
		switch body[i] {
		case '"':
			return i, true
		case '\\':
			if body[i+1] != 'u' {
				i++
				continue
			}
			r := hex4(body[i+2 : i+6])
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, false // a low half with no high half before it
			case r >= 0xD800 && r < 0xDC00:
				// A high half must be followed by an escaped low half.
				if i+12 > len(body) || body[i+6] != '\\' || body[i+7] != 'u' {
					return 0, false
				}
				if lo := hex4(body[i+8 : i+12]); lo < 0xDC00 || lo > 0xDFFF {
					return 0, false
				}
				i += 11
			default:
				i += 5
			}
		}
	}
	return len(body) - 1, true // unreachable for valid JSON
}

// hex4 reads four hex digits, which valid JSON guarantees after \u.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// memberName is the name a quoted member name stands for.
func memberName(quoted []byte) string {
	for _, c := range quoted {
		if c == '\\' {
			var s string
			_ = json.Unmarshal(quoted, &s) // valid JSON: cannot fail
			return s
		}
	}
	return string(quoted[1 : len(quoted)-1])
}

// foldName folds a member name the way encoding/json does when it matches
// names to struct fields (its appendFoldedName): two names are the same
// member exactly when their folds are equal.
func foldName(name string) string {
	out := make([]byte, 0, len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, byte(r))
			continue
		}
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.ToLower(r)))
	}
	return string(out)
}

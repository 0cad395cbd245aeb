package controllers

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// EncodeJSON is the service's JSON encoder (Fiber's JSONEncoder). Tasks and
// pages of tasks, most of what the API sends, are written by hand; anything
// else goes to encoding/json. The output is byte for byte what encoding/json
// writes (TestEncodeJSONMatchesStdlib, FuzzEncodeTask): encoding/json spends
// most of a page's time in the reflection walk and in re-validating the
// output of time.Time's MarshalJSON, which appending the fields directly
// avoids (BenchmarkEncodePage).
func EncodeJSON(v any) ([]byte, error) {
	switch v := v.(type) {
	case []taskResponse:
		b := make([]byte, 0, 2+len(v)*448)
		b = append(b, '[')
		for i := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = v[i].appendJSON(b); !ok {
				return json.Marshal(v)
			}
		}
		return append(b, ']'), nil
	case taskResponse:
		if b, ok := v.appendJSON(make([]byte, 0, 512)); ok {
			return b, nil
		}
	}
	return json.Marshal(v)
}

// appendJSON appends t as encoding/json would, members in field order. It
// reports false for a time encoding/json refuses (a year outside 0–9999),
// so that the caller falls back to encoding/json and its error.
func (t *taskResponse) appendJSON(b []byte) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"user_id":`...)
	b = appendString(b, t.UserID)
	b = append(b, `,"title":`...)
	b = appendString(b, t.Title)
	b = append(b, `,"description":`...)
	b = appendStringPtr(b, t.Description)
	b = append(b, `,"completed":`...)
	b = strconv.AppendBool(b, t.Completed)
	b = append(b, `,"completed_at":`...)
	b = appendTimePtr(b, t.CompletedAt, &ok)
	b = append(b, `,"priority":`...)
	b = appendString(b, t.Priority)
	b = append(b, `,"tags":`...)
	if t.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range t.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, tag)
		}
		b = append(b, ']')
	}
	b = append(b, `,"due_date":`...)
	b = appendTimePtr(b, t.DueDate, &ok)
	b = append(b, `,"recurrence":`...)
	b = appendStringPtr(b, t.Recurrence)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, t.Version, 10)
	b = append(b, `,"next_task_id":`...)
	b = appendIntPtr(b, t.NextTaskID)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, t.CreatedAt, &ok)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, t.UpdatedAt, &ok)
	b = append(b, `,"list_id":`...)
	b = appendIntPtr(b, t.ListID)
	b = append(b, `,"parent_id":`...)
	b = appendIntPtr(b, t.ParentID)
	b = append(b, `,"position":`...)
	b = appendString(b, t.Position)
	b = append(b, `,"remind_at":`...)
	b = appendTimePtr(b, t.RemindAt, &ok)
	b = append(b, `,"reminded_at":`...)
	b = appendTimePtr(b, t.RemindedAt, &ok)
	return append(b, '}'), ok
}

// appendTime is time.Time's MarshalJSON: RFC 3339 with nanoseconds as needed.
func appendTime(b []byte, t time.Time, ok *bool) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		*ok = false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendTimePtr(b []byte, t *time.Time, ok *bool) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t, ok)
}

func appendIntPtr(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s the way encoding/json does by default: ", \ and
// control characters escaped, <, > and & as \u003c, \u003e, \u0026 (HTML
// safe), U+2028 and U+2029 escaped for JavaScript, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package controllers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"todo-api/models"
)

// sameAsStdlib fails unless EncodeJSON writes what encoding/json writes for v.
func sameAsStdlib(t *testing.T, v any) {
	t.Helper()
	got, gerr := EncodeJSON(v)
	want, werr := json.Marshal(v)
	if (gerr == nil) != (werr == nil) || string(got) != string(want) {
		t.Fatalf("EncodeJSON differs from encoding/json:\n got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
	}
}

// TestEncodeJSONMatchesStdlib: the encoder the service uses writes exactly
// what encoding/json writes for the task shapes.
func TestEncodeJSONMatchesStdlib(t *testing.T) {
	page := benchPage()
	var all strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c)) // every ASCII byte, and lone bytes that are invalid UTF-8
	}
	weird := "<b>&\u2028\u2029 \"quoted\" \\ \x01\b\f\x7f ünïcødé 🚀 \xe2\x82 \xff" + all.String()
	page[1].Title, page[1].Description = weird, &weird
	page[2].Tags = models.Tags{"home", weird, ""}
	r := models.Weekly
	page[3].Recurrence = &r
	next := int64(7)
	page[3].NextTaskID = &next
	list, parent := int64(3), int64(-2)
	page[3].ListID, page[3].ParentID, page[3].Position = &list, &parent, models.OrderKey(weird)
	done := time.Date(2026, 11, 27, 10, 5, 12, 123456000, time.UTC)
	page[4].Completed, page[4].CompletedAt = true, &done
	page[5].ID, page[5].Version = -1, 1<<62
	out := make([]taskResponse, len(page))
	for i := range page {
		out[i] = newTaskResponse(&page[i])
	}
	sameAsStdlib(t, out)
	sameAsStdlib(t, out[1])
	sameAsStdlib(t, []taskResponse{})
	nilTags := out[0]
	nilTags.Tags = nil
	sameAsStdlib(t, nilTags)
	// A year encoding/json refuses is refused here too.
	far := out[0]
	far.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	sameAsStdlib(t, far)
	sameAsStdlib(t, []taskResponse{out[0], far})
	// Other values go to encoding/json.
	sameAsStdlib(t, map[string]any{"deleted": 3})
}

// FuzzEncodeTask compares EncodeJSON with encoding/json on arbitrary text
// and times.
func FuzzEncodeTask(f *testing.F) {
	f.Add("Buy milk", "2 litres, oat", "home", int64(1764237912123456789), int64(42))
	f.Add("<script>&\u2028", "\x00\x1f\"\\", "\xff\xfe", int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, title, desc, tag string, nanos, id int64) {
		ts := time.Unix(0, nanos).UTC()
		tr := taskResponse{ID: id, UserID: tag, Title: title, Description: &desc, Priority: "medium",
			Tags: []string{tag, title}, DueDate: &ts, Version: id, CreatedAt: ts, UpdatedAt: ts.Add(time.Hour)}
		sameAsStdlib(t, tr)
		sameAsStdlib(t, []taskResponse{tr, tr})
	})
}

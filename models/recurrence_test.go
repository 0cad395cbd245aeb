package models

import (
	"testing"
	"time"
)

func TestRecurrenceNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		r        Recurrence
		due, out string
	}{
		{Daily, "2026-12-31T23:30:00Z", "2027-01-01T23:30:00Z"},
		{Daily, "2028-02-28T08:00:00.123456Z", "2028-02-29T08:00:00.123456Z"},
		{Weekly, "2026-12-28T17:00:00Z", "2027-01-04T17:00:00Z"},
		{Monthly, "2026-01-15T09:00:00Z", "2026-02-15T09:00:00Z"},
		{Monthly, "2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z"},
		{Monthly, "2028-01-31T09:00:00Z", "2028-02-29T09:00:00Z"},
		{Monthly, "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z"},
		{Monthly, "2026-12-31T09:00:00Z", "2027-01-31T09:00:00Z"},
		{Monthly, "2026-02-28T09:00:00Z", "2026-03-28T09:00:00Z"},
		// The step is taken in UTC: 23:30 at UTC-5 on Jan 31 is Feb 1 in UTC.
		{Monthly, "2026-01-31T23:30:00-05:00", "2026-03-01T04:30:00Z"},
	}
	for _, tc := range cases {
		got, ok := tc.r.Next(at(tc.due))
		if !ok || !got.Equal(at(tc.out)) || got.Location() != time.UTC {
			t.Errorf("%s after %s = %s, want %s", tc.r, tc.due, got.Format(time.RFC3339Nano), tc.out)
		}
	}
	if _, ok := Recurrence("yearly").Next(at("2026-01-01T00:00:00Z")); ok {
		t.Error("an unknown recurrence has a next date")
	}
}

package orderkey

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestKeyBetween(t *testing.T) {
	cases := []struct{ a, b, want string }{
		// From rocicorp/fractional-indexing's own tests.
		{"", "", "a0"},
		{"", "a0", "Zz"},
		{"", "Zz", "Zy"},
		{"a0", "", "a1"},
		{"a1", "", "a2"},
		{"a0", "a1", "a0V"},
		{"a1", "a2", "a1V"},
		{"a0V", "a1", "a0l"},
		{"Zz", "a0", "ZzV"},
		{"Zz", "a1", "a0"},
		{"", "Y00", "Xzzz"},
		{"bzz", "", "c000"},
		{"a0", "a0V", "a0G"},
		{"a0", "a0G", "a08"},
		{"b125", "b129", "b127"},
		{"a0", "a1V", "a1"},
		{"Zz", "a01", "a0"},
		{"", "a0V", "a0"},
		{"", "b999", "b99"},
		{"", "A00000000000000000000000000", ""},
		{"", "A000000000000000000000000001", "A000000000000000000000000000V"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzy", "", "zzzzzzzzzzzzzzzzzzzzzzzzzzz"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzz", "", "zzzzzzzzzzzzzzzzzzzzzzzzzzzV"},
		{"a00", "", ""},
		{"a00", "a1", ""},
		{"0", "1", ""},
		{"a1", "a0", ""},
		{"a0", "a0", ""},
	}
	for _, tc := range cases {
		got, err := KeyBetween(tc.a, tc.b)
		if tc.want == "" {
			if err == nil {
				t.Errorf("KeyBetween(%q, %q) = %q, want an error", tc.a, tc.b, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("KeyBetween(%q, %q) = %q, %v; want %q", tc.a, tc.b, got, err, tc.want)
		}
	}
}

// TestForTime: later is smaller, every such key is valid, and it sorts
// below the Ranked keys and below what KeyBetween makes from it.
func TestForTime(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	prev := ForTime(t0)
	for _, d := range []time.Duration{time.Microsecond, time.Millisecond, time.Hour, 24 * 365 * time.Hour} {
		k := ForTime(t0.Add(d))
		if !Valid(k) || k >= prev || len(k) != 10 {
			t.Errorf("ForTime(+%v) = %q, after %q", d, k, prev)
		}
		after, err := KeyBetween(k, "")
		if err != nil || after <= k {
			t.Errorf("KeyBetween(%q, \"\") = %q, %v", k, after, err)
		}
		prev = k
	}
	if k := ForTime(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)); !Valid(k) || k != "izzzzzzzzz" {
		t.Errorf("before the epoch: %q", k)
	}
	if k := ForTime(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); !Valid(k) || k != "i000000000" {
		t.Errorf("far future: %q", k)
	}
	if ForTime(t0) >= "j0000000001" {
		t.Error("a ForTime key sorts after a Ranked key")
	}
}

// TestSameGapStaysValid inserts into the same gap repeatedly: every key is
// valid and in order, and the length grows by about one character every
// six insertions, which is why MaxLen exists.
func TestSameGapStaysValid(t *testing.T) {
	lo, hi := "a0", "a1"
	for i := range 300 {
		k, err := KeyBetween(lo, hi)
		if err != nil || !(lo < k && k < hi) || !Valid(k) {
			t.Fatalf("step %d: KeyBetween(%q, %q) = %q, %v", i, lo, hi, k, err)
		}
		hi = k
	}
	if len(hi) < 40 || len(hi) > 60 {
		t.Errorf("after 300 insertions into one gap the key has %d characters", len(hi))
	}
}

// FuzzKeyBetween builds a list of keys from random insertions, each between
// two neighbours or at an end, and checks after every step that the new key
// is valid, strictly between its neighbours, and that the list stays sorted.
func FuzzKeyBetween(f *testing.F) {
	f.Add(uint64(1), uint16(50))
	f.Add(uint64(42), uint16(400))
	f.Add(uint64(7), uint16(1000))
	f.Fuzz(func(t *testing.T, seed uint64, steps uint16) {
		r := rand.New(rand.NewPCG(seed, seed>>7))
		keys := []string{}
		for range int(steps) % 1200 {
			i := r.IntN(len(keys) + 1) // insert before keys[i]
			lo, hi := "", ""
			if i > 0 {
				lo = keys[i-1]
			}
			if i < len(keys) {
				hi = keys[i]
			}
			k, err := KeyBetween(lo, hi)
			if err != nil {
				t.Fatalf("KeyBetween(%q, %q): %v", lo, hi, err)
			}
			if !Valid(k) || (lo != "" && k <= lo) || (hi != "" && k >= hi) {
				t.Fatalf("KeyBetween(%q, %q) = %q", lo, hi, k)
			}
			keys = append(keys[:i], append([]string{k}, keys[i:]...)...)
		}
		if !sort.StringsAreSorted(keys) {
			t.Fatal("keys out of order")
		}
	})
}

// FuzzValidKeys: KeyBetween never panics, and what it returns for any
// bounds it accepts is valid and between them.
func FuzzValidKeys(f *testing.F) {
	f.Add("a0", "a1")
	f.Add("", "Zz")
	f.Add("a0V", "")
	f.Add("izzzzzzzzz", "j0000000001")
	f.Fuzz(func(t *testing.T, a, b string) {
		k, err := KeyBetween(a, b)
		if err != nil {
			return
		}
		if !Valid(k) || (a != "" && k <= a) || (b != "" && k >= b) {
			t.Fatalf("KeyBetween(%q, %q) = %q", a, b, k)
		}
	})
}

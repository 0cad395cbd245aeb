package events_test

import (
	"errors"
	"testing"

	"todo-api/events"
)

func woken(s *events.Subscription) bool {
	select {
	case <-s.Wake():
		return true
	default:
		return false
	}
}

// TestHub: caps per user and in all, wake-ups reach only their user's
// streams and coalesce, Close ends every stream and admits no more.
func TestHub(t *testing.T) {
	h := events.NewHub(2, 3)
	a1, _ := h.Subscribe("alice")
	a2, _ := h.Subscribe("alice")
	if _, err := h.Subscribe("alice"); !errors.Is(err, events.ErrUserFull) {
		t.Fatalf("third of alice: %v", err)
	}
	b, _ := h.Subscribe("bob")
	if _, err := h.Subscribe("carol"); !errors.Is(err, events.ErrFull) {
		t.Fatalf("fourth in all: %v", err)
	}
	for _, tc := range []struct {
		user  string
		woken map[*events.Subscription]bool
	}{
		{"alice", map[*events.Subscription]bool{a1: true, a2: true, b: false}},
		{"bob", map[*events.Subscription]bool{a1: false, a2: false, b: true}},
	} {
		h.Notify(tc.user)
		h.Notify(tc.user) // coalesces with the first
		for s, want := range tc.woken {
			if got := woken(s); got != want {
				t.Errorf("notify %s: woken %v, want %v", tc.user, got, want)
			}
		}
		for s := range tc.woken {
			if woken(s) {
				t.Errorf("notify %s: a second wake-up is pending", tc.user)
			}
		}
	}
	h.WakeAll()
	if !woken(a1) || !woken(a2) || !woken(b) {
		t.Error("WakeAll missed a stream")
	}
	a1.Close()
	a1.Close()
	if h.Len() != 2 {
		t.Errorf("Len %d after a close", h.Len())
	}
	if _, err := h.Subscribe("carol"); err != nil {
		t.Errorf("a closed stream's place: %v", err)
	}
	h.Close()
	select {
	case <-b.Done():
	default:
		t.Error("Close did not end bob's stream")
	}
	if _, err := h.Subscribe("dave"); !errors.Is(err, events.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// Package events is the registry of open event streams: who waits for
// which user's changes, the caps on how many may wait, and the wake-up a
// committed change sends them. It carries no change data: a woken stream
// reads the change feed from its own cursor, so that a lost or doubled
// wake-up can neither skip nor repeat a change.
package events

import (
	"errors"
	"sync"
)

// ErrUserFull is Subscribe's answer when the user has PerUser streams open.
var ErrUserFull = errors.New("events: too many streams for this user")

// ErrFull is Subscribe's answer when Max streams are open in all.
var ErrFull = errors.New("events: too many streams")

// ErrClosed is Subscribe's answer once the hub has closed (shutdown).
var ErrClosed = errors.New("events: shutting down")

// Hub holds the open streams of one instance.
type Hub struct {
	perUser, max int

	mu     sync.RWMutex
	users  map[string]*userStreams
	total  int
	closed bool
	done   chan struct{}
	// resyncs counts WakeAll calls, a generation of every user at once.
	resyncs uint64
}

// userStreams are one user's streams and the count of wake-ups sent them.
type userStreams struct {
	subs map[*Subscription]struct{}
	gen  uint64
}

// NewHub returns a hub that admits at most perUser streams a user and max
// in all (0: no cap).
func NewHub(perUser, max int) *Hub {
	return &Hub{perUser: perUser, max: max, users: map[string]*userStreams{}, done: make(chan struct{})}
}

// Subscription is one open stream's place in the hub.
type Subscription struct {
	hub  *Hub
	user string
	// wake holds at most one pending wake-up: several changes that commit
	// while the stream is busy are one read of the feed.
	wake chan struct{}
	once sync.Once
}

// Subscribe registers a stream of user. Register before reading the feed's
// head: a change that commits after that read then wakes the stream.
func (h *Hub) Subscribe(user string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.perUser > 0 && h.users[user] != nil && len(h.users[user].subs) >= h.perUser:
		return nil, ErrUserFull
	case h.max > 0 && h.total >= h.max:
		return nil, ErrFull
	}
	s := &Subscription{hub: h, user: user, wake: make(chan struct{}, 1)}
	u := h.users[user]
	if u == nil {
		u = &userStreams{subs: map[*Subscription]struct{}{}}
		h.users[user] = u
	}
	u.subs[s] = struct{}{}
	h.total++
	return s, nil
}

// Notify wakes every stream of user: the user has a new change.
func (h *Hub) Notify(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		return
	}
	u.gen++
	for s := range u.subs {
		s.poke()
	}
}

// WakeAll wakes every stream, for when notifications may have been lost
// (the database's notification connection came back).
func (h *Hub) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resyncs++
	for _, u := range h.users {
		for s := range u.subs {
			s.poke()
		}
	}
}

// Close ends every stream (Done closes) and refuses new ones; shutdown
// calls it so that it never waits for a stream.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Len is the number of open streams.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.total
}

func (s *Subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wake receives when the stream's user may have new changes.
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Generation identifies the wake-ups sent to the stream's user so far. A
// read of the feed begun after the generation g was read sees every change
// whose wake-up is in g: streams of one user at one cursor may share such
// a read (controllers/events.go), but not one begun before their wake-up.
func (s *Subscription) Generation() [2]uint64 {
	h := s.hub
	h.mu.RLock()
	defer h.mu.RUnlock()
	var gen uint64
	if u := h.users[s.user]; u != nil {
		gen = u.gen
	}
	return [2]uint64{gen, h.resyncs}
}

// Done is closed when the hub closes: the stream must end.
func (s *Subscription) Done() <-chan struct{} { return s.hub.done }

// Close takes the stream out of the hub; it may be called more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		u := h.users[s.user]
		delete(u.subs, s)
		if len(u.subs) == 0 {
			delete(h.users, s.user)
		}
		h.total--
	})
}

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
	users  map[string]map[*Subscription]struct{}
	total  int
	closed bool
	done   chan struct{}
}

// NewHub returns a hub that admits at most perUser streams a user and max
// in all (0: no cap).
func NewHub(perUser, max int) *Hub {
	return &Hub{perUser: perUser, max: max, users: map[string]map[*Subscription]struct{}{}, done: make(chan struct{})}
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
	case h.perUser > 0 && len(h.users[user]) >= h.perUser:
		return nil, ErrUserFull
	case h.max > 0 && h.total >= h.max:
		return nil, ErrFull
	}
	s := &Subscription{hub: h, user: user, wake: make(chan struct{}, 1)}
	subs := h.users[user]
	if subs == nil {
		subs = map[*Subscription]struct{}{}
		h.users[user] = subs
	}
	subs[s] = struct{}{}
	h.total++
	return s, nil
}

// Notify wakes every stream of user: the user has a new change.
func (h *Hub) Notify(user string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.users[user] {
		s.poke()
	}
}

// WakeAll wakes every stream, for when notifications may have been lost
// (the database's notification connection came back).
func (h *Hub) WakeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, subs := range h.users {
		for s := range subs {
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

// Done is closed when the hub closes: the stream must end.
func (s *Subscription) Done() <-chan struct{} { return s.hub.done }

// Close takes the stream out of the hub; it may be called more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		subs := h.users[s.user]
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.users, s.user)
		}
		h.total--
	})
}

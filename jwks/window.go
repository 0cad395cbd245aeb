package jwks

import (
	"context"
	"time"

	"github.com/MicahParks/keyfunc/v2"
)

// window is the hand-written part of the fetch timing, guarded by Set.mu.
//
// keyfunc's RefreshUnknownKID with RefreshRateLimit would do this, but its
// rate limit lets two fetches through back to back: a request refused within
// the window queues a fetch for the window's end in a goroutine that does
// not look at the window again when it wakes, so a request arriving just as
// the window ends fetches, and the queued fetch follows it at once (under a
// flood of random kids against a fast JWKS, fetches came 17 ms apart with a
// 400 ms window). So unknown kids ask here, and keyfunc is only told to
// fetch (Refresh with IgnoreRateLimit) when the window allows it.
type window struct {
	// last is when the latest fetch began, or when any fetch ended (the
	// periodic ones included), whichever is later.
	last time.Time
	// inflight is closed when the fetch asked for here ends; nil when none runs.
	inflight chan struct{}
	// deferred is set while a fetch waits for the window's end.
	deferred bool
}

// refreshFor asks for a fetch for a token whose kid keys do not hold. When a
// fetch runs, or the window allows one now, it waits for that fetch (at most
// FetchTimeout) and reports true: the caller looks the kid up again. Else it
// sets a fetch for the end of the window and reports false at once.
func (s *Set) refreshFor(keys *keyfunc.JWKS) bool {
	s.mu.Lock()
	done := s.window.inflight
	if done == nil {
		rest := s.opts.MinRefreshInterval - time.Since(s.window.last)
		if rest > 0 {
			if !s.window.deferred {
				s.window.deferred = true
				time.AfterFunc(rest, func() { s.deferredFetch(keys) })
			}
			s.mu.Unlock()
			return false
		}
		done = s.begin(keys)
	}
	s.mu.Unlock()
	timer := time.NewTimer(s.opts.FetchTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// deferredFetch is the fetch set for the end of the window. A fetch that
// began or ended since moved the window on: it waits for the new end, so
// that the fetch it stands for begins after the refusal that asked for it.
func (s *Set) deferredFetch(keys *keyfunc.JWKS) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	if s.window.inflight != nil {
		s.window.deferred = false // that fetch began after the refusal
		return
	}
	if rest := s.opts.MinRefreshInterval - time.Since(s.window.last); rest > 0 {
		time.AfterFunc(rest, func() { s.deferredFetch(keys) })
		return
	}
	s.window.deferred = false
	s.begin(keys)
}

// begin starts a fetch through keyfunc's goroutine and returns a channel
// closed when it ends. s.mu is held.
func (s *Set) begin(keys *keyfunc.JWKS) chan struct{} {
	done := make(chan struct{})
	s.window.last, s.window.inflight = time.Now(), done
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.FetchTimeout)
		// Refresh returns once keyfunc's goroutine has made the fetch;
		// its outcome reaches accept or failed.
		_ = keys.Refresh(ctx, keyfunc.RefreshOptions{IgnoreRateLimit: true})
		cancel()
		s.mu.Lock()
		s.window.inflight = nil
		s.mu.Unlock()
		close(done)
	}()
	return done
}

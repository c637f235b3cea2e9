package memtest

import (
	"sync"
	"time"
)

// Clock is a fake clock. A store made by New reads the time from its Clock
// only: it dates payloads with it (the memory driver's modification times),
// times Put's commit deadline and upload URLs' expiry times with it, and
// Sweep measures its grace period with it. Advancing the Clock therefore
// ages every payload at once, so that a test can run Sweep past its grace
// period without waiting:
//
//	clock := memtest.ClockOf(t, store)
//	clock.Advance(25 * time.Hour) // past Sweep's default grace of 24h
//	res, err := store.Sweep(ctx, nil)
//
// The Clock stands still unless moved. A Clock is safe for concurrent use.
//
// Signed URLs still follow the real clock: advancing the Clock does not
// expire them, and Upload.Expires, read on the Clock, says when they would
// expire in the Clock's time, not in real time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start until moved. Give it to
// Config.Clock to start a store's clock at a chosen time.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the Clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the Clock forward by d (back, if d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set sets the Clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

package gocloud

import (
	"context"
	"errors"
	"sync/atomic"
)

// attemptsKey is the context key of a write's attempt counter.
type attemptsKey struct{}

// attempts counts the times a client sent one request (see
// RetriesCounted and DynamoDBAPIOptions).
type attempts struct{ n atomic.Int32 }

// withAttempts returns ctx with a new attempt counter.
func withAttempts(ctx context.Context) (context.Context, *attempts) {
	a := &attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

// countAttempt counts one attempt of the request whose context is ctx.
func countAttempt(ctx context.Context) {
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		a.n.Add(1)
	}
}

// done is called when the request has returned.
func (a *attempts) done(error) {}

// attemptsError is the error of a write that records how many times the
// client sent it.
type attemptsError struct {
	err error
	n   int32
}

func (e *attemptsError) Error() string { return e.err.Error() }
func (e *attemptsError) Unwrap() error { return e.err }

// withAttemptsErr returns err with a's count, or nil.
func withAttemptsErr(err error, a *attempts) error {
	if err == nil {
		return nil
	}
	return &attemptsError{err: err, n: a.n.Load()}
}

// mayHaveRetried reports whether the client may have sent the write that
// failed with err more than once.
func mayHaveRetried(r Retries, err error) bool {
	switch r {
	case RetriesNone:
		return false
	case RetriesCounted:
		var e *attemptsError
		// No count at all: the client lacks the middleware.
		return !errors.As(err, &e) || e.n != 1
	}
	return true
}

package docblob

import (
	"context"
	"sync"
)

// Close, as in database/sql
//
// After Close, every operation fails with code FailedPrecondition ("store
// is closed"), on every driver. Close first waits for the operations in
// flight: a Put, Get, Delete, query page, signing, or a Read of a payload
// reader finishes (Sweep and Check are cancelled, and return what they
// had done). Only then is the driver closed, so no driver method runs after
// it. A payload reader left open across Close fails its next Read with the
// same code.

// lifecycle tracks whether a Store is open and which operations are in
// flight.
type lifecycle struct {
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	ctx      context.Context // done once Close is called, to cancel long operations
	cancel   context.CancelFunc
	// exit is inflight.Done, made once: a method value made on each
	// enter would be allocated on every operation, and on every Read of
	// a payload reader.
	exit func()
}

func (l *lifecycle) init() {
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.exit = l.inflight.Done
}

// enter starts an operation: it fails if the store is closed, and
// otherwise holds Close back until the returned function is called.
func (s *Store) enter(op string) (exit func(), err error) {
	s.life.mu.RLock()
	defer s.life.mu.RUnlock()
	if s.life.closed {
		return nil, errClosed(op)
	}
	s.life.inflight.Add(1)
	return s.life.exit, nil
}

// enterLong is enter for operations that Close cancels rather than waits
// out: the returned context is also done once Close is called.
func (s *Store) enterLong(ctx context.Context, op string) (context.Context, func(), error) {
	exit, err := s.enter(op)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life.ctx, cancel)
	return ctx, func() { stop(); cancel(); exit() }, nil
}

func errClosed(op string) error { return errorf(FailedPrecondition, op, noKey, "store is closed") }

// checkOpen reports whether the store is open, for operations that make no
// driver call.
func (s *Store) checkOpen(op string) error {
	s.life.mu.RLock()
	defer s.life.mu.RUnlock()
	if s.life.closed {
		return errClosed(op)
	}
	return nil
}

// Close closes the store: new operations fail with code
// FailedPrecondition, operations in flight finish (Sweep and Check are
// cancelled), and then the driver is closed. Closing a closed store is an
// error with the same code.
//
// Close waits for a Put whose payload reader blocks until that reader
// returns: cancel such a Put's context (or close its reader) to shut down.
// Payload readers opened before Close are not waited for: a Read in
// progress finishes, and the next fails with FailedPrecondition.
func (s *Store) Close() error {
	s.life.mu.Lock()
	if s.life.closed {
		s.life.mu.Unlock()
		return errorf(FailedPrecondition, "close", noKey, "store already closed")
	}
	s.life.closed = true
	s.life.cancel()
	s.life.mu.Unlock()
	s.life.inflight.Wait()
	return s.wrap("close", noKey, s.drv.Close())
}

package filestore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"
)

// Document writes and deletes hold a lock around read-compare-write, so
// that conditions and the returned previous document are atomic across the
// goroutines of a process and across processes that share the directory.
//
// The locks are striped: a document's key hashes to one of lockStripes lock
// files, locks/00.lock to locks/ff.lock, created on first use and never
// removed (removing a lock file that another process may hold or be about
// to open would break mutual exclusion). Two documents that share a stripe
// only wait for each other; the number of lock files stays bounded however
// many documents there are. lockStripes is part of the on-disk format: every
// process sharing a directory must use the same value.
//
// Within a process, a stripe is a one-slot semaphore (so that waiting
// observes the context and goroutines queue without polling); across
// processes it is flock(2) on the stripe's lock file, which the kernel
// releases if the process dies. flock is polled with LOCK_NB, backing off
// up to a few milliseconds, so that a wait observes the context too.
const lockStripes = 256

type locker struct {
	root  *os.Root
	sems  [lockStripes]chan struct{}
	mu    sync.Mutex
	files [lockStripes]*os.File // opened on first use, closed by close
}

func newLocker(root *os.Root) *locker {
	l := &locker{root: root}
	for i := range l.sems {
		l.sems[i] = make(chan struct{}, 1)
	}
	return l
}

func stripeOf(partition, sort string) int {
	h := sha256.New()
	h.Write([]byte(partition))
	h.Write([]byte{0})
	h.Write([]byte(sort))
	var sum [sha256.Size]byte
	return int(h.Sum(sum[:0])[0])
}

// lock acquires a stripe and returns the function that releases it.
func (l *locker) lock(ctx context.Context, stripe int) (func(), error) {
	select {
	case l.sems[stripe] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-l.sems[stripe] }
	f, err := l.file(stripe)
	if err != nil {
		release()
		return nil, err
	}
	wait := 50 * time.Microsecond
	for {
		ok, err := tryFlock(f)
		if err != nil {
			release()
			return nil, err
		}
		if ok {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, ctx.Err()
		}
		if wait < 5*time.Millisecond {
			wait *= 2
		}
	}
	return func() {
		_ = funlock(f) // closing the file would release it too; it stays open for reuse
		release()
	}, nil
}

func (l *locker) file(stripe int) (*os.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.files[stripe]; f != nil {
		return f, nil
	}
	name := fmt.Sprintf("%s/%02x.lock", locksDir, stripe)
	f, err := l.root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if !os.IsNotExist(err) {
			return nil, err
		}
		if err := l.root.Mkdir(locksDir, 0o700); err != nil && !os.IsExist(err) {
			return nil, err
		}
		if f, err = l.root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
			return nil, err
		}
	}
	l.files[stripe] = f
	return f, nil
}

func (l *locker) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for i, f := range l.files {
		if f != nil {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
			l.files[i] = nil
		}
	}
	return first
}

package gocloud

import (
	"context"
	"sync"

	"github.com/docblob/docblob/driver"
)

// turns lets the writes of one document through one Driver take turns.
// A write that reads the document and then replaces it conditioned on
// what it read loses the race to every write that lands in between;
// writers of one process that raced each other would spend their rounds
// (see Options.MaxWriteRounds) beating each other, and the unluckiest
// would fail while its neighbours succeeded. Taking turns, they never
// conflict; writers in other processes still may, and retry.
//
// The zero value is ready to use.
type turns struct {
	mu   sync.Mutex
	keys map[driver.Key]*turn
}

// turn is one document's: a channel holding a value while a write has
// the turn (waiting senders queue in order), and the number of writes
// holding or waiting for it, so that the last one removes it.
type turn struct {
	held    chan struct{}
	waiting int
}

// take waits for key's turn and returns the function that gives it back,
// or ctx's error if ctx ends first (the turn is then not taken).
func (t *turns) take(ctx context.Context, key driver.Key) (release func(), err error) {
	t.mu.Lock()
	if t.keys == nil {
		t.keys = map[driver.Key]*turn{}
	}
	k := t.keys[key]
	if k == nil {
		k = &turn{held: make(chan struct{}, 1)}
		t.keys[key] = k
	}
	k.waiting++
	t.mu.Unlock()
	select {
	case k.held <- struct{}{}:
		return func() {
			<-k.held
			t.leave(key, k)
		}, nil
	case <-ctx.Done():
		t.leave(key, k)
		return nil, ctx.Err()
	}
}

// leave counts one write out of k, key's turn, and forgets k after the
// last.
func (t *turns) leave(key driver.Key, k *turn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k.waiting--; k.waiting == 0 {
		delete(t.keys, key)
	}
}

package gocloud

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob/memblob"
)

func TestTurns(t *testing.T) {
	a, b := driver.Key{Partition: "a"}, driver.Key{Partition: "b"}
	t.Run("one_at_a_time", func(t *testing.T) {
		var tu turns
		var inside, overlaps atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 200 {
					release, err := tu.take(context.Background(), a)
					if err != nil {
						t.Error(err)
						return
					}
					if inside.Add(1) > 1 {
						overlaps.Add(1)
					}
					// Hold the turn a moment, for others to try to take it.
					for range 3 {
						runtime.Gosched()
					}
					inside.Add(-1)
					release()
				}
			})
		}
		wg.Wait()
		if n := overlaps.Load(); n > 0 {
			t.Errorf("%d times a writer took a key's turn that another held", n)
		}
		if len(tu.keys) != 0 {
			t.Errorf("%d keys remembered after every turn was given back", len(tu.keys))
		}
	})
	t.Run("in_arrival_order", func(t *testing.T) {
		var tu turns
		release, err := tu.take(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		const waiters = 5
		order := make(chan int, waiters)
		var wg sync.WaitGroup
		for i := range waiters {
			wg.Go(func() {
				release, err := tu.take(context.Background(), a)
				if err != nil {
					t.Error(err)
					return
				}
				order <- i
				release()
			})
			// Let waiter i queue before the next one arrives: it has
			// counted itself in, then blocks on the channel.
			deadline := time.Now().Add(5 * time.Second)
			for {
				tu.mu.Lock()
				n := tu.keys[a].waiting
				tu.mu.Unlock()
				if n == i+2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("waiter %d: %d writes hold or wait for the turn, want %d: it did not wait", i, n, i+2)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
		release()
		wg.Wait()
		close(order)
		var got []int
		for i := range order {
			got = append(got, i)
		}
		if fmt.Sprint(got) != "[0 1 2 3 4]" {
			t.Errorf("waiters took the turn in the order %v, want the order they arrived in, [0 1 2 3 4]", got)
		}
	})
	t.Run("other_keys_do_not_wait", func(t *testing.T) {
		var tu turns
		release, err := tu.take(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		releaseB, err := tu.take(ctx, b)
		if err != nil {
			t.Fatalf("taking b's turn while a's is held: %v", err)
		}
		releaseB()
	})
	t.Run("context_ends_while_waiting", func(t *testing.T) {
		var tu turns
		release, err := tu.take(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := tu.take(ctx, a); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("taking a held turn until the context ends: %v, want DeadlineExceeded", err)
		}
		release()
		if len(tu.keys) != 0 {
			t.Errorf("%d keys remembered after the turn was given back", len(tu.keys))
		}
		release, err = tu.take(context.Background(), a)
		if err != nil {
			t.Fatalf("taking the turn again: %v", err)
		}
		release()
	})
}

// Unconditional writes and deletes of one document through one Driver
// never lose a race to each other, so they succeed even when the driver
// may read the document only once per write.
func TestWritesThroughOneDriverTakeTurns(t *testing.T) {
	coll, err := MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(memblob.OpenBucket(nil), coll, &Options{Retries: RetriesNone, SettledOnReturn: true, CloseBoth: true, MaxWriteRounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	key := driver.Key{Partition: "p", Sort: "s"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for r := range 100 {
				var err error
				if r%5 == 4 {
					_, err = d.DeleteDocument(ctx, key, driver.Condition{Kind: driver.Always})
				} else {
					doc := &driver.Document{Key: key, Revision: fmt.Sprintf("%d-%d", w, r), Fields: map[string]any{"n": int64(r)}}
					_, err = d.PutDocument(ctx, doc, driver.Condition{Kind: driver.Always})
				}
				if err != nil {
					t.Errorf("writer %d round %d: %v", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A write whose context ends while it waits for its turn sent nothing:
// its error says so, with the context's error.
func TestWaitForTurnEnds(t *testing.T) {
	d := newMem(t)
	key := driver.Key{Partition: "p", Sort: "s"}
	release, err := d.turns.take(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	doc := &driver.Document{Key: key, Revision: "r", Fields: map[string]any{}}
	_, err = d.PutDocument(ctx, doc, driver.Condition{Kind: driver.Always})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, driver.ErrNotApplied) {
		t.Errorf("PutDocument waiting for a held turn: %v, want DeadlineExceeded marked not applied", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = d.DeleteDocument(ctx, key, driver.Condition{Kind: driver.Always})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, driver.ErrNotApplied) {
		t.Errorf("DeleteDocument waiting for a held turn: %v, want DeadlineExceeded marked not applied", err)
	}
}

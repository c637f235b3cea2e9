package conformance

import (
	"fmt"
	"sync"
	"testing"

	"github.com/docblob/docblob"
)

// testConcurrency runs writers of one document at once, half of them
// through a second store over a driver of its own, as two processes of a
// deployment would be.
func testConcurrency(t *testing.T, newHarness HarnessMaker) {
	const writers, rounds = 8, 6
	t.Run("WithRevisions", func(t *testing.T) {
		// Each round, every writer reads the same revision, then all try to
		// replace the attachment: exactly one wins, the others get
		// FailedPrecondition and leave no payload behind.
		e := newEnv(t, newHarness, nil)
		stores := []*docblob.Store{e.store, e.otherStore(nil)}
		must(t, e.store.Put(e.ctx, &record{PK: "c", SK: "rev", File: docblob.NewBlobBytes([]byte("start"), nil)}), "Put")
		for round := range rounds {
			docs := make([]*record, writers)
			for w := range docs {
				docs[w] = &record{PK: "c", SK: "rev"}
				must(t, stores[w%2].Get(e.ctx, docs[w]), "Get")
			}
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for w := range writers {
				wg.Go(func() {
					d := docs[w]
					d.Title = fmt.Sprintf("round %d writer %d", round, w)
					d.File = docblob.NewBlobBytes([]byte(d.Title), nil)
					errs[w] = stores[w%2].Put(e.ctx, d)
				})
			}
			wg.Wait()
			winners := 0
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil:
					winners++
					winner = w
				case docblob.Code(err) != docblob.FailedPrecondition:
					t.Errorf("round %d writer %d: %v, want success or FailedPrecondition", round, w, err)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d writers won, want exactly 1", round, winners)
			}
			got := &record{PK: "c", SK: "rev"}
			must(t, e.store.Get(e.ctx, got), "Get")
			if got.Title != docs[winner].Title || string(readAll(e, got.File)) != got.Title {
				t.Fatalf("round %d: stored %q, winner wrote %q", round, got.Title, docs[winner].Title)
			}
			e.wantPayloads(1)
		}
	})
	t.Run("LastWriterWins", func(t *testing.T) {
		// Unconditional writers: every Put succeeds, the document ends as one
		// of them wrote it, and every superseded payload is deleted.
		e := newEnv(t, newHarness, nil)
		stores := []*docblob.Store{e.store, e.otherStore(nil)}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for r := range rounds {
					title := fmt.Sprintf("writer %d round %d", w, r)
					err := stores[w%2].Put(e.ctx, &record{PK: "c", SK: "lww", Title: title, File: docblob.NewBlobBytes([]byte(title), nil)})
					if err != nil {
						t.Errorf("%s: %v", title, err)
					}
				}
			})
		}
		wg.Wait()
		got := &record{PK: "c", SK: "lww"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != got.Title {
			t.Errorf("stored title %q, payload differs", got.Title)
		}
		e.wantPayloads(1)
	})
	t.Run("ManyDocuments", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for r := range rounds {
					d := &record{PK: "many", SK: fmt.Sprintf("%d-%d", w, r), File: docblob.NewBlobBytes([]byte{byte(w), byte(r)}, nil)}
					if err := e.store.Put(e.ctx, d); err != nil {
						t.Error(err)
						return
					}
					got := &record{PK: "many", SK: d.SK}
					if err := e.store.Get(e.ctx, got); err != nil {
						t.Error(err)
						return
					}
					if r%2 == 0 {
						if err := e.store.Delete(e.ctx, got); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		e.wantDocuments(writers * rounds / 2)
	})
}

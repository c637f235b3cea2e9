package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

func testWrites(t *testing.T, newHarness HarnessMaker) {
	t.Run("Replace", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &record{PK: "p", SK: "r", File: docblob.NewBlobBytes([]byte("first"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		old := in.File
		in.File = docblob.NewBlobBytes([]byte("second"), nil)
		must(t, e.store.Put(e.ctx, in), "Put replacing")
		if in.File.Key() == old.Key() {
			t.Fatal("replacement reused the old payload key")
		}
		e.wantPayloads(1)
		if _, err := old.ReadAll(e.ctx); docblob.Code(err) != docblob.NotFound {
			t.Errorf("old payload: %v, want code NotFound", err)
		}
		got := &record{PK: "p", SK: "r"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != "second" {
			t.Error("new payload not readable")
		}
	})
	t.Run("KeepAttachment", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Put(e.ctx, &record{PK: "p", SK: "k", Title: "v1", File: docblob.NewBlobBytes([]byte("kept"), nil)}), "Put")
		got := &record{PK: "p", SK: "k"}
		must(t, e.store.Get(e.ctx, got), "Get")
		key := got.File.Key()
		got.Title = "v2"
		must(t, e.store.Put(e.ctx, got), "Put keeping the attachment")
		again := &record{PK: "p", SK: "k"}
		must(t, e.store.Get(e.ctx, again), "Get")
		if again.Title != "v2" || again.File.Key() != key || string(readAll(e, again.File)) != "kept" {
			t.Errorf("after an update keeping the attachment: %+v", again)
		}
		e.wantPayloads(1)
	})
	t.Run("CreateExisting", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Create(e.ctx, &record{PK: "p", SK: "c", Title: "first", File: docblob.NewBlobBytes([]byte("one"), nil)}), "Create")
		err := e.store.Create(e.ctx, &record{PK: "p", SK: "c", Title: "second", File: docblob.NewBlobBytes([]byte("two"), nil)})
		wantCode(t, err, docblob.AlreadyExists, "second Create")
		var de *docblob.Error
		if !errors.As(err, &de) || de.Op != "create" || de.Key != (docblob.Key{Partition: "p", Sort: "c"}) ||
			!strings.Contains(err.Error(), `("p", "c")`) || !strings.Contains(err.Error(), "create") {
			t.Errorf("error %q does not name the operation and key", err)
		}
		e.wantPayloads(1)
		got := &record{PK: "p", SK: "c"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.Title != "first" || string(readAll(e, got.File)) != "one" {
			t.Errorf("failed Create changed the document: %+v", got)
		}
	})
	t.Run("RevisionConflict", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Put(e.ctx, &record{PK: "p", SK: "rev", Title: "v1", File: docblob.NewBlobBytes([]byte("v1"), nil)}), "Put")
		a, b := &record{PK: "p", SK: "rev"}, &record{PK: "p", SK: "rev"}
		must(t, e.store.Get(e.ctx, a), "Get a")
		must(t, e.store.Get(e.ctx, b), "Get b")
		if a.Revision == nil || a.Revision != b.Revision {
			t.Fatalf("revisions after Get: %v, %v", a.Revision, b.Revision)
		}
		a.Title, a.File = "a", docblob.NewBlobBytes([]byte("a"), nil)
		must(t, e.store.Put(e.ctx, a), "Put a")
		if a.Revision == b.Revision {
			t.Fatal("Put did not set a new revision")
		}
		b.Title, b.File = "b", docblob.NewBlobBytes([]byte("b"), nil)
		wantCode(t, e.store.Put(e.ctx, b), docblob.FailedPrecondition, "Put with a stale revision")
		e.wantPayloads(1)
		got := &record{PK: "p", SK: "rev"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.Title != "a" || string(readAll(e, got.File)) != "a" {
			t.Errorf("stored document is %+v, want a's", got)
		}
		// A stale revision on a missing document is a conflict too.
		wantCode(t, e.store.Put(e.ctx, &record{PK: "p", SK: "missing", Revision: "nope"}), docblob.FailedPrecondition, "Put with a revision of a missing document")
		wantCode(t, e.store.Delete(e.ctx, b), docblob.FailedPrecondition, "Delete with a stale revision")
		e.wantDocuments(1)
	})
	t.Run("StaleAttachment", func(t *testing.T) {
		// A writer that keeps an attachment it read must not commit a
		// reference to a payload a concurrent writer has since replaced.
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Put(e.ctx, &record{PK: "p", SK: "s", File: docblob.NewBlobBytes([]byte("v1"), nil)}), "Put")
		stale := &record{PK: "p", SK: "s"}
		must(t, e.store.Get(e.ctx, stale), "Get")
		stale.Revision = nil // no explicit optimistic locking
		must(t, e.store.Put(e.ctx, &record{PK: "p", SK: "s", File: docblob.NewBlobBytes([]byte("v2"), nil)}), "Put v2")
		wantCode(t, e.store.Put(e.ctx, stale), docblob.FailedPrecondition, "Put keeping a replaced attachment")
	})
	t.Run("Delete", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &multi{PK: "p", SK: "d", A: docblob.NewBlobBytes([]byte("a"), nil), B: docblob.NewBlobBytes([]byte("b"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		e.wantPayloads(2)
		must(t, e.store.Delete(e.ctx, &multi{PK: "p", SK: "d"}), "Delete")
		e.wantPayloads(0)
		e.wantDocuments(0)
		wantCode(t, e.store.Get(e.ctx, &multi{PK: "p", SK: "d"}), docblob.NotFound, "Get after Delete")
		if _, err := in.A.ReadAll(e.ctx); docblob.Code(err) != docblob.NotFound {
			t.Errorf("payload after Delete: %v, want code NotFound", err)
		}
		must(t, e.store.Delete(e.ctx, &multi{PK: "p", SK: "d"}), "Delete of a missing document")
	})
	t.Run("DeleteWithRevision", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &record{PK: "p", SK: "dr", File: docblob.NewBlobBytes([]byte("x"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		must(t, e.store.Delete(e.ctx, in), "Delete with the current revision")
		wantCode(t, e.store.Delete(e.ctx, in), docblob.FailedPrecondition, "Delete with a revision of a deleted document")
		e.wantPayloads(0)
	})
	t.Run("NotAppliedFailure", func(t *testing.T) {
		// A document write that fails with a code that is not definite,
		// marked by the driver as not applied, deletes the payload it
		// uploaded at once, even where failed writes may be applied later.
		e := newEnv(t, newHarness, nil)
		drv, err := e.h.MakeDriver(e.ctx)
		must(t, err, "MakeDriver")
		sp := spy.NewWithOptions(drv, &spy.Options{Unsettled: true})
		store, err := docblob.NewStore(sp, nil)
		if err != nil {
			drv.Close()
			t.Fatalf("NewStore: %v", err)
		}
		defer store.Close()
		must(t, store.Put(e.ctx, &record{PK: "p", SK: "na", Title: "old", File: docblob.NewBlobBytes([]byte("old"), nil)}), "Put")
		sp.FailNext(spy.PutDocument, 1, spy.Fault{Err: &driver.Error{Code: driver.Unavailable, Err: fmt.Errorf("lost every race: %w", driver.ErrNotApplied)}})
		err = store.Put(e.ctx, &record{PK: "p", SK: "na", Title: "new", File: docblob.NewBlobBytes([]byte("new"), nil)})
		wantCode(t, err, docblob.Unavailable, "Put that was not applied")
		if !errors.Is(err, driver.ErrNotApplied) {
			t.Errorf("the error %v does not keep the driver's ErrNotApplied reachable", err)
		}
		e.wantPayloads(1)
		got := &record{PK: "p", SK: "na"}
		must(t, store.Get(e.ctx, got), "Get")
		if got.Title != "old" || string(readAll(e, got.File)) != "old" {
			t.Errorf("stored %q with payload %q, want the old version", got.Title, readAll(e, got.File))
		}
	})
	t.Run("RetryAfterFailure", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Create(e.ctx, &record{PK: "p", SK: "retry"}), "Create")
		payload := bytes.NewReader([]byte("retried payload"))
		doc := &record{PK: "p", SK: "retry", File: docblob.NewBlob(payload, nil)}
		wantCode(t, e.store.Create(e.ctx, doc), docblob.AlreadyExists, "Create")
		// The reader is an io.Seeker, so the same Blob can be retried.
		must(t, e.store.Put(e.ctx, doc), "Put retry")
		got := &record{PK: "p", SK: "retry"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != "retried payload" {
			t.Error("retried payload differs")
		}
	})
}

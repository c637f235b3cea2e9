package memtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/memtest"
)

func TestFaults(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	newReceipt := func() *Receipt {
		return &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("scan"), nil)}
	}
	t.Run("WriteBlob", func(t *testing.T) {
		store := memtest.New(t)
		memtest.FailNext(store, memtest.WriteBlob, boom)
		if err := store.Put(ctx, newReceipt()); !errors.Is(err, boom) {
			t.Fatalf("Put: %v, want boom", err)
		}
		memtest.AssertEmpty(t, store)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatalf("the fault applies once; second Put: %v", err)
		}
	})
	t.Run("PutDocumentDefinite", func(t *testing.T) {
		store := memtest.New(t)
		memtest.FailNext(store, memtest.PutDocument, docblob.PermissionDenied)
		err := store.Put(ctx, newReceipt())
		if docblob.Code(err) != docblob.PermissionDenied {
			t.Fatalf("Put: %v", err)
		}
		memtest.AssertEmpty(t, store)
	})
	t.Run("PutDocumentAppliedThenLost", func(t *testing.T) {
		// The write took effect but its response was lost: Put reads the
		// document back, finds its own revision, and reports success.
		store := memtest.New(t)
		memtest.FailNextAfterApplying(store, memtest.PutDocument, boom)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatalf("Put: %v, want success found by reading back", err)
		}
		memtest.AssertConsistent(t, store)
		if n := len(memtest.Documents(t, store)); n != 1 {
			t.Fatalf("%d documents", n)
		}
	})
	t.Run("PutDocumentHangs", func(t *testing.T) {
		store := memtest.New(t)
		memtest.HangNext(store, memtest.PutDocument)
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := store.Put(ctx, newReceipt()); err != context.DeadlineExceeded {
			t.Fatalf("Put: %v, want context.DeadlineExceeded", err)
		}
		memtest.AssertEmpty(t, store)
	})
	t.Run("CleanupFails", func(t *testing.T) {
		store := memtest.New(t)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatal(err)
		}
		memtest.FailNext(store, memtest.DeleteBlob, boom)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatalf("a failed clean-up must not fail the committed Put: %v", err)
		}
		if n := len(memtest.Payloads(t, store)); n != 2 {
			t.Fatalf("%d payloads, want 2 (the new one and the orphan)", n)
		}
	})
	t.Run("Calls", func(t *testing.T) {
		store := memtest.New(t)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatal(err)
		}
		calls := memtest.Calls(store)
		if calls[memtest.WriteBlob] != 1 || calls[memtest.PutDocument] != 1 || len(calls) != 2 {
			t.Fatalf("Calls = %v", calls)
		}
		memtest.ResetCalls(store)
		if len(memtest.Calls(store)) != 0 {
			t.Fatal("ResetCalls left counts")
		}
	})
}

// fakeTB records failures, to test the assertions themselves.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Errorf(string, ...any)     { f.errors = append(f.errors, "e") }
func (f *fakeTB) Logf(string, ...any)       {}
func (f *fakeTB) Cleanup(func())            {}
func (f *fakeTB) Fatalf(s string, a ...any) { panic("fatal") }

func TestAssertionsCatchProblems(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	if err := store.Put(ctx, &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("a"), nil)}); err != nil {
		t.Fatal(err)
	}
	memtest.FailNext(store, memtest.DeleteBlob, errors.New("boom"))
	if err := store.Put(ctx, &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("b"), nil)}); err != nil {
		t.Fatal(err)
	}
	f := &fakeTB{TB: t}
	memtest.AssertConsistent(f, store)
	if len(f.errors) != 1 {
		t.Errorf("AssertConsistent reported %d problems, want 1 orphan", len(f.errors))
	}
	f = &fakeTB{TB: t}
	memtest.AssertEmpty(f, store)
	if len(f.errors) != 2 {
		t.Errorf("AssertEmpty reported %d problems, want 2", len(f.errors))
	}
}

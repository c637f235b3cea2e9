package memtest_test

import (
	"context"
	"errors"
	"fmt"
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
		// A write that timed out may still land, as far as the store can
		// tell: its payload is left to Sweep, as in production.
		store := memtest.New(t)
		memtest.HangNext(store, memtest.PutDocument)
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := store.Put(ctx, newReceipt()); err != context.DeadlineExceeded {
			t.Fatalf("Put: %v, want context.DeadlineExceeded", err)
		}
		memtest.AssertNoBrokenReferences(t, store)
		if n := len(memtest.Documents(t, store)); n != 0 {
			t.Errorf("%d documents", n)
		}
		if o := memtest.Orphans(t, store); len(o) != 1 {
			t.Errorf("orphans %q, want the timed-out write's payload", o)
		}
	})
	t.Run("PutDocumentHangsSettled", func(t *testing.T) {
		store := memtest.NewWithConfig(t, &memtest.Config{SettledFailures: true})
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
		// The helpers' own calls are not counted.
		memtest.AssertConsistent(t, store)
		memtest.Documents(t, store)
		memtest.Payloads(t, store)
		if got := memtest.Calls(store); len(got) != 2 {
			t.Fatalf("Calls after the helpers = %v", got)
		}
		memtest.ResetCalls(store)
		if len(memtest.Calls(store)) != 0 {
			t.Fatal("ResetCalls left counts")
		}
	})
	t.Run("HelpersUnfaulted", func(t *testing.T) {
		// Faults wait for the store's calls: the helpers' calls neither
		// meet nor consume them.
		store := memtest.New(t)
		f := memtest.FaultsOf(t, store)
		f.FailNext(memtest.QueryDocuments, boom)
		f.FailNext(memtest.ListBlobs, boom)
		memtest.AssertEmpty(t, store)
		memtest.AssertConsistent(t, store)
		if err := store.Query(ctx, &docblob.Query{Partition: "s"}).Next(&Receipt{}); !errors.Is(err, boom) {
			t.Fatalf("the fault did not wait for the store's query: %v", err)
		}
		if _, err := store.Sweep(ctx, nil); !errors.Is(err, boom) {
			t.Fatalf("the fault did not wait for the store's listing: %v", err)
		}
	})
	t.Run("FaultsOf", func(t *testing.T) {
		store := memtest.New(t)
		f := memtest.FaultsOf(t, store)
		f.FailNextN(memtest.PutDocument, 2, docblob.PermissionDenied)
		for range 2 {
			if err := store.Put(ctx, newReceipt()); docblob.Code(err) != docblob.PermissionDenied {
				t.Fatalf("Put: %v", err)
			}
		}
		f.HangNext(memtest.GetDocument)
		f.Clear()
		if err := store.Get(ctx, &Receipt{Shop: "s", ID: "1"}); docblob.Code(err) != docblob.NotFound {
			t.Fatalf("Get after Clear: %v", err)
		}
		f.FailNextAfterApplying(memtest.PutDocument, boom)
		if err := store.Put(ctx, newReceipt()); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if c := f.Calls(); c[memtest.PutDocument] != 3 || c[memtest.GetDocument] != 2 {
			t.Errorf("Calls = %v", c)
		}
		f.ResetCalls()
		if len(f.Calls()) != 0 {
			t.Error("ResetCalls left counts")
		}
		memtest.AssertConsistent(t, store)
	})
}

// TestAmbiguousFailures shows the default, where a failed document write
// leaves its payloads to Sweep as on S3 + DynamoDB, against
// Config.SettledFailures, where memory's certainty cleans them up at once.
func TestAmbiguousFailures(t *testing.T) {
	ctx := context.Background()
	for _, settled := range []bool{false, true} {
		t.Run(fmt.Sprintf("SettledFailures=%v", settled), func(t *testing.T) {
			store := memtest.NewWithConfig(t, &memtest.Config{SettledFailures: settled})
			memtest.FailNext(store, memtest.PutDocument, errors.New("connection reset by peer"))
			err := store.Put(ctx, &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("scan"), nil)})
			if docblob.Code(err) != docblob.Unknown {
				t.Fatalf("Put: %v, want the ambiguous failure", err)
			}
			calls := memtest.Calls(store)
			if calls[memtest.GetDocument] != 1 {
				t.Errorf("the store did not read the document back: %v", calls)
			}
			memtest.AssertNoBrokenReferences(t, store)
			orphans := memtest.Orphans(t, store)
			if settled {
				if len(orphans) != 0 || calls[memtest.DeleteBlob] != 1 {
					t.Errorf("settled: orphans %q, calls %v; want the payload deleted at once", orphans, calls)
				}
				memtest.AssertEmpty(t, store)
				return
			}
			if len(orphans) != 1 || calls[memtest.DeleteBlob] != 0 {
				t.Fatalf("orphans %q, calls %v; want the payload left to Sweep", orphans, calls)
			}
			if p := memtest.Payloads(t, store); len(p) != 1 || p[orphans[0]] != 4 {
				t.Errorf("payloads %v", p)
			}
			f := &fakeTB{TB: t}
			memtest.AssertConsistent(f, store)
			if len(f.errors) != 1 {
				t.Errorf("AssertConsistent reported %d problems, want the orphan", len(f.errors))
			}
		})
	}
}

// fakeTB records failures, to test the assertions themselves. Its Fatalf
// and FailNow panic with a fatal; see fatal.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Logf(string, ...any)               {}
func (f *fakeTB) Cleanup(func())                    {}
func (f *fakeTB) Fatalf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }

// FailNow stops the test with the last error reported.
func (f *fakeTB) FailNow() {
	msg := ""
	if len(f.errors) > 0 {
		msg = f.errors[len(f.errors)-1]
	}
	panic(fatal(msg))
}

// fatal is the message of a fakeTB's Fatalf.
type fatal string

// fatalOf runs f and returns the message it gave a fakeTB's Fatalf, or ""
// if it returned normally.
func fatalOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			m, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			msg = string(m)
		}
	}()
	f()
	return ""
}

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

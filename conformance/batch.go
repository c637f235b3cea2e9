package conformance

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// testBatch checks Store.GetMany and Store.DeleteMany: one answer per
// document, in order, with partial failure (missing documents, bad keys,
// keys a fault fails alone, a stale revision, a payload delete that
// fails), in the fewest driver calls; and that Sweep reclaims the payloads
// of documents deleted behind the store's back.
func testBatch(t *testing.T, newHarness HarnessMaker) {
	t.Run("GetMany", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		putRecords(t, e, "get", 3)
		e.spy.Reset()
		docs := []any{&record{PK: "get", SK: "r0"}, &record{PK: "get", SK: "missing"}, &record{PK: "get", SK: "r2"}, &record{PK: ""}, &record{PK: "get", SK: "r1"}}
		errs := e.store.GetMany(e.ctx, docs, nil)
		wantCodes(t, "GetMany", errs, []docblob.ErrorCode{0, docblob.NotFound, 0, docblob.InvalidArgument, 0})
		for _, i := range []int{0, 2, 4} {
			r := docs[i].(*record)
			if r.Title != "title "+r.SK || r.File == nil || r.File.Size() != int64(len("payload "+r.SK)) {
				t.Errorf("GetMany: document %d read as %+v", i, r)
			}
		}
		if got := e.spy.Counts(); got[spy.GetDocuments] != 1 || got[spy.GetDocument] != 0 {
			t.Errorf("GetMany of 4 keys made calls %v, want one GetDocuments", got)
		}
	})
	t.Run("GetManyPartialFailure", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		putRecords(t, e, "getfail", 3)
		e.spy.SetKeyHook(func(op spy.Op, key string) error {
			if op == spy.GetDocuments && key == "getfail\x00r1" {
				return fmt.Errorf("throttled: %w", driver.Unavailable)
			}
			return nil
		})
		defer e.spy.ClearFaults()
		docs := []any{&record{PK: "getfail", SK: "r0"}, &record{PK: "getfail", SK: "r1"}, &record{PK: "getfail", SK: "r2"}}
		errs := e.store.GetMany(e.ctx, docs, nil)
		wantCodes(t, "GetMany", errs, []docblob.ErrorCode{0, docblob.Unavailable, 0})
		e.spy.ClearFaults()
		e.spy.FailNext(spy.GetDocuments, 1, spy.Fault{Err: driver.PermissionDenied})
		errs = e.store.GetMany(e.ctx, docs, nil)
		wantCodes(t, "GetMany with the whole request failing", errs, []docblob.ErrorCode{docblob.PermissionDenied, docblob.PermissionDenied, docblob.PermissionDenied})
	})
	t.Run("GetManyLarge", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		const n = 250
		docs := make([]any, n)
		for i := range docs {
			must(t, e.store.Put(e.ctx, &record{PK: "large", SK: fmt.Sprintf("r%03d", i), Title: "t"}), "Put")
			docs[i] = &record{PK: "large", SK: fmt.Sprintf("r%03d", i)}
		}
		e.spy.Reset()
		if err := errors.Join(e.store.GetMany(e.ctx, docs, &docblob.BatchOptions{Concurrency: 2})...); err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if got := e.spy.Counts()[spy.GetDocuments]; got != 3 {
			t.Errorf("GetMany of %d keys made %d GetDocuments calls, want 3", n, got)
		}
	})
	t.Run("DeleteMany", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		putRecords(t, e, "del", 3)
		e.spy.Reset()
		docs := []any{&record{PK: "del", SK: "r0"}, &record{PK: "del", SK: "missing"}, &record{PK: "del", SK: "r1"}, &record{PK: "del", SK: "r2"}}
		errs := e.store.DeleteMany(e.ctx, docs, nil)
		wantCodes(t, "DeleteMany", errs, []docblob.ErrorCode{0, 0, 0, 0})
		if got := e.spy.Counts(); got[spy.DeleteDocument] != 4 || got[spy.DeleteBlobs] != 1 || got[spy.DeleteBlob] != 0 {
			t.Errorf("DeleteMany of 4 documents made calls %v, want 4 DeleteDocument and 1 DeleteBlobs", got)
		}
		if n := e.spy.Keys(spy.DeleteBlobs); n != 3 {
			t.Errorf("DeleteMany deleted %d payloads, want 3", n)
		}
	})
	t.Run("DeleteManyPartialFailure", func(t *testing.T) {
		var mu sync.Mutex
		var reports []error
		e := newEnv(t, newHarness, &docblob.Options{OnCleanupError: func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }})
		recs := putRecords(t, e, "delfail", 4)
		stale := &record{PK: "delfail", SK: "r1", Revision: recs[1].Revision}
		must(t, e.store.Put(e.ctx, &record{PK: "delfail", SK: "r1", Title: "updated", Revision: recs[1].Revision}), "Put")
		failing := recs[3].File.Key()
		e.spy.SetKeyHook(func(op spy.Op, key string) error {
			if op == spy.DeleteBlobs && key == failing {
				return fmt.Errorf("access denied: %w", driver.PermissionDenied)
			}
			return nil
		})
		e.spy.FailNext(spy.DeleteDocument, 1, spy.Fault{Err: driver.Unavailable})
		docs := []any{&record{PK: "delfail", SK: "r0"}, stale, &record{PK: "delfail", SK: "r2"}, &record{PK: "delfail", SK: "r3"}, &record{SK: "nopk"}}
		errs := e.store.DeleteMany(e.ctx, docs, &docblob.BatchOptions{Concurrency: 1})
		e.spy.ClearFaults()
		wantCodes(t, "DeleteMany", errs, []docblob.ErrorCode{docblob.Unavailable, docblob.FailedPrecondition, 0, 0, docblob.InvalidArgument})
		if len(reports) != 1 {
			t.Errorf("OnCleanupError reported %v, want the one payload that failed", reports)
		}
		// r0 (failed before reaching the driver) and r1 (stale) remain; the
		// failed payload of r3 is an orphan, removed here.
		for _, sk := range []string{"r0", "r1"} {
			must(t, e.store.Get(e.ctx, &record{PK: "delfail", SK: sk}), "Get "+sk)
		}
		if err := e.store.Get(e.ctx, &record{PK: "delfail", SK: "r3"}); docblob.Code(err) != docblob.NotFound {
			t.Errorf("Get r3 after DeleteMany: %v, want NotFound", err)
		}
		wantConsistent(e.ctx, t, e.store, "after the failed payload delete", true)
		must(t, e.rawDriver().DeleteBlob(e.ctx, failing), "raw DeleteBlob")
		for _, sk := range []string{"r0", "r1"} {
			must(t, e.store.Delete(e.ctx, &record{PK: "delfail", SK: sk}), "Delete "+sk)
		}
	})
	t.Run("SweepExpired", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		recs := putRecords(t, e, "expired", 4)
		raw := e.rawDriver()
		for _, r := range recs[:2] { // deleted behind the store's back (a TTL, another tool)
			_, err := raw.DeleteDocument(e.ctx, driver.Key{Partition: r.PK, Sort: r.SK}, driver.Condition{})
			must(t, err, "raw DeleteDocument")
		}
		drv, err := e.h.MakeDriver(e.ctx)
		must(t, err, "MakeDriver")
		aged, err := docblob.NewStore(shiftedDriver{spy.New(drv), 48 * time.Hour}, nil)
		if err != nil {
			drv.Close()
			t.Fatal(err)
		}
		defer aged.Close()
		var progress []docblob.SweepResult
		res, err := aged.Sweep(e.ctx, &docblob.SweepOptions{BatchSize: 3, Progress: func(r docblob.SweepResult) { progress = append(progress, r) }})
		must(t, err, "Sweep")
		if res.Orphans != 2 || res.Deleted != 2 || res.Referenced != 2 || res.Failed != 0 {
			t.Errorf("Sweep: %+v, want the 2 payloads of the expired documents deleted and 2 kept", res)
		}
		if len(progress) == 0 || progress[len(progress)-1] != *res {
			t.Errorf("Sweep reported progress %+v, ending with the result %+v", progress, *res)
		}
		for _, r := range recs[:2] {
			if _, err := raw.StatBlob(e.ctx, r.File.Key()); driver.Classify(raw, err) != driver.NotFound {
				t.Errorf("payload of expired %s: StatBlob error %v, want NotFound", r.SK, err)
			}
		}
	})
}

// putRecords stores n records with payloads in partition pk, r0 to r(n-1).
func putRecords(t *testing.T, e *env, pk string, n int) []*record {
	t.Helper()
	recs := make([]*record, n)
	for i := range recs {
		sk := fmt.Sprintf("r%d", i)
		recs[i] = &record{PK: pk, SK: sk, Title: "title " + sk, File: docblob.NewBlobBytes([]byte("payload "+sk), nil)}
		must(t, e.store.Put(e.ctx, recs[i]), "Put "+sk)
	}
	return recs
}

// wantCodes checks the code of each error (0 for nil).
func wantCodes(t *testing.T, call string, errs []error, want []docblob.ErrorCode) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("%s: %d errors, want %d", call, len(errs), len(want))
	}
	for i, err := range errs {
		switch {
		case want[i] == 0 && err != nil:
			t.Errorf("%s: document %d: %v, want success", call, i, err)
		case want[i] != 0 && docblob.Code(err) != want[i]:
			t.Errorf("%s: document %d: %v, want code %v", call, i, err, want[i])
		}
	}
}

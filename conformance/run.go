// Package conformance is the test suite every docblob driver passes, in the
// spirit of testing/fstest and gocloud.dev's drivertest. It has two entry
// points:
//
//   - TestDriver checks a driver's primitives directly, as fstest.TestFS
//     checks a file system: every method of driver.Driver, with errors that
//     name the method, its input and what was expected. It needs no
//     testing.T, so it runs anywhere, and a driver's author runs it first.
//   - Run runs the whole suite through the portable docblob.Store, over
//     drivers that a Harness makes: the write protocol, queries, values,
//     checksums, faults, concurrency, ownership, signed URLs, Check, As
//     and ErrorAs, and TestDriver as its Driver group.
//
// # Writing a driver
//
// A driver implements driver.Driver as package driver documents it. The
// suite also holds every driver to what a DynamoDB table does, so that a
// test double fails where production would:
//
//   - Documents follow DynamoDB's rules for values: Info.DynamoDBValues is
//     true, and PutDocument refuses what driver.CheckDynamoDBValues refuses,
//     with InvalidArgument (its errors wrap that ErrorCode, which
//     Driver.ErrorCode then reports).
//   - Documents read back in canonical form (see driver.Document):
//     driver.CanonicalFields makes it.
//   - The limits in Info are optional: the suite tests those a driver
//     reports, and skips the tests of a limit reported as zero.
//   - Signed URLs are optional: a driver whose Info.SignsURLs is false
//     answers SignedURL with Unimplemented (driver.Unsupported does), and
//     the groups that need signed URLs are skipped. Package localsign gives
//     any driver signed URLs.
//
// A driver behind a network also lets its harness implement Wire, so
// that the suite counts its requests on the wire (against the costs its
// Info states) and loses the responses of its document writes where a
// network loses them, below its client's retries: the LostResponses group
// then checks that a write applied without an answer, with or without
// another writer's write before the client learns of it, is never taken
// for a definite failure and never costs a document its payload.
//
// Then its tests call TestDriver on a driver over fresh storage, and Run
// with a Harness, whose methods say what each needs. Run calls the
// HarnessMaker once per test, for fresh, empty storage:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(ctx context.Context, t *testing.T) (conformance.Harness, error) {
//			return newHarness(t) // fresh, empty storage
//		})
//	}
//
// The package's example (in example_driver_test.go) is a complete driver,
// a map in memory, with its harness: it passes both.
//
// # Running the suite
//
// Subtests have stable names, so one group or case can be selected with
// -run, for example -run 'Conformance/Query/Prefix'. Every test runs
// through the portable docblob.Store, over the harness's driver wrapped in
// a counter, and ends with Store.Check, the consistency checker users run:
// every payload a document references exists with its recorded size, no
// attachment is malformed or foreign, and no payload is orphaned.
package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// Run runs the conformance suite against the drivers that newHarness's
// harnesses make.
func Run(t *testing.T, newHarness HarnessMaker) {
	groups := []struct {
		name string
		run  func(*testing.T, HarnessMaker)
	}{
		{"Driver", testDriver},
		{"RoundTrip", testRoundTrip},
		{"FromFile", testFromFile},
		{"Attachments", testAttachments},
		{"Documents", testDocuments},
		{"Writes", testWrites},
		{"Reads", testReads},
		{"Checksums", testChecksums},
		{"ContentType", testContentType},
		{"Query", testQuery},
		{"QueryResume", testQueryResume},
		{"Keys", testKeys},
		{"Layouts", testLayouts},
		{"BadInput", testBadInput},
		{"Strict", testStrict},
		{"Foreign", testForeign},
		{"Values", testValues},
		{"ValueTypes", testValueTypes},
		{"Check", testCheck},
		{"Batch", testBatch},
		{"As", testAs},
		{"Close", testClose},
		{"Cancel", testCancel},
		{"Concurrency", testConcurrency},
		{"Inline", testInline},
		{"SignedURLs", testSignedURLs},
		{"UploadTokens", testUploadTokens},
		{"RequestCounts", testRequestCounts},
		{"Faults", testFaults},
		{"LostResponses", testLostResponses},
		{"Ownership", testOwnership},
		{"Hammer", testHammer},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newHarness) })
	}
}

// env is one test's store over a fresh harness.
type env struct {
	t     *testing.T
	ctx   context.Context
	h     Harness
	spy   *spy.Driver
	store *docblob.Store
}

// newEnv makes a harness and a store over it, closed when the test ends,
// after the storage check.
func newEnv(t *testing.T, newHarness HarnessMaker, opts *docblob.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	h, err := newHarness(ctx, t)
	if err != nil {
		t.Fatalf("making harness: %v", err)
	}
	t.Cleanup(h.Close)
	drv, err := h.MakeDriver(ctx)
	if err != nil {
		t.Fatalf("making driver: %v", err)
	}
	if info := drv.Info(); info.PartitionKey != "pk" || info.SortKey != "sk" {
		drv.Close()
		t.Fatalf("Harness.MakeDriver must return drivers with the key attributes \"pk\" and \"sk\", not %q and %q", info.PartitionKey, info.SortKey)
	}
	e := &env{t: t, ctx: ctx, h: h, spy: spy.New(drv)}
	if e.store, err = docblob.NewStore(e.spy, opts); err != nil {
		drv.Close()
		t.Fatalf("NewStore: %v", err)
	}
	// Claim the namespace up front, so that request counts are those of
	// the operations under test.
	if err := e.store.ClaimNamespace(ctx); err != nil {
		e.store.Close()
		t.Fatalf("ClaimNamespace: %v", err)
	}
	e.spy.Reset()
	t.Cleanup(func() {
		if !t.Failed() {
			e.checkStorage()
		}
		if err := e.store.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// rawDriver returns a second driver over the env's storage, for looking
// behind the store's back.
func (e *env) rawDriver() driver.Driver {
	e.t.Helper()
	d, err := e.h.MakeDriver(e.ctx)
	if err != nil {
		e.t.Fatalf("making driver: %v", err)
	}
	e.t.Cleanup(func() { d.Close() })
	return d
}

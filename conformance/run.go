// Package conformance is the test suite every docblob driver passes, in the
// spirit of testing/fstest and gocloud.dev's drivertest: a driver's own
// tests call Run with a harness over its storage.
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(ctx context.Context, t *testing.T) (conformance.Harness, error) {
//			return newHarness(t) // fresh, empty storage
//		})
//	}
//
// Subtests have stable names, so one group or case can be selected with
// -run, for example -run 'Conformance/Query/Prefix'. Every test runs
// through the portable docblob.Store, over the harness's driver wrapped in
// a counter, and ends by checking the storage: every payload a document
// references exists with its recorded size, and no payload is orphaned.
//
// Harness drivers must use the default key attribute names, "pk" and "sk".
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
		{"RoundTrip", testRoundTrip},
		{"Attachments", testAttachments},
		{"Documents", testDocuments},
		{"Writes", testWrites},
		{"Reads", testReads},
		{"StatBlob", testStatBlob},
		{"ContentType", testContentType},
		{"Query", testQuery},
		{"QueryResume", testQueryResume},
		{"Keys", testKeys},
		{"BadInput", testBadInput},
		{"Strict", testStrict},
		{"Foreign", testForeign},
		{"Values", testValues},
		{"ValueTypes", testValueTypes},
		{"Close", testClose},
		{"Cancel", testCancel},
		{"Concurrency", testConcurrency},
		{"Inline", testInline},
		{"SignedURLs", testSignedURLs},
		{"UploadTokens", testUploadTokens},
		{"RequestCounts", testRequestCounts},
		{"Faults", testFaults},
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
		t.Fatalf("conformance needs key attributes \"pk\" and \"sk\"; the harness's driver has %q and %q", info.PartitionKey, info.SortKey)
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

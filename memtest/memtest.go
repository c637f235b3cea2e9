// Package memtest helps users unit-test code that uses docblob, in the
// spirit of net/http/httptest and testing/fstest: New returns a ready
// *docblob.Store on the in-memory driver, the Fail helpers make chosen
// operations fail so that a service's error handling can be tested, and the
// assertions list what is stored and check that no payload is orphaned.
//
//	func TestArchive(t *testing.T) {
//		store := memtest.New(t)
//		svc := NewService(store)
//		memtest.FailNext(store, memtest.PutDocument, errors.New("boom"))
//		if err := svc.Archive(ctx, invoice); err == nil {
//			t.Fatal("want the store's error")
//		}
//		memtest.AssertConsistent(t, store) // nothing half-written
//	}
//
// The helpers work on stores made by New only.
package memtest

import (
	"context"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/check"
	"github.com/docblob/docblob/internal/spy"
)

// Config configures New. The zero value gives a store like mem://.
type Config struct {
	// Store configures the portable store (inline threshold, prefix, ...).
	Store docblob.Options
	// Memory configures the memory driver (key names, size limit).
	Memory memstore.Options
}

// New returns a store on a new, empty memory driver, closed by
// tb.Cleanup. Clean-up failures after writes (see
// docblob.Options.OnCleanupError) are logged with tb.Logf.
func New(tb testing.TB) *docblob.Store {
	tb.Helper()
	return NewWithConfig(tb, nil)
}

// NewWithConfig is New with a configuration; cfg may be nil.
func NewWithConfig(tb testing.TB, cfg *Config) *docblob.Store {
	tb.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	opts := cfg.Store
	if opts.OnCleanupError == nil {
		opts.OnCleanupError = func(err error) { tb.Logf("docblob clean-up: %v", err) }
	}
	sp := spy.New(memstore.New(&cfg.Memory))
	store, err := docblob.NewStore(sp, &opts)
	if err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	// Claim the namespace up front, so that Calls counts only what the
	// test does.
	if err := store.ClaimNamespace(context.Background()); err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	sp.Reset()
	return store
}

// spyOf returns the fault-injecting wrapper of a store made by New.
func spyOf(s *docblob.Store) *spy.Driver {
	var sp *spy.Driver
	if !s.As(&sp) {
		panic("memtest: the store was not made by memtest.New")
	}
	return sp
}

// driverOf returns the driver under a store made by New.
func driverOf(s *docblob.Store) driver.Driver { return spyOf(s).Driver }

// Document is a stored document as the driver holds it.
type Document = driver.Document

// Documents returns every stored document, ordered by partition and sort
// key.
func Documents(tb testing.TB, s *docblob.Store) []*Document {
	tb.Helper()
	docs, err := check.Documents(context.Background(), driverOf(s))
	if err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	return docs
}

// Payloads returns the size of every payload in the blob store, by storage
// key. Inline payloads live in their documents and are not listed.
func Payloads(tb testing.TB, s *docblob.Store) map[string]int64 {
	tb.Helper()
	p, err := check.Payloads(context.Background(), driverOf(s))
	if err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	return p
}

// AssertConsistent fails the test if any document references a missing
// payload (or one of another size), or any payload is orphaned: stored but
// referenced by no document.
func AssertConsistent(tb testing.TB, s *docblob.Store) {
	tb.Helper()
	problems, err := check.Storage(context.Background(), driverOf(s))
	if err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	for _, p := range problems {
		tb.Errorf("memtest: %s", p)
	}
}

// AssertEmpty fails the test unless the store holds no document and no
// payload.
func AssertEmpty(tb testing.TB, s *docblob.Store) {
	tb.Helper()
	if docs := Documents(tb, s); len(docs) > 0 {
		tb.Errorf("memtest: %d documents stored, want none", len(docs))
	}
	if p := Payloads(tb, s); len(p) > 0 {
		tb.Errorf("memtest: %d payloads stored, want none", len(p))
	}
}

// Package memtest helps users unit-test code that uses docblob, in the
// spirit of net/http/httptest and testing/fstest: New returns a ready
// *docblob.Store in memory, with signed URLs served by a local test server
// and a fake clock; the fault helpers make chosen operations fail, so that
// a service's error handling can be tested; and the assertions list what is
// stored and check what the store's Check would report in production.
//
//	func TestArchive(t *testing.T) {
//		store := memtest.New(t)
//		svc := NewService(store)
//		memtest.FailNext(store, memtest.PutDocument, docblob.PermissionDenied)
//		if err := svc.Archive(ctx, invoice); err == nil {
//			t.Fatal("want the store's error")
//		}
//		memtest.AssertConsistent(t, store) // nothing half-written
//	}
//
// # The store
//
// New stacks three drivers: the memory driver (package drivers/memstore)
// at the bottom; over it a fault injector, which counts calls (Calls) and
// fails those a test chooses (FailNext and the other fault helpers); and
// on top a localsign signer (package localsign), which gives the store
// signed URLs. Faults are injected below the signer, so the test server's
// reads and writes for signed URLs go through the injector too: they are
// counted, and can be made to fail.
//
// # Ambiguous failures
//
// A failed write in memory never lands, and the memory driver knows it. A
// failed write to DynamoDB (a timeout, a reset connection) may still land
// later, so docblob does not delete the payloads of such a write, which a
// committed document could come to reference: it leaves them to Sweep.
// By default a store made by New behaves like the network backend: after
// an injected failure of a document write that is not a definite
// docblob.ErrorCode (see FailNext), the payloads the write stored stay
// behind as orphans, as they would in production, where Store.Check
// reports them and Sweep removes them once they are older than its grace
// period. Orphans lists them, AssertConsistent fails on them, and
// AssertNoBrokenReferences checks everything else. Config.SettledFailures
// turns this off: failed writes are then cleaned up at once, as memory
// allows but production does not.
//
// # Signed URLs and direct uploads
//
// Blob.SignedURL and Store.NewUpload work: New serves the store's signed
// URLs from an httptest.Server on 127.0.0.1 (see Server), closed when the
// test ends. A test downloads and uploads with the server's Client, as a
// browser would with S3's presigned URLs.
//
// # Time and Sweep
//
// A store made by New reads the time from a Clock (see ClockOf), which
// stands still unless the test moves it. Advancing it past Sweep's grace
// period (24 hours by default) lets a test run Sweep and check what it
// removes.
//
// # Other stores
//
// Documents, Payloads, Orphans and the assertions work on any
// *docblob.Store: one from docblob.Open("mem://"), one over a directory
// (package drivers/filestore), even one over a real backend. The
// assertions report what the store's own Check reports (see
// docblob.Store.Check), the checker production runs. Their own calls to
// the driver are never counted by Calls and never meet an injected fault.
// Fault injection, Server and ClockOf need a store made by New or
// NewWithConfig: on another store FaultsOf, Server and ClockOf fail the
// test; the short forms (FailNext, Calls and the rest), which have no test
// to fail, panic.
//
// # Other test frameworks
//
// The assertions and inspection helpers take a TestingT, which needs only
// Errorf and FailNow: a *testing.T, or the test type of another framework
// (testify's require.TestingT is the same interface). New and
// NewWithConfig, which register clean-ups, take a testing.TB.
package memtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/attach"
	"github.com/docblob/docblob/internal/spy"
	"github.com/docblob/docblob/localsign"
)

// Config configures New. The zero value gives a store like mem:// with
// failures as ambiguous as in production, signed URLs and a Clock at the
// current time.
type Config struct {
	// Store configures the portable store (inline threshold, prefix, ...).
	// Leave Store.Now nil: the store's clock is Clock.
	Store docblob.Options
	// Memory configures the memory driver (key names, size limit); options
	// that memstore.New refuses fail the test. Leave Memory.Now nil: the
	// driver's clock is Clock.
	Memory memstore.Options
	// SettledFailures makes failed document writes definite, as they are
	// in memory: the store then deletes a failed write's payloads at once.
	// By default (false) a failed write whose error is not a definite
	// docblob.ErrorCode may still land, as on S3 + DynamoDB, and its
	// payloads are left to Sweep: a test sees the orphans that production
	// would have (see the package documentation, Ambiguous failures).
	SettledFailures bool
	// Clock is the store's clock. If nil, New makes one that starts at the
	// current time; ClockOf returns it either way.
	Clock *Clock
}

// env is what New keeps about a store it made.
type env struct {
	clock  *Clock
	server *httptest.Server
}

// envs maps the stores made by New, while their tests run, to their env.
var envs sync.Map // *docblob.Store → *env

// New returns a store on a new, empty memory driver, closed by
// tb.Cleanup, with signed URLs served by a test server and a Clock at the
// current time. Clean-up failures after writes (see
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
	if cfg.Store.Now != nil || cfg.Memory.Now != nil {
		tb.Fatalf("memtest: set Config.Clock, not Config.Store.Now or Config.Memory.Now: the store and the driver must share one clock")
	}
	clock := cfg.Clock
	if clock == nil {
		clock = NewClock(time.Now().Round(0))
	}
	opts := cfg.Store
	opts.Now = clock.Now
	if opts.OnCleanupError == nil {
		opts.OnCleanupError = func(err error) { tb.Logf("docblob clean-up: %v", err) }
	}
	mem := cfg.Memory
	mem.Now = clock.Now
	drv, err := memstore.New(&mem)
	if err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	sp := spy.NewWithOptions(drv, &spy.Options{Unsettled: !cfg.SettledFailures})

	// The signer's URLs point at the listener, which the server then
	// serves the signer's handler on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("memtest: starting the signed-URL server: %v", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	signer := localsign.New(sp, secret, "http://"+l.Addr().String()+"/blobs")
	srv := httptest.NewUnstartedServer(signer.Handler())
	srv.Listener.Close()
	srv.Listener = l

	store, err := docblob.NewStore(signer.Driver(), &opts)
	if err != nil {
		l.Close()
		tb.Fatalf("memtest: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	srv.Start()
	// Cleanups run last first: the server stops (its requests cut off)
	// before the store closes.
	tb.Cleanup(func() {
		envs.Delete(store)
		srv.CloseClientConnections()
		srv.Close()
	})
	envs.Store(store, &env{clock: clock, server: srv})
	// Claim the namespace up front, so that Calls counts only what the
	// test does.
	if err := store.ClaimNamespace(context.Background()); err != nil {
		tb.Fatalf("memtest: %v", err)
	}
	sp.Reset()
	return store
}

// TestingT is what the assertions and inspection helpers need of a test:
// a *testing.T, a *testing.B or any testing.TB satisfies it, and so does
// the test type of another framework (testify's require.TestingT, for
// one). If it also has a Helper method, as testing.TB does, the helpers
// call it.
type TestingT interface {
	Errorf(format string, args ...any)
	FailNow()
}

// helper calls t.Helper if t has one.
func helper(t TestingT) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
}

// fatalf reports a failure and stops the test, as testing.TB.Fatalf does.
func fatalf(t TestingT, format string, args ...any) {
	helper(t)
	t.Errorf(format, args...)
	t.FailNow()
}

// envOf returns what New keeps about s, failing the test if New did not
// make s.
func envOf(t TestingT, s *docblob.Store, what string) *env {
	helper(t)
	e, ok := envs.Load(s)
	if !ok {
		fatalf(t, "memtest: %s needs a store made by memtest.New or NewWithConfig (in a test still running)", what)
		return nil
	}
	return e.(*env)
}

// Server returns the test server that serves the signed URLs of a store
// made by New: Blob.SignedURL and Store.NewUpload return URLs on it, and
// its Client sends requests to them. It listens on 127.0.0.1 and is
// closed when the test ends; do not close it. It serves signed URLs only,
// under any path. On a store not made by New, Server fails the test.
func Server(t TestingT, s *docblob.Store) *httptest.Server {
	helper(t)
	return envOf(t, s, "Server").server
}

// ClockOf returns the Clock of a store made by New: the Clock given in
// Config.Clock, or the one New made. On a store not made by New, ClockOf
// fails the test.
func ClockOf(t TestingT, s *docblob.Store) *Clock {
	helper(t)
	return envOf(t, s, "ClockOf").clock
}

// inspect returns a context for the helpers' own driver calls, which a
// store made by New neither counts nor faults.
func inspect() context.Context { return spy.Bypass(context.Background()) }

// driverOf returns the driver of any store.
func driverOf(t TestingT, s *docblob.Store) driver.Driver {
	helper(t)
	var d driver.Driver
	if !s.As(&d) || d == nil {
		fatalf(t, "memtest: the store does not expose its driver")
	}
	return d
}

// Document is a stored document as the driver holds it.
type Document = driver.Document

// Documents returns every stored document, ordered by partition and sort
// key.
func Documents(t TestingT, s *docblob.Store) []*Document {
	helper(t)
	d := driverOf(t, s)
	var docs []*Document
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(inspect(), q)
		if err != nil {
			fatalf(t, "memtest: scanning documents: %v", err)
			return nil
		}
		docs = append(docs, page.Documents...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	slices.SortFunc(docs, func(a, b *Document) int {
		return cmp.Or(strings.Compare(a.Key.Partition, b.Key.Partition), strings.Compare(a.Key.Sort, b.Key.Sort))
	})
	return docs
}

// Payloads returns the size of every payload of the store, by storage
// key: the payloads in its namespace (see docblob.Store.Namespace), which
// Check and Sweep look at. Inline payloads live in their documents and are
// not listed.
func Payloads(t TestingT, s *docblob.Store) map[string]int64 {
	helper(t)
	d := driverOf(t, s)
	out := map[string]int64{}
	token := ""
	for {
		page, err := d.ListBlobs(inspect(), s.Namespace(), token)
		if err != nil {
			fatalf(t, "memtest: listing payloads: %v", err)
			return nil
		}
		for _, b := range page.Blobs {
			if !attach.IsOwnerMarker(b.Key) {
				out[b.Key] = b.Size
			}
		}
		if token = page.NextPageToken; token == "" {
			return out
		}
	}
}

// findings returns what s.Check reports, in a stable order.
func findings(t TestingT, s *docblob.Store) []docblob.Finding {
	helper(t)
	var out []docblob.Finding
	for f, err := range s.Check(inspect(), nil) {
		if err != nil {
			fatalf(t, "memtest: checking the store: %v", err)
			return nil
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b docblob.Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Sort, b.Sort),
			cmp.Compare(a.Field, b.Field), cmp.Compare(a.PayloadKey, b.PayloadKey))
	})
	return out
}

// Orphans returns the storage keys of the payloads that no document
// references, sorted: the orphans that the store's Check reports (as
// findings of kind docblob.OrphanPayload) and that Sweep removes once they
// are older than its grace period. They are listed whatever their age, so
// a payload of a write in progress is listed too. In production they are
// left by a crash, a failed clean-up, or an ambiguous failure of a
// document write (see the package documentation); a direct upload never
// committed is one too.
func Orphans(t TestingT, s *docblob.Store) []string {
	helper(t)
	var keys []string
	for _, f := range findings(t, s) {
		if f.Kind == docblob.OrphanPayload {
			keys = append(keys, f.PayloadKey)
		}
	}
	return keys
}

// AssertConsistent fails the test if any document references a missing
// payload (or one of another size), holds a malformed or foreign
// attachment, or any payload is orphaned: stored but referenced by no
// document. It reports every finding of the store's Check (without
// reading payloads to verify their checksums), orphans whatever their
// age: run it when no write is in progress. After an ambiguous failure,
// which leaves orphans as production would, use AssertNoBrokenReferences
// and Orphans instead.
func AssertConsistent(t TestingT, s *docblob.Store) {
	helper(t)
	for _, f := range findings(t, s) {
		t.Errorf("memtest: %s", f)
	}
}

// AssertNoBrokenReferences is AssertConsistent without orphans: it fails
// the test if any document references a missing payload (or one of
// another size), or holds a malformed or foreign attachment, but allows
// payloads that no document references.
func AssertNoBrokenReferences(t TestingT, s *docblob.Store) {
	helper(t)
	for _, f := range findings(t, s) {
		if f.Kind != docblob.OrphanPayload {
			t.Errorf("memtest: %s", f)
		}
	}
}

// AssertEmpty fails the test unless the store holds no document and no
// payload.
func AssertEmpty(t TestingT, s *docblob.Store) {
	helper(t)
	if docs := Documents(t, s); len(docs) > 0 {
		t.Errorf("memtest: %d documents stored, want none", len(docs))
	}
	if p := Payloads(t, s); len(p) > 0 {
		t.Errorf("memtest: %d payloads stored, want none", len(p))
	}
}

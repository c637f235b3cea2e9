package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// FaultRunsEnv names the environment variable that sets how many faulted
// runs the Faults group makes (default 200, or 50 with -short).
const FaultRunsEnv = "DOCBLOB_FAULT_RUNS"

// faultKinds are the ways a driver call fails in a faulted run.
var faultKinds = []string{"definite", "ambiguous", "hang", "crash-before", "crash-after"}

func faultRuns(t *testing.T) int {
	if v := os.Getenv(FaultRunsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("%s=%q is not a count", FaultRunsEnv, v)
		}
		return n
	}
	if testing.Short() {
		return 50
	}
	return 200
}

// docState is what a document may hold: its attachments' contents by
// field, or absent.
type docState struct {
	absent bool
	files  map[string]string
}

func (s docState) String() string {
	if s.absent {
		return "absent"
	}
	keys := make([]string, 0, len(s.files))
	for k, v := range s.files {
		keys = append(keys, fmt.Sprintf("%s=%.12q", k, v))
	}
	slices.Sort(keys)
	return "{" + strings.Join(keys, " ") + "}"
}

func (s docState) equal(o docState) bool {
	if s.absent || o.absent {
		return s.absent == o.absent
	}
	if len(s.files) != len(o.files) {
		return false
	}
	for k, v := range s.files {
		if w, ok := o.files[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// faultStats counts a Faults run.
type faultStats struct {
	runs, ops, failedOps int
	injected             map[string]int
	violations           int
}

// testFaults makes randomized sequences of creates, replaces, updates and
// deletes, with one driver call failing in each run, definitely,
// ambiguously (applied, then an error), by hanging until the deadline, or
// by a crash before or after the call. After each run it checks that no
// document references a missing payload, that every document holds what an
// acknowledged write (or an unacknowledged one) wrote, byte for byte, and
// that a sweep leaves no orphan and removes nothing referenced.
func testFaults(t *testing.T, newHarness HarnessMaker) {
	runs := faultRuns(t)
	e := newEnv(t, newHarness, nil)
	drv, err := e.h.MakeDriver(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp := spy.New(drv)
	var cleanupReports atomic.Int64
	store, err := docblob.NewStore(shiftedDriver{sp, 48 * time.Hour}, &docblob.Options{
		InlineThreshold: 64,
		CleanupTimeout:  time.Second, // a hung clean-up call ends soon
		OnCleanupError:  func(error) { cleanupReports.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stats := &faultStats{injected: map[string]int{}}
	for run := range runs {
		stats.runs++
		rng := rand.New(rand.NewPCG(uint64(run), 0xfa17))
		if !faultedRun(t, e, store, sp, rng, run, stats) {
			stats.violations++
			if stats.violations > 3 {
				t.Fatal("too many violations; stopping")
			}
		}
	}
	t.Logf("faulted runs: %d; operations: %d (%d failed); faults injected: %v; clean-up reports: %d; invariant violations: %d",
		stats.runs, stats.ops, stats.failedOps, stats.injected, cleanupReports.Load(), stats.violations)
}

// faultedRun makes one run and checks the invariants. It reports whether
// they held.
func faultedRun(t *testing.T, e *env, store *docblob.Store, sp *spy.Driver, rng *rand.Rand, run int, stats *faultStats) bool {
	t.Helper()
	part := fmt.Sprintf("run%04d", run)
	keys := []string{"a", "b"}
	allowed := map[string][]docState{}
	for _, k := range keys {
		allowed[k] = []docState{{absent: true}}
	}
	// The fault strikes one of the first calls of the run.
	kind := faultKinds[rng.IntN(len(faultKinds))]
	target := rng.IntN(12)
	var calls atomic.Int64
	fired := atomic.Bool{}
	sp.SetHook(func(op spy.Op) *spy.Fault {
		if op == spy.ListBlobs || op == spy.QueryDocuments || calls.Add(1)-1 != int64(target) {
			return nil
		}
		fired.Store(true)
		switch kind {
		case "definite":
			return &spy.Fault{Err: driver.PermissionDenied}
		case "ambiguous":
			return &spy.Fault{Err: errors.New("connection reset by peer"), Applied: true}
		case "hang":
			return &spy.Fault{Hang: true, HangFor: 500 * time.Millisecond}
		case "crash-before":
			return &spy.Fault{Crash: true}
		}
		return &spy.Fault{Crash: true, Applied: true}
	})
	for step := 0; step < 6; step++ {
		k := keys[rng.IntN(len(keys))]
		stats.ops++
		newState, err := randomOp(e.ctx, store, rng, part, k)
		switch {
		case errors.Is(err, errNoWrite):
			stats.failedOps++
		case err == nil:
			allowed[k] = []docState{newState}
		case errors.Is(err, spy.ErrCrash) || docblob.Code(err) == docblob.Unknown || errors.Is(err, context.DeadlineExceeded) || docblob.Code(err) == docblob.Unavailable:
			// Unacknowledged and possibly applied.
			stats.failedOps++
			allowed[k] = append(allowed[k], newState)
		default:
			stats.failedOps++ // definite: nothing changed
		}
	}
	sp.SetHook(nil)
	if fired.Load() {
		stats.injected[kind]++
	}
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		t.Errorf("run %d (fault %s at call %d): %s", run, kind, target, fmt.Sprintf(format, args...))
	}
	// (1) and (2): references resolve and documents hold what was written.
	checkDocs := func(when string) {
		for _, k := range keys {
			got, err := readState(e.ctx, store, part, k)
			if err != nil {
				fail("%s: reading %s: %v", when, k, err)
				continue
			}
			if !slices.ContainsFunc(allowed[k], got.equal) {
				fail("%s: document %s holds %v, want one of %v", when, k, got, allowed[k])
			}
		}
	}
	checkDocs("after the run")
	// (3) and (4): a sweep removes every orphan and nothing referenced.
	if _, err := store.Sweep(e.ctx, nil); err != nil {
		fail("sweep: %v", err)
	}
	for _, f := range findings(e.ctx, t, store) {
		fail("after the sweep: Check reports %v", f)
	}
	checkDocs("after the sweep")
	// Leave the store empty, so that later runs' sweeps stay cheap.
	for _, k := range keys {
		if err := store.Delete(e.ctx, &faultDoc{PK: part, SK: k}); err != nil {
			fail("deleting %s: %v", k, err)
		}
	}
	return ok
}

// faultDoc is the document of faulted runs.
type faultDoc struct {
	PK       string        `docstore:"pk"`
	SK       string        `docstore:"sk"`
	A        *docblob.Blob `docstore:"a"`
	B        *docblob.Blob `docstore:"b"`
	Revision any           `docstore:"DocstoreRevision"`
}

// errNoWrite marks an operation that failed before it could write.
var errNoWrite = errors.New("failed before writing")

// randomOp applies a random write to document k and returns the state it
// would leave. The state is decided before the write, so that a simulated
// crash (a panic out of the store) still reports it.
func randomOp(ctx context.Context, store *docblob.Store, rng *rand.Rand, part, k string) (state docState, err error) {
	defer spy.Recover(&err)
	payload := func() string {
		sizes := []int{0, 10, 64, 65, 300, 5000, 70000}
		b := make([]byte, sizes[rng.IntN(len(sizes))])
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	// Hangs end by themselves (Fault.HangFor), so operations need no short
	// deadline, which on a slow machine could abandon a request that the
	// server applies later, after newer writes: the model could not tell.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	switch op := rng.IntN(5); op {
	case 0, 1: // unconditional put of fresh attachments
		a := payload()
		doc := &faultDoc{PK: part, SK: k, A: docblob.NewBlobBytes([]byte(a), nil)}
		state = docState{files: map[string]string{"a": a}}
		if op == 1 {
			b := payload()
			doc.B = docblob.NewBlob(strings.NewReader(b), nil)
			state.files["b"] = b
		}
		return state, store.Put(ctx, doc)
	case 2: // read, replace one attachment, keep the other, with revision
		doc := &faultDoc{PK: part, SK: k}
		if err := store.Get(ctx, doc); err != nil {
			return docState{}, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		cur, err := stateOf(ctx, doc)
		if err != nil {
			return docState{}, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		a := payload()
		doc.A = docblob.NewBlobBytes([]byte(a), nil)
		cur.files["a"] = a
		state = cur
		return state, store.Put(ctx, doc)
	case 3: // create
		a := payload()
		state = docState{files: map[string]string{"a": a}}
		return state, store.Create(ctx, &faultDoc{PK: part, SK: k, A: docblob.NewBlobBytes([]byte(a), nil)})
	default: // delete
		state = docState{absent: true}
		return state, store.Delete(ctx, &faultDoc{PK: part, SK: k})
	}
}

// stateOf reads a document's attachments.
func stateOf(ctx context.Context, doc *faultDoc) (docState, error) {
	st := docState{files: map[string]string{}}
	for name, b := range map[string]*docblob.Blob{"a": doc.A, "b": doc.B} {
		if b == nil {
			continue
		}
		data, err := b.ReadAll(ctx)
		if err != nil {
			return st, err
		}
		st.files[name] = string(data)
	}
	return st, nil
}

// readState reads document k and its payloads, verifying their checksums.
func readState(ctx context.Context, store *docblob.Store, part, k string) (docState, error) {
	doc := &faultDoc{PK: part, SK: k}
	err := store.Get(ctx, doc)
	if docblob.Code(err) == docblob.NotFound {
		return docState{absent: true}, nil
	}
	if err != nil {
		return docState{}, err
	}
	return stateOf(ctx, doc)
}

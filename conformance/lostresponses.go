package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// lostDoc is the document of the LostResponses group.
type lostDoc struct {
	PK       string        `docstore:"pk"`
	SK       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	A        *docblob.Blob `docstore:"a"`
	Revision any           `docstore:"DocstoreRevision"`
}

// lostState is what a lostDoc holds: its title and its attachment's
// content, or absent.
type lostState struct {
	absent   bool
	title, a string
}

func (s lostState) String() string {
	if s.absent {
		return "absent"
	}
	return fmt.Sprintf("{title %q, a %q}", s.title, s.a)
}

// lostCase is a write whose response the group loses.
type lostCase struct {
	name string
	// exists makes the document exist before the write, as {old, old}.
	exists bool
	// unconditional marks a write that applies whatever the document
	// holds (Put without a revision, Delete without one): a client that
	// re-sends it may apply it after the other writer's write.
	unconditional bool
	// op is the driver call whose response is lost, for harnesses
	// without Wire.
	op spy.Op
	// write makes the write through s and returns the state it leaves.
	write func(ctx context.Context, s *docblob.Store) (lostState, error)
}

// lostCases are the writes the group loses, one per kind of condition.
var lostCases = []lostCase{
	{"Create", false, false, spy.PutDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		return lostState{title: "A", a: "new"}, s.Create(ctx, newLostDoc("A", "new"))
	}},
	{"PutNew", false, true, spy.PutDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		return lostState{title: "A", a: "new"}, s.Put(ctx, newLostDoc("A", "new"))
	}},
	{"PutReplace", true, true, spy.PutDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		return lostState{title: "A", a: "new"}, s.Put(ctx, newLostDoc("A", "new"))
	}},
	{"PutRevision", true, false, spy.PutDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		doc := &lostDoc{PK: "lost", SK: "doc"}
		if err := s.Get(ctx, doc); err != nil {
			return lostState{}, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		doc.Title, doc.A = "A", docblob.NewBlobBytes([]byte("new"), nil)
		return lostState{title: "A", a: "new"}, s.Put(ctx, doc)
	}},
	{"PutKeep", true, false, spy.PutDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		doc := &lostDoc{PK: "lost", SK: "doc"}
		if err := s.Get(ctx, doc); err != nil {
			return lostState{}, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		doc.Title = "A"
		return lostState{title: "A", a: "old"}, s.Put(ctx, doc)
	}},
	{"Delete", true, true, spy.DeleteDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		return lostState{absent: true}, s.Delete(ctx, &lostDoc{PK: "lost", SK: "doc"})
	}},
	{"DeleteRevision", true, false, spy.DeleteDocument, func(ctx context.Context, s *docblob.Store) (lostState, error) {
		doc := &lostDoc{PK: "lost", SK: "doc"}
		if err := s.Get(ctx, doc); err != nil {
			return lostState{}, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		return lostState{absent: true}, s.Delete(ctx, doc)
	}},
}

func newLostDoc(title, a string) *lostDoc {
	return &lostDoc{PK: "lost", SK: "doc", Title: title, A: docblob.NewBlobBytes([]byte(a), nil)}
}

// errLostResponse is the failure a lost response becomes at the driver's
// interface, for harnesses without Wire.
var errLostResponse = errors.New("read tcp 127.0.0.1: connection reset by peer (response lost by the conformance suite)")

// testLostResponses loses the response of a document write that storage
// applied, once alone (Lost) and once with another writer's write
// between the lost write and the moment its writer learns of the failure
// (Interleaved), where a client that re-sends writes would re-send it. The
// other writer does what users do: it reads the document and writes it
// back with another title, keeping the attachment (or creates it again,
// if the lost write deleted it).
//
// The store that lost the response must not report a definite failure
// (the write was applied), and must not delete a payload that a document
// references: afterwards the document holds what the last applied write
// wrote, its payload reads back whole, and a sweep leaves storage
// consistent. A client that re-sends a write after a lost response may
// see its own applied write as a conflict: it must not take that for a
// definite failure. Re-sent, a conditional write fails on the other
// writer's version, which stays; an unconditional one may apply again
// after it (the two writes were concurrent, so either order is right),
// and must then report the other writer's version as the one it
// replaced, so that its payloads are handled as replaced.
//
// Responses are lost on the wire through a harness's Wire, and at the
// driver's interface otherwise (see Wire).
func testLostResponses(t *testing.T, newHarness HarnessMaker) {
	for _, mode := range []string{"Lost", "Interleaved"} {
		t.Run(mode, func(t *testing.T) {
			for _, c := range lostCases {
				t.Run(c.name, func(t *testing.T) { runLostCase(t, newHarness, c, mode == "Interleaved") })
			}
		})
	}
}

// runLostCase runs one lost write, interleaved with another writer's
// write or not, and checks the invariants.
func runLostCase(t *testing.T, newHarness HarnessMaker, c lostCase, interleave bool) {
	e := newEnv(t, newHarness, nil)
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	newStore := func(wrap func(driver.Driver) driver.Driver) *docblob.Store {
		t.Helper()
		drv, err := e.h.MakeDriver(ctx)
		must(t, err, "MakeDriver")
		s, err := docblob.NewStore(wrap(drv), nil)
		if err != nil {
			drv.Close()
			t.Fatalf("NewStore: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	wire, onWire := e.h.(Wire)
	var sp *spy.Driver
	store := newStore(func(d driver.Driver) driver.Driver {
		if !onWire && !d.Info().SettledOnReturn {
			t.Fatalf("the driver's Info.SettledOnReturn is false (it is behind a network), so its harness must implement conformance.Wire, for the suite to lose responses where its client would")
		}
		// Without Wire, the lost response is an applied call that fails:
		// a driver behind a network, whose failed writes may have been
		// applied.
		sp = spy.NewWithOptions(d, &spy.Options{Unsettled: !onWire})
		return notOwnVersion{sp, t}
	})
	other := newStore(func(d driver.Driver) driver.Driver { return d })
	sweeper := newStore(func(d driver.Driver) driver.Driver { return shiftedDriver{spy.New(d), 48 * time.Hour} })

	if c.exists {
		must(t, store.Put(ctx, newLostDoc("old", "old")), "Put of the document before the lost write")
	}
	var lost atomic.Int32
	var want lostState
	var otherErr error
	then := func() {
		lost.Add(1)
		if !interleave {
			return
		}
		want, otherErr = otherWrite(ctx, other)
	}
	if onWire {
		wire.LoseWriteResponse(then)
	} else {
		var armed atomic.Bool
		armed.Store(true)
		sp.SetHook(func(op spy.Op) *spy.Fault {
			if op != c.op || !armed.CompareAndSwap(true, false) {
				return nil
			}
			return &spy.Fault{Err: errLostResponse, Applied: true, Then: then}
		})
	}
	applied, err := c.write(ctx, store)
	if sp != nil {
		sp.SetHook(nil)
	}
	if errors.Is(err, errNoWrite) {
		t.Fatalf("reading before the write: %v", err)
	}
	if n := lost.Load(); n != 1 {
		t.Fatalf("the write's response was lost %d times, want once: the harness did not lose it (or lost another)", n)
	}
	must(t, otherErr, "the other writer's write")
	wants := []lostState{want}
	if !interleave {
		wants = []lostState{applied}
	} else if c.unconditional {
		wants = append(wants, applied)
	}
	if err != nil && driver.NotApplied(docblob.Code(err), err) {
		t.Errorf("the write whose response was lost failed with %q (code %v): a failure that says it was not applied (a definite code, or marked driver.ErrNotApplied), but storage applied it", err, docblob.Code(err))
	}
	t.Logf("the write returned %v", err)
	got := wantLostState(ctx, t, store, wants, "after the write")
	if _, err := sweeper.Sweep(ctx, nil); err != nil {
		t.Errorf("Sweep: %v", err)
	}
	wantConsistent(ctx, t, sweeper, "after the sweep", false)
	wantLostState(ctx, t, store, []lostState{got}, "after the sweep")
}

// notOwnVersion fails the test if a document write reports that it
// replaced its own version: a client that re-sent a write whose first
// attempt was applied finds that version in storage, and must report the
// version the first attempt replaced (none, if it created the document),
// not the one it wrote itself, nor write it again as if someone else had.
type notOwnVersion struct {
	driver.Driver
	t *testing.T
}

// PutDocument implements driver.Driver.
func (d notOwnVersion) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	prev, err := d.Driver.PutDocument(ctx, doc, cond)
	if err == nil && prev != nil && prev.Revision == doc.Revision {
		d.t.Errorf("PutDocument of revision %s reported that it replaced revision %s, its own version", doc.Revision, prev.Revision)
	}
	return prev, err
}

// otherWrite is the interleaved writer's write: it reads the document
// and writes it back with another title, keeping its attachment, or
// creates it again if it is absent. It returns the state it leaves.
func otherWrite(ctx context.Context, s *docblob.Store) (lostState, error) {
	doc := &lostDoc{PK: "lost", SK: "doc"}
	err := s.Get(ctx, doc)
	if docblob.Code(err) == docblob.NotFound {
		return lostState{title: "B", a: "from B"}, s.Create(ctx, newLostDoc("B", "from B"))
	}
	if err != nil {
		return lostState{}, err
	}
	data, err := doc.A.ReadAll(ctx)
	if err != nil {
		return lostState{}, err
	}
	doc.Title = "B"
	return lostState{title: "B", a: string(data)}, s.Put(ctx, doc)
}

// wantLostState fails the test unless the document holds one of wants
// and its attachment reads back whole. It returns what the document
// holds.
func wantLostState(ctx context.Context, t *testing.T, s *docblob.Store, wants []lostState, when string) lostState {
	t.Helper()
	doc := &lostDoc{PK: "lost", SK: "doc"}
	err := s.Get(ctx, doc)
	var got lostState
	switch {
	case docblob.Code(err) == docblob.NotFound:
		got.absent = true
	case err != nil:
		t.Errorf("%s: Get: %v", when, err)
		return got
	case doc.A == nil:
		got.title = doc.Title
	default:
		data, err := doc.A.ReadAll(ctx)
		if err != nil {
			t.Errorf("%s: the document's attachment does not read back: %v", when, err)
			return got
		}
		got = lostState{title: doc.Title, a: string(data)}
	}
	if !slices.Contains(wants, got) {
		t.Errorf("%s: the document holds %v, want one of %v", when, got, wants)
	}
	return got
}

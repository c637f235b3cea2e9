package memtest

import (
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

// Op names a driver primitive that a fault can target.
type Op = spy.Op

// The primitives a store's operations are made of. Put writes each new
// payload (WriteBlob), then the document (PutDocument), then deletes
// superseded payloads (DeleteBlob); a Put that commits a direct upload
// reads the upload (StatBlob or OpenBlob) instead of writing it; Get is
// GetDocument; Blob.Open is OpenBlob; Delete is DeleteDocument then
// DeleteBlob per attachment; queries are QueryDocuments. GetMany reads
// documents with GetDocuments, up to 100 per call; DeleteMany deletes each
// document with DeleteDocument, then the payloads with DeleteBlobs, up to
// 1,000 per call; Sweep lists payloads (ListBlobs), reads their documents
// (GetDocuments) and deletes orphans (DeleteBlobs); Check also scans the
// documents (QueryDocuments) and stats each referenced payload (StatBlob). The test server
// of signed URLs (see Server) checks that the payload exists, or is free
// for an upload (StatBlob or ListBlobs), then reads it (OpenBlob) or
// writes it (WriteBlob).
const (
	GetDocument    = spy.GetDocument
	PutDocument    = spy.PutDocument
	DeleteDocument = spy.DeleteDocument
	QueryDocuments = spy.QueryDocuments
	WriteBlob      = spy.WriteBlob
	OpenBlob       = spy.OpenBlob
	StatBlob       = spy.StatBlob
	DeleteBlob     = spy.DeleteBlob
	ListBlobs      = spy.ListBlobs
	GetDocuments   = spy.GetDocuments
	DeleteBlobs    = spy.DeleteBlobs
)

// Faults injects faults into the driver of a store made by New, and counts
// the driver's calls. Get one with FaultsOf. The faults queued for an op
// meet its next calls, the store's and the test server's (see Server)
// alike, one call each, in the order they were queued; the memtest
// helpers' own calls never meet them and are not counted.
type Faults struct {
	sp *spy.Driver
}

// FaultsOf returns the fault injector of a store made by New or
// NewWithConfig. On any other store, which has none, it fails the test.
//
// The package-level FailNext, Calls and the rest are short forms of its
// methods for stores made by New.
func FaultsOf(t TestingT, s *docblob.Store) *Faults {
	helper(t)
	var sp *spy.Driver
	if !s.As(&sp) {
		fatalf(t, "memtest: fault injection needs a store made by memtest.New or NewWithConfig")
		return nil
	}
	return &Faults{sp: sp}
}

// FailNext makes the next call of op fail with err without reaching the
// storage. If err is (or wraps) a docblob.ErrorCode, such as
// docblob.PermissionDenied, the store sees that code. A code that says the
// write was not applied (NotFound, AlreadyExists, FailedPrecondition,
// InvalidArgument, PermissionDenied, TooLarge, Corrupt, Unimplemented) is
// a definite failure: the store deletes what the write uploaded. Unknown,
// Unavailable and any other error (a *docblob.Error included: pass its
// Code) are ambiguous, as a timeout is in production: unless the store was
// made with Config.SettledFailures, a failed document write then leaves
// its payloads to Sweep.
func (f *Faults) FailNext(op Op, err error) { f.FailNextN(op, 1, err) }

// FailNextN makes the next n calls of op fail as FailNext does.
func (f *Faults) FailNextN(op Op, n int, err error) {
	f.sp.FailNext(op, n, spy.Fault{Err: err})
}

// FailNextAfterApplying makes the next call of op reach the storage and
// take effect, then return err anyway: the lost response of a write that
// succeeded, the hardest failure for error handling.
func (f *Faults) FailNextAfterApplying(op Op, err error) {
	f.sp.FailNext(op, 1, spy.Fault{Err: err, Applied: true})
}

// HangNext makes the next call of op block until its context is done, then
// return the context's error, as a backend that stopped answering would.
func (f *Faults) HangNext(op Op) { f.sp.FailNext(op, 1, spy.Fault{Hang: true}) }

// Clear drops the faults not yet triggered.
func (f *Faults) Clear() { f.sp.ClearFaults() }

// Calls returns how many times each primitive was called since the store
// was made or ResetCalls was last called, faulted calls included.
// Primitives not called are absent.
func (f *Faults) Calls() map[Op]int { return f.sp.Counts() }

// ResetCalls zeroes the counts that Calls returns.
func (f *Faults) ResetCalls() { f.sp.Reset() }

// faultsOf is FaultsOf for the short forms, which have no test to fail.
func faultsOf(s *docblob.Store) *Faults {
	var sp *spy.Driver
	if !s.As(&sp) {
		panic("memtest: fault injection needs a store made by memtest.New or NewWithConfig (memtest.FaultsOf(t, store) fails the test instead of panicking)")
	}
	return &Faults{sp: sp}
}

// FailNext is FaultsOf(t, s).FailNext(op, err), for a store made by New;
// it panics on another store.
func FailNext(s *docblob.Store, op Op, err error) { faultsOf(s).FailNext(op, err) }

// FailNextN is FaultsOf(t, s).FailNextN(op, n, err), for a store made by
// New; it panics on another store.
func FailNextN(s *docblob.Store, op Op, n int, err error) { faultsOf(s).FailNextN(op, n, err) }

// FailNextAfterApplying is FaultsOf(t, s).FailNextAfterApplying(op, err),
// for a store made by New; it panics on another store.
func FailNextAfterApplying(s *docblob.Store, op Op, err error) {
	faultsOf(s).FailNextAfterApplying(op, err)
}

// HangNext is FaultsOf(t, s).HangNext(op), for a store made by New; it
// panics on another store.
func HangNext(s *docblob.Store, op Op) { faultsOf(s).HangNext(op) }

// ClearFaults is FaultsOf(t, s).Clear(), for a store made by New; it
// panics on another store.
func ClearFaults(s *docblob.Store) { faultsOf(s).Clear() }

// Calls is FaultsOf(t, s).Calls(), for a store made by New; it panics on
// another store.
func Calls(s *docblob.Store) map[Op]int { return faultsOf(s).Calls() }

// ResetCalls is FaultsOf(t, s).ResetCalls(), for a store made by New; it
// panics on another store.
func ResetCalls(s *docblob.Store) { faultsOf(s).ResetCalls() }

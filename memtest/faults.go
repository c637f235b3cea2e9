package memtest

import (
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

// Op names a driver primitive that a fault can target.
type Op = spy.Op

// The primitives a store's operations are made of. Put writes each new
// payload (WriteBlob), then the document (PutDocument), then deletes
// superseded payloads (DeleteBlob); Get is GetDocument; Blob.Open is
// OpenBlob; Delete is DeleteDocument then DeleteBlob per attachment; queries
// are QueryDocuments.
const (
	GetDocument    = spy.GetDocument
	PutDocument    = spy.PutDocument
	DeleteDocument = spy.DeleteDocument
	QueryDocuments = spy.QueryDocuments
	WriteBlob      = spy.WriteBlob
	OpenBlob       = spy.OpenBlob
	DeleteBlob     = spy.DeleteBlob
	ListBlobs      = spy.ListBlobs
)

// FailNext makes the next call of op fail with err without reaching the
// storage. If err is (or wraps) a docblob.ErrorCode, such as
// docblob.PermissionDenied, the store sees that code; any other error is
// treated as an ambiguous failure of unknown kind.
func FailNext(s *docblob.Store, op Op, err error) {
	FailNextN(s, op, 1, err)
}

// FailNextN makes the next n calls of op fail as FailNext does.
func FailNextN(s *docblob.Store, op Op, n int, err error) {
	spyOf(s).FailNext(op, n, spy.Fault{Err: err})
}

// FailNextAfterApplying makes the next call of op reach the storage and
// take effect, then return err anyway: the lost response of a write that
// succeeded, the hardest failure for error handling.
func FailNextAfterApplying(s *docblob.Store, op Op, err error) {
	spyOf(s).FailNext(op, 1, spy.Fault{Err: err, Applied: true})
}

// HangNext makes the next call of op block until its context is done, then
// return the context's error, as a backend that stopped answering would.
func HangNext(s *docblob.Store, op Op) {
	spyOf(s).FailNext(op, 1, spy.Fault{Hang: true})
}

// ClearFaults drops the faults not yet triggered.
func ClearFaults(s *docblob.Store) { spyOf(s).ClearFaults() }

// Calls returns how many times each primitive was called since the store
// was made or ResetCalls was last called. Primitives not called are absent.
func Calls(s *docblob.Store) map[Op]int { return spyOf(s).Counts() }

// ResetCalls zeroes the counts that Calls returns.
func ResetCalls(s *docblob.Store) { spyOf(s).Reset() }

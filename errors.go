package docblob

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docblob/docblob/driver"
)

// ErrorCode is the portable code of a docblob error. An ErrorCode is itself
// an error, so errors.Is(err, docblob.NotFound) reports whether err has that
// code; Code(err) returns it. Every driver reports the same code for the
// same failure (the conformance suite checks it).
//
// What each code means for the caller, and whether retrying the same call
// may help:
//
//	Code                What it means                                    Retry?
//	------------------  -----------------------------------------------  ------
//	Unknown             The backend failed in a way the driver could     Maybe
//	                    not classify. A write that failed with it may
//	                    have been applied (see below).
//	NotFound            The document, or a payload it references, does   No
//	                    not exist (a payload Sweep removed, a direct
//	                    upload never made).
//	AlreadyExists       Create found a document with the key. Nothing    No
//	                    was written.
//	FailedPrecondition  The document's revision field did not match the No
//	                    stored document's (another writer changed or
//	                    deleted it since it was read), or the store is
//	                    closed, or its payload namespace belongs to
//	                    another collection. Nothing was written; Get the
//	                    document, reapply the change and Put again.
//	InvalidArgument     The call was malformed: a bad, missing or        No
//	                    oversized key, a value the backend cannot
//	                    store, bad options, a foreign page or upload
//	                    token. Nothing was written.
//	PermissionDenied    The backend refused the credentials or the       No
//	                    request, or an upload token was forged.
//	TooLarge            A document or payload exceeds a backend limit.   No
//	                    Nothing was written; keep large data in
//	                    attachments.
//	Corrupt             A payload does not match its recorded SHA-256    Maybe
//	                    or size: read in error (a retry may succeed if
//	                    the bytes were damaged on the way), stored in
//	                    error (Check reports it; no retry helps), or
//	                    refused on upload (nothing was written).
//	Unimplemented       The backend does not support the operation:      No
//	                    signed URLs on a driver without a signer (see
//	                    package localsign), a signed URL of an inline
//	                    payload.
//	Unavailable         The backend could not be reached, or throttled   Yes
//	                    after the driver's own retries, or a Put missed
//	                    its commit deadline. A write that failed with it
//	                    may have been applied (see below). Retry with
//	                    backoff.
//
// OK is the code of no error: Code(nil). Context errors are not coded:
// they are returned as they are, and a retry with a live context may help.
//
// A write (Put, Create, Delete) that fails with Unknown or Unavailable may
// have been applied, its response lost: the store is then either as
// before the call or as after it, never in between, and no payload that a
// committed document references is ever deleted. Retrying it is safe
// where the write is conditional: a Put with the revision it read fails
// with FailedPrecondition if the earlier attempt was applied, and Create
// with AlreadyExists. Every other code means the write was not applied.
type ErrorCode = driver.ErrorCode

// Key identifies a document: its partition key and, on stores with sort
// keys, its sort key. Its String method quotes both parts, so that no two
// keys print alike.
type Key = driver.Key

// The portable error codes; see ErrorCode for what each means.
const (
	Unknown            = driver.Unknown
	OK                 = driver.OK
	NotFound           = driver.NotFound
	AlreadyExists      = driver.AlreadyExists
	FailedPrecondition = driver.FailedPrecondition
	InvalidArgument    = driver.InvalidArgument
	PermissionDenied   = driver.PermissionDenied
	TooLarge           = driver.TooLarge
	Corrupt            = driver.Corrupt
	Unimplemented      = driver.Unimplemented
	Unavailable        = driver.Unavailable
)

// Error is the error returned by docblob operations, other than context
// errors, which are returned as they are. It names the operation and the
// document key, carries a portable code, and wraps the underlying error
// (reachable with errors.Unwrap, errors.As, or Store.ErrorAs for driver
// errors). Its message never contains credentials.
type Error struct {
	Code ErrorCode
	Op   string // "put", "get", "delete", "query", "open", "read", ...
	Key  Key    // the document's key, if the error concerns one
	// Payload is the storage key of the payload the error concerns, if
	// one (as Blob.Key): set on the errors reported to
	// Options.OnCleanupError for a payload that could not be deleted.
	Payload string
	Err     error // the underlying error, possibly nil
}

// Error returns a message such as
// `docblob: put ("acme", "2026-001"): already exists: <cause>`.
func (e *Error) Error() string {
	msg := "docblob: " + e.Op
	if e.Key != noKey {
		msg += " " + e.Key.String()
	}
	if e.Payload != "" {
		msg += fmt.Sprintf(" payload %q", e.Payload)
	}
	code := e.Code.String()
	msg += ": " + code
	if e.Err != nil {
		// A driver's error may already start with the code.
		if detail := e.Err.Error(); detail != code {
			msg += ": " + strings.TrimPrefix(detail, code+": ")
		}
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's ErrorCode, so that errors.Is(err,
// docblob.NotFound) works.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// Code returns the portable code of err: OK for nil, the code of a docblob
// *Error anywhere in err's chain, and Unknown otherwise (context errors
// included; test those with errors.Is).
func Code(err error) ErrorCode {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return Unknown
}

// noKey is the key of errors that concern no document.
var noKey Key

func newError(code ErrorCode, op string, key Key, err error) error {
	return &Error{Code: code, Op: op, Key: key, Err: err}
}

func errorf(code ErrorCode, op string, key Key, format string, args ...any) error {
	return &Error{Code: code, Op: op, Key: key, Err: fmt.Errorf(format, args...)}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// contextErr returns the context error in err's chain, unwrapped.
func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

package docblob

import (
	"context"
	"errors"
	"fmt"

	"github.com/docblob/docblob/driver"
)

// ErrorCode is the portable code of a docblob error. An ErrorCode is itself
// an error, so errors.Is(err, docblob.NotFound) reports whether err has that
// code.
type ErrorCode = driver.ErrorCode

// Key identifies a document: its partition key and, on stores with sort
// keys, its sort key. Its String method quotes both parts, so that no two
// keys print alike.
type Key = driver.Key

// The portable error codes. See package driver for what each means.
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
	Err  error  // the underlying error, possibly nil
}

// Error returns a message such as
// `docblob: put ("acme", "2026-001"): already exists: <cause>`.
func (e *Error) Error() string {
	msg := "docblob: " + e.Op
	if e.Key != noKey {
		msg += " " + e.Key.String()
	}
	msg += ": " + e.Code.String()
	if e.Err != nil && e.Err.Error() != e.Code.String() {
		msg += ": " + e.Err.Error()
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

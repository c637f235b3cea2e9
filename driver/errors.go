package driver

import "errors"

// ErrorCode is a portable error code. The root package re-exports it as
// docblob.ErrorCode with the same constants; an ErrorCode is itself an error,
// so errors.Is(err, docblob.NotFound) tests an error's code.
type ErrorCode int

// The portable error codes.
const (
	// Unknown is an error of no known kind. The portable layer treats a
	// failed document write with this code as ambiguous: it may have been
	// applied.
	Unknown ErrorCode = iota
	// OK is never the code of an error; it is what Code returns for nil.
	OK
	// NotFound: the document or payload does not exist.
	NotFound
	// AlreadyExists: a create-only write found a document with the key.
	AlreadyExists
	// FailedPrecondition: a revision did not match.
	FailedPrecondition
	// InvalidArgument: the request was malformed (bad key, bad document,
	// wrong type). Nothing was written.
	InvalidArgument
	// PermissionDenied: the backend refused the credentials or the request.
	PermissionDenied
	// TooLarge: a document or payload exceeds a backend limit (an
	// oversized key is InvalidArgument).
	TooLarge
	// Corrupt: a payload does not match its recorded checksum or size.
	Corrupt
	// Unimplemented: the backend does not support the operation.
	Unimplemented
	// Unavailable: the backend could not be reached or is throttling after
	// retries. A document write failing with it may have been applied.
	Unavailable
)

var codeNames = [...]string{
	Unknown:            "unknown",
	OK:                 "ok",
	NotFound:           "not found",
	AlreadyExists:      "already exists",
	FailedPrecondition: "precondition failed",
	InvalidArgument:    "invalid argument",
	PermissionDenied:   "permission denied",
	TooLarge:           "too large",
	Corrupt:            "corrupt",
	Unimplemented:      "unimplemented",
	Unavailable:        "unavailable",
}

// String returns the code's name, such as "not found".
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "unknown"
}

// Error returns the code's name, so that a code can be the target of
// errors.Is.
func (c ErrorCode) Error() string { return c.String() }

// IsDefinite reports whether a failed document write or delete with code c
// is known not to have been applied, so that the portable layer may delete
// the payloads the write uploaded. Unknown and Unavailable are not definite:
// the request may have reached the backend and been applied.
func IsDefinite(c ErrorCode) bool {
	switch c {
	case NotFound, AlreadyExists, FailedPrecondition, InvalidArgument,
		PermissionDenied, TooLarge, Corrupt, Unimplemented:
		return true
	}
	return false
}

// ErrNotApplied marks the error of a failed document write or delete
// whose code is not definite (see IsDefinite), Unavailable say, when the
// driver knows that the write was not applied and never will be: it sent
// no write, or every write it sent failed definitely (a driver that
// retries lost races and gives up, for one). The driver wraps it in, or
// joins it to, the error it returns:
//
//	&driver.Error{Code: driver.Unavailable, Err: fmt.Errorf("every attempt lost a race: %w", driver.ErrNotApplied)}
//
// The portable layer then deletes the payloads that the write uploaded at
// once, as after a definite failure, instead of leaving them to Sweep. A
// driver must not mark a write that may yet be applied: that would
// delete the payloads of a stored document.
var ErrNotApplied = errors.New("the write was not applied")

// NotApplied reports whether a failed document write or delete with error
// err, of code c, is known not to have been applied: c is definite, or err
// is marked with ErrNotApplied.
func NotApplied(c ErrorCode, err error) bool {
	return IsDefinite(c) || errors.Is(err, ErrNotApplied)
}

// Error is an error whose portable code the driver decided itself: a
// condition that did not hold, a key or argument the driver refuses before
// sending anything, a payload that does not match its checksum, an
// operation it does not support. Err is the underlying error (a sentinel
// of the driver's, or an SDK error it classified), reachable with Unwrap.
//
// The portable layer takes the Code of the first *Error in a driver
// error's chain without calling Driver.ErrorCode (see Classify), so a
// driver that returns only *Error values and raw errors needs ErrorCode for
// the raw ones alone. Drivers return it as a pointer:
//
//	return nil, &driver.Error{Code: driver.AlreadyExists, Err: errExists}
//
// An *Error matches its Code with errors.Is and errors.As, as an error
// that wraps the ErrorCode would: errors.Is(err, driver.NotFound), and
// errors.As into a *ErrorCode, report the Code.
type Error struct {
	Code ErrorCode
	Err  error
}

// Error returns the message of Err, or the code's name if Err is nil. The
// portable layer's error names the code itself.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Code.String()
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the ErrorCode e.Code.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// As sets target to e.Code if it is a *ErrorCode, and reports whether it
// did.
func (e *Error) As(target any) bool {
	p, ok := target.(*ErrorCode)
	if ok {
		*p = e.Code
	}
	return ok
}

// Classify returns the portable code of err, an error that d returned: the
// Code of the first *Error in err's chain if it holds one, and otherwise
// d.ErrorCode(err); OK if err is nil. It is how the portable layer
// classifies driver errors; code that calls a driver directly (a test, a
// server such as localsign's handler) classifies them with it too.
func Classify(d Driver, err error) ErrorCode {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return d.ErrorCode(err)
}

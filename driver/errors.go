package driver

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
	// TooLarge: a key, document or payload exceeds a backend limit.
	TooLarge
	// Corrupt: a payload does not match its recorded SHA-256 or size.
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

// Definite reports whether a failed document write or delete with this code
// is known not to have been applied. Unknown and Unavailable are not
// definite: the request may have reached the backend.
func (c ErrorCode) Definite() bool {
	switch c {
	case NotFound, AlreadyExists, FailedPrecondition, InvalidArgument,
		PermissionDenied, TooLarge, Corrupt, Unimplemented:
		return true
	}
	return false
}

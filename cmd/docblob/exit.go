package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docblob/docblob"
)

// The exit codes. They are part of the command's interface: see the
// package documentation for the table.
const (
	exitOK            = 0
	exitFailure       = 1   // a failure of no other kind (docblob code Unknown, a local file error)
	exitUsage         = 2   // a bad command line: unknown command or flag, wrong arguments
	exitNotFound      = 3   // NotFound: no such document, attachment or payload
	exitAlreadyExists = 4   // AlreadyExists: put --create found a document
	exitPrecondition  = 5   // FailedPrecondition: a revision did not match, the store is not usable
	exitInvalid       = 6   // InvalidArgument: the store refused the request
	exitPermission    = 7   // PermissionDenied
	exitTooLarge      = 8   // TooLarge
	exitCorrupt       = 9   // Corrupt: a payload does not match its checksum or size
	exitUnimplemented = 10  // Unimplemented: the backend cannot do it (signed URLs)
	exitUnavailable   = 11  // Unavailable: retry later
	exitFindings      = 12  // check found problems
	exitInterrupted   = 130 // interrupted (SIGINT, SIGTERM)
)

// exitCodes maps docblob's error codes to exit codes.
var exitCodes = map[docblob.ErrorCode]int{
	docblob.Unknown:            exitFailure,
	docblob.NotFound:           exitNotFound,
	docblob.AlreadyExists:      exitAlreadyExists,
	docblob.FailedPrecondition: exitPrecondition,
	docblob.InvalidArgument:    exitInvalid,
	docblob.PermissionDenied:   exitPermission,
	docblob.TooLarge:           exitTooLarge,
	docblob.Corrupt:            exitCorrupt,
	docblob.Unimplemented:      exitUnimplemented,
	docblob.Unavailable:        exitUnavailable,
}

// errFindings is the error of a check that found problems.
var errFindings = errors.New("check found problems")

// cliError is an error the command decided itself, or a library error
// with advice attached.
type cliError struct {
	exit int          // the exit code, or 0 to take it from err's docblob code
	key  *docblob.Key // the document concerned, if any
	msg  string       // the message; "" to use err's
	hint string       // what to do about it; "" for the default advice
	err  error
}

// Error returns the message, or the underlying error's.
func (e *cliError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}

// Unwrap returns the underlying error.
func (e *cliError) Unwrap() error { return e.err }

// usageErr marks err as a usage error (exit code 2).
func usageErr(err error) error {
	var ce *cliError
	if errors.As(err, &ce) && ce.exit == exitUsage {
		return err
	}
	return &cliError{exit: exitUsage, err: err}
}

// usagef returns a usage error.
func usagef(format string, args ...any) error {
	return &cliError{exit: exitUsage, err: fmt.Errorf(format, args...)}
}

// codedf returns an error of the CLI's own with a docblob code, about key
// (nil if none), with advice.
func codedf(code docblob.ErrorCode, key *docblob.Key, hint, format string, args ...any) error {
	return &cliError{exit: exitCodes[code], key: key, hint: hint, err: &codeError{code: code, msg: fmt.Sprintf(format, args...)}}
}

// codeError is an error with a docblob code that the CLI found itself.
type codeError struct {
	code docblob.ErrorCode
	msg  string
}

// Error returns the message.
func (e *codeError) Error() string { return e.msg }

// Is reports whether target is e's code, as docblob errors do.
func (e *codeError) Is(target error) bool {
	c, ok := target.(docblob.ErrorCode)
	return ok && c == e.code
}

// withHint attaches advice to err.
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &cliError{err: err, hint: hint}
}

// classify returns err's exit code and the name of its kind as the JSON
// error lines give it ("not_found", "usage", ...).
func classify(err error) (int, string) {
	var ce *cliError
	if errors.As(err, &ce) && ce.exit == exitUsage {
		return exitUsage, "usage"
	}
	switch {
	case errors.Is(err, errFindings):
		return exitFindings, "findings"
	case errors.Is(err, context.Canceled):
		return exitInterrupted, "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		return exitUnavailable, "unavailable"
	}
	code := errorCode(err)
	return exitCodes[code], codeName(code)
}

// errorCode returns err's docblob code, including the CLI's own coded
// errors.
func errorCode(err error) docblob.ErrorCode {
	var c *codeError
	if errors.As(err, &c) {
		return c.code
	}
	return docblob.Code(err)
}

// codeName returns the JSON name of a docblob code: "not_found",
// "precondition_failed", ...
func codeName(c docblob.ErrorCode) string {
	return strings.ReplaceAll(c.String(), " ", "_")
}

// advice returns the default advice for an error of a code.
func advice(command string, code docblob.ErrorCode) string {
	switch code {
	case docblob.NotFound:
		return "check the key (list the partition with `docblob ls PARTITION`) and the store URL"
	case docblob.AlreadyExists:
		return "the document exists: drop --create to replace it"
	case docblob.FailedPrecondition:
		return "the document changed since it was read (or the store is not usable as configured): read it again with `docblob stat` and retry with the new revision"
	case docblob.InvalidArgument:
		return "the store refused the request as malformed: check the key, the flags and the store URL's parameters"
	case docblob.PermissionDenied:
		return "check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...) and what they are allowed to do"
	case docblob.TooLarge:
		return "a document or payload exceeds the backend's limit: keep large data in attachments"
	case docblob.Corrupt:
		return "the payload does not match the checksum recorded when it was stored; retry once (it may have been damaged on the way), then run `docblob check --verify` and restore it from a backup"
	case docblob.Unimplemented:
		if command == "url" {
			return "this store cannot sign URLs: on file:// and mem://, add sign_url and secret_env to the store URL and run `docblob serve`"
		}
		return "the backend does not support this operation"
	case docblob.Unavailable:
		return "the backend could not be reached or is throttling: retry later; a write may or may not have been applied"
	}
	return ""
}

// errorLine is the JSON object printed on stderr for an error with
// --json.
type errorLine struct {
	Type      string `json:"type"` // "error"
	Command   string `json:"command"`
	Code      string `json:"code"`
	ExitCode  int    `json:"exit_code"`
	Error     string `json:"error"`
	Hint      string `json:"hint"`
	Partition string `json:"partition"`
	Sort      string `json:"sort"`
}

// report prints err on stderr, with advice, and returns the exit code.
func (a *app) report(err error) int {
	exit, kind := classify(err)
	if errors.Is(err, errFindings) {
		return exit // check has printed its findings and summary
	}
	hint := ""
	var key *docblob.Key
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ce, ok := e.(*cliError); ok {
			if hint == "" {
				hint = ce.hint
			}
			if key == nil {
				key = ce.key
			}
		}
	}
	if key == nil {
		var de *docblob.Error
		if errors.As(err, &de) && de.Key.Partition != "" {
			k := de.Key
			key = &k
		}
	}
	switch {
	case hint != "":
	case exit == exitUsage:
		hint = "see `" + a.usageCommand() + " --help`"
	case exit == exitInterrupted:
		hint = "interrupted: nothing half-written is visible; run the command again to finish"
	default:
		hint = advice(a.command, errorCode(err))
	}
	msg := err.Error()
	if a.json {
		line := errorLine{Type: "error", Command: a.command, Code: kind, ExitCode: exit, Error: msg, Hint: hint}
		if key != nil {
			line.Partition, line.Sort = key.Partition, key.Sort
		}
		b, _ := marshalLine(line)
		a.stderr.Write(b)
		return exit
	}
	prefix := "docblob"
	if a.command != "docblob" {
		prefix += " " + a.command
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", prefix, msg)
	if hint != "" {
		fmt.Fprintf(a.stderr, "  what to do: %s\n", hint)
	}
	return exit
}

// usageCommand is the command whose help a usage error points to.
func (a *app) usageCommand() string {
	if a.command == "docblob" {
		return "docblob"
	}
	return "docblob " + a.command
}

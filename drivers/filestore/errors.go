package filestore

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/docblob/docblob/driver"
)

// The driver's own errors. ErrorCode maps them to portable codes; they are
// wrapped with details (%w), so test them with errors.Is.
var (
	errExists      = errors.New("filestore: a document with this key exists")
	errBlobExists  = errors.New("filestore: a payload with this key exists")
	errRevision    = errors.New("filestore: revision mismatch")
	errNoDocument  = errors.New("filestore: no document with this key to match the revision")
	errInvalid     = errors.New("filestore: invalid argument")
	errTooLarge    = errors.New("filestore: too large")
	errCorrupt     = errors.New("filestore: corrupt")
	errNotRegular  = errors.New("filestore: not a regular file (symbolic links are not followed)")
	errUnsupported = errors.New("filestore: file locking is not supported on this platform")
)

// pathEscapes is the error os.Root returns for a path that leaves the root
// (through a symbolic link planted in the root, as keys are encoded and
// cannot). os does not export it, so it is captured once from a path that
// os.Root rejects without a system call.
var (
	pathEscapesOnce sync.Once
	pathEscapes     error
)

func capturePathEscapes(root *os.Root) {
	pathEscapesOnce.Do(func() {
		_, err := root.Lstat("/")
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pathEscapes = pe.Err
		}
	})
}

// ErrorCode classifies an error returned by the driver:
//
//	condition failures                   AlreadyExists / FailedPrecondition
//	fs.ErrNotExist                        NotFound
//	fs.ErrPermission, a planted symbolic
//	  link (inside or out of the root)   PermissionDenied
//	ENAMETOOLONG, sizes over the limits  TooLarge
//	bad keys, page tokens, values        InvalidArgument
//	undecodable document file, payload
//	  not matching WriteOptions.SHA256   Corrupt
//	anything else                        Unknown
func (d *Driver) ErrorCode(err error) driver.ErrorCode {
	return errorCode(err)
}

func errorCode(err error) driver.ErrorCode {
	switch {
	case err == nil:
		return driver.OK
	case errors.Is(err, errExists), errors.Is(err, errBlobExists):
		return driver.AlreadyExists
	case errors.Is(err, errRevision), errors.Is(err, errNoDocument):
		return driver.FailedPrecondition
	case errors.Is(err, errTooLarge), errors.Is(err, syscall.ENAMETOOLONG):
		return driver.TooLarge
	case errors.Is(err, errInvalid):
		return driver.InvalidArgument
	case errors.Is(err, errCorrupt):
		return driver.Corrupt
	case errors.Is(err, errUnsupported):
		return driver.Unimplemented
	case errors.Is(err, errNotRegular), pathEscapes != nil && errors.Is(err, pathEscapes):
		return driver.PermissionDenied
	case errors.Is(err, fs.ErrNotExist):
		return driver.NotFound
	case errors.Is(err, fs.ErrPermission):
		return driver.PermissionDenied
	}
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c // driver.CheckDynamoDBValues, for one
	}
	return driver.Unknown
}

// ErrorAs implements driver.Aser: it sets i to the underlying error of err
// if it has one of i's type (for example **fs.PathError, *syscall.Errno or
// **os.LinkError), with errors.As.
func (d *Driver) ErrorAs(err error, i any) bool {
	if err == nil || i == nil {
		return false
	}
	defer func() { _ = recover() }() // errors.As panics on a bad target
	return errors.As(err, i)
}

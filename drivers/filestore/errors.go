package filestore

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/docblob/docblob/driver"
)

// The driver's own errors: *driver.Error values, which carry their code,
// wrapped with details (%w), so test them with errors.Is. The portable
// layer reads their code without calling ErrorCode.
var (
	errExists      = coded(driver.AlreadyExists, "filestore: a document with this key exists")
	errBlobExists  = coded(driver.AlreadyExists, "filestore: a payload with this key exists")
	errRevision    = coded(driver.FailedPrecondition, "filestore: revision mismatch")
	errNoDocument  = coded(driver.FailedPrecondition, "filestore: no document with this key to match the revision")
	errInvalid     = coded(driver.InvalidArgument, "filestore: invalid argument")
	errTooLarge    = coded(driver.TooLarge, "filestore: too large")
	errCorrupt     = coded(driver.Corrupt, "filestore: corrupt")
	errNotRegular  = coded(driver.PermissionDenied, "filestore: not a regular file (symbolic links are not followed)")
	errUnsupported = coded(driver.Unimplemented, "filestore: file locking is not supported on this platform")
)

func coded(code driver.ErrorCode, msg string) error {
	return &driver.Error{Code: code, Err: errors.New(msg)}
}

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

// ErrorCode classifies an error returned by the driver. Its own errors
// carry their code (see above), as do those of driver.CheckDynamoDBValues;
// the file system's are mapped:
//
//	a code the error carries             that code
//	ENAMETOOLONG                         TooLarge
//	a path out of the root (a planted
//	  symbolic link)                     PermissionDenied
//	fs.ErrNotExist                       NotFound
//	fs.ErrPermission                     PermissionDenied
//	anything else                        Unknown
func (d *Driver) ErrorCode(err error) driver.ErrorCode {
	return errorCode(err)
}

func errorCode(err error) driver.ErrorCode {
	var c driver.ErrorCode
	switch {
	case err == nil:
		return driver.OK
	case errors.As(err, &c):
		return c
	case errors.Is(err, syscall.ENAMETOOLONG):
		return driver.TooLarge
	case pathEscapes != nil && errors.Is(err, pathEscapes):
		return driver.PermissionDenied
	case errors.Is(err, fs.ErrNotExist):
		return driver.NotFound
	case errors.Is(err, fs.ErrPermission):
		return driver.PermissionDenied
	}
	return driver.Unknown
}

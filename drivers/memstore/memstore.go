// Package memstore is an in-memory docblob driver, for unit tests and local
// development. Open it with docblob.Open(ctx, "mem://") or wrap New in
// docblob.NewStore; memtest builds a ready store on it.
//
// It keeps the same limits as the S3 + DynamoDB driver by default (400 KiB
// documents, 2048-byte partition keys, 1024-byte sort keys), so code tested
// on it does not fail in production on a limit it never met. It is safe for
// concurrent use, and deep-copies what it stores and returns: a caller that
// modifies a document or a byte slice after a call never changes stored
// state. Stored payloads are immutable; reads return them without copying.
//
// # URL
//
//	mem://?partition_key=pk&sort_key=sk&max_document_bytes=409600
//
// Every Open of a mem:// URL makes a new, empty store. sort_key= (empty)
// makes a store whose documents have a partition key only;
// max_document_bytes=0 removes the document size limit.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// Scheme is the URL scheme memstore registers with docblob.Open.
const Scheme = "mem"

func init() {
	docblob.Register(Scheme, docblob.DriverOpenerFunc(openURL))
}

// Options configure a memory driver. The zero value gives the defaults.
type Options struct {
	// PartitionKey and SortKey are the key attribute names; defaults "pk"
	// and "sk". Set NoSortKey for documents with a partition key only.
	PartitionKey string
	SortKey      string
	NoSortKey    bool
	// MaxDocumentBytes bounds a document's size as DynamoDB counts it.
	// Default 400 KiB, DynamoDB's item limit; negative means no limit.
	MaxDocumentBytes int
}

// Driver is the in-memory driver. Several Drivers may share one storage
// (see Share).
type Driver struct {
	st     *storage
	info   driver.Info
	closed atomic.Bool
}

// New returns a driver over new, empty storage. opts may be nil.
func New(opts *Options) *Driver {
	var o Options
	if opts != nil {
		o = *opts
	}
	info := driver.Info{
		PartitionKey:         "pk",
		SortKey:              "sk",
		MaxPartitionKeyBytes: 2048,
		MaxSortKeyBytes:      1024,
		MaxDocumentBytes:     400 * 1024,
		MaxBlobKeyBytes:      1024,
		SettledOnReturn:      true,
	}
	if o.PartitionKey != "" {
		info.PartitionKey = o.PartitionKey
	}
	if o.SortKey != "" {
		info.SortKey = o.SortKey
	}
	if o.NoSortKey {
		info.SortKey = ""
	}
	switch {
	case o.MaxDocumentBytes > 0:
		info.MaxDocumentBytes = o.MaxDocumentBytes
	case o.MaxDocumentBytes < 0:
		info.MaxDocumentBytes = 0
	}
	return &Driver{st: newStorage(), info: info}
}

// Share returns another driver over the same storage, with the same
// options. Closing one does not close the other.
func (d *Driver) Share() *Driver {
	return &Driver{st: d.st, info: d.info}
}

func openURL(_ context.Context, u *url.URL) (driver.Driver, error) {
	if u.Host != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("memstore: mem:// URLs take no host or path, got %q", u.Redacted())
	}
	q := u.Query()
	var o Options
	for name, vals := range q {
		v := vals[0]
		switch name {
		case "partition_key":
			o.PartitionKey = v
		case "sort_key":
			if v == "" {
				o.NoSortKey = true
			}
			o.SortKey = v
		case "max_document_bytes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("memstore: max_document_bytes %q is not a non-negative integer", v)
			}
			o.MaxDocumentBytes = n
			if n == 0 {
				o.MaxDocumentBytes = -1
			}
		default:
			return nil, fmt.Errorf("memstore: unknown URL parameter %q", name)
		}
	}
	return New(&o), nil
}

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info { return d.info }

// Close implements driver.Driver. The storage stays available to drivers
// that share it.
func (d *Driver) Close() error {
	d.closed.Store(true)
	return nil
}

// Errors the memory driver returns; ErrorCode classifies them.
var (
	errNotFound      = errors.New("memstore: not found")
	errExists        = errors.New("memstore: document already exists")
	errRevision      = errors.New("memstore: revision does not match")
	errTooLarge      = errors.New("memstore: document too large")
	errClosed        = errors.New("memstore: driver closed")
	errBlobExists    = errors.New("memstore: payload key already used")
	errInvalidCursor = errors.New("memstore: malformed page token")
)

// ErrorCode implements driver.Driver.
func (d *Driver) ErrorCode(err error) driver.ErrorCode {
	switch {
	case errors.Is(err, errNotFound):
		return driver.NotFound
	case errors.Is(err, errExists), errors.Is(err, errBlobExists):
		return driver.AlreadyExists
	case errors.Is(err, errRevision):
		return driver.FailedPrecondition
	case errors.Is(err, errTooLarge):
		return driver.TooLarge
	case errors.Is(err, errClosed):
		return driver.FailedPrecondition
	case errors.Is(err, errInvalidCursor):
		return driver.InvalidArgument
	}
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return driver.Unknown
}

// check is called at the start of every operation.
func (d *Driver) check(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

// storage is what drivers made by Share have in common.
type storage struct {
	mu    sync.RWMutex
	parts map[string]*partition
	blobs map[string]*blob
}

func newStorage() *storage {
	return &storage{parts: map[string]*partition{}, blobs: map[string]*blob{}}
}

// Package memstore is an in-memory docblob driver, for unit tests and local
// development. Open it with docblob.Open(ctx, "mem://") or wrap New in
// docblob.NewStore; memtest builds a ready store on it.
//
// It keeps the same limits as the S3 + DynamoDB driver by default
// (driver.DynamoDBLimits: 400 KiB documents, 2048-byte partition keys,
// 1024-byte sort and payload keys), so code tested on it does not fail in
// production on a limit it never met. It enforces DynamoDB's rules for
// attribute names and values too
// (driver.CheckDynamoDBValues: no empty names, no NaN, ±Inf or numbers
// outside DynamoDB's range), and, as S3 does, refuses a payload whose
// bytes do not match the checksum it was announced with (code Corrupt).
// Values come back exactly as they were stored, and a Store stores them in
// canonical form (see driver.Document), the form DynamoDB gives back: a
// time as its RFC 3339 text in UTC, a float64 with an integral value as an
// int64, numbers in DynamoDB's normal form, sets sorted. So a document
// read into a map[string]any holds the same Go types and values here as
// on DynamoDB. It is safe for concurrent use, and deep-copies what it
// stores and returns: a caller that modifies a document or a byte slice
// after a call never changes stored state. Stored payloads are immutable;
// reads return them without copying.
//
// # Collections
//
// A storage holds one set of payloads (the blob store) and any number of
// document collections, by name (the tables), as an S3 bucket shared by
// several DynamoDB tables would. A driver uses one collection,
// Options.Collection (default "mem"), which it reports as Info.Collection;
// the portable layer names the store's payload namespace after it, so
// stores over different collections of one storage never share payloads.
// Info.CollectionID is "mem:" + a random id of the storage + ":" + the
// name, unique per storage and collection. New makes a new storage; Share
// returns another driver over the same storage and collection, and
// ShareBlobs one over the same storage and another collection (two drivers
// with the same collection name over one storage see the same documents).
//
// # URL
//
//	mem://?partition_key=pk&sort_key=sk&max_document_bytes=409600&collection=mem
//
// Every Open of a mem:// URL makes a new, empty store. The key parameters
// are those of every scheme (driver.ParseKeyParams): partition_key and
// sort_key name the key attributes (default "pk" and "sk"); no_sort_key=true,
// or its alias sort_key= (empty), makes a store whose documents have a
// partition key only. max_document_bytes=0 removes the document size limit;
// collection names the document collection. Unknown parameters, and any
// parameter given more than once, are an error.
package memstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// Collection names the document collection within the storage;
	// default DefaultCollection. It is 1 to 100 letters, digits, '.', '-'
	// or '_' (not "." or ".."): New and ShareBlobs refuse another name.
	Collection string
	// Now is the clock that dates payloads (BlobInfo.ModTime, which
	// Sweep compares with its grace period); default time.Now. Give it
	// the store's docblob.Options.Now, as memtest does with its Clock.
	Now func() time.Time
}

// DefaultCollection is the collection a driver uses when Options.Collection
// is empty.
const DefaultCollection = "mem"

// Driver is the in-memory driver. Several Drivers may share one storage
// (see Share and ShareBlobs). It signs no URLs (SignedURL answers
// Unimplemented): package localsign gives it signed URLs, as memtest and
// docblob.Open's sign_url parameter do.
type Driver struct {
	// Unsupported answers SignedURL with Unimplemented, and As and
	// ErrorAs with false: the driver signs no URLs (localsign does) and
	// has no client to expose.
	driver.Unsupported

	st     *storage
	coll   *collection // the documents, guarded by st.mu
	info   driver.Info
	now    func() time.Time
	closed atomic.Bool
}

// New returns a driver over new, empty storage. opts may be nil. It
// returns an error whose code is InvalidArgument (a *driver.Error) if opts
// are invalid: a Collection that is not a valid name (see
// Options.Collection), or a partition and sort key attribute with the
// same name.
//
//	drv, err := memstore.New(nil)
//	if err != nil { ... }
//	store, err := docblob.NewStore(drv, nil)
func New(opts *Options) (*Driver, error) {
	return newDriver(newStorage(), opts)
}

// ShareBlobs returns a driver over the same storage as d (it sees the same
// payloads) that uses the documents of collection opts.Collection, with
// opts' key attributes and document limit. Two drivers with the same
// collection name over one storage see the same documents. opts may be
// nil, for the default collection with default options. Closing one driver
// does not close the other. It returns the errors of New for invalid opts.
func (d *Driver) ShareBlobs(opts *Options) (*Driver, error) {
	return newDriver(d.st, opts)
}

func newDriver(st *storage, opts *Options) (*Driver, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Collection != "" && !validCollection(o.Collection) {
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("memstore: collection %q: want 1 to 100 letters, digits, '.', '-' or '_'", o.Collection)}
	}
	if pk, sk := cmp.Or(o.PartitionKey, "pk"), cmp.Or(o.SortKey, "sk"); !o.NoSortKey && pk == sk {
		// As the file and DynamoDB drivers refuse it.
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("memstore: the partition and sort key attributes are both %q", pk)}
	}
	info := driver.DynamoDBLimits() // DynamoDB's limits, and its values
	info.PartitionKey = "pk"
	info.SortKey = "sk"
	info.SettledOnReturn = true
	info.RevisionKey = driver.DefaultRevisionKey
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
	name := o.Collection
	if name == "" {
		name = DefaultCollection
	}
	info.Collection = name
	info.CollectionID = "mem:" + st.id + ":" + name
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Driver{st: st, coll: st.collection(name), info: info, now: now}, nil
}

// Share returns another driver over the same storage and collection, with
// the same options. Closing one does not close the other.
func (d *Driver) Share() *Driver {
	return &Driver{st: d.st, coll: d.coll, info: d.info, now: d.now}
}

// validCollection reports whether name is a valid collection name.
func validCollection(name string) bool {
	return name != "" && len(name) <= 100 && name != "." && name != ".." &&
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == ""
}

func openURL(_ context.Context, u *url.URL) (driver.Driver, error) {
	if u.Host != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("memstore: mem:// URLs take no host or path, got %q", u.Redacted())
	}
	q := u.Query()
	keys, err := driver.ParseKeyParams(q) // also refuses repeated parameters
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	o := Options{PartitionKey: keys.PartitionKey, SortKey: keys.SortKey, NoSortKey: keys.NoSortKey}
	if pk, sk := cmp.Or(o.PartitionKey, "pk"), cmp.Or(o.SortKey, "sk"); !o.NoSortKey && pk == sk {
		// As the file and DynamoDB drivers refuse it.
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("memstore: the partition and sort key attributes are both %q", pk)}
	}
	for name, vals := range q {
		v := vals[0]
		switch name {
		case driver.ParamPartitionKey, driver.ParamSortKey, driver.ParamNoSortKey:
			// read by ParseKeyParams
		case "max_document_bytes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("memstore: max_document_bytes %q is not a non-negative integer", v)
			}
			o.MaxDocumentBytes = n
			if n == 0 {
				o.MaxDocumentBytes = -1
			}
		case "collection":
			if !validCollection(v) {
				return nil, fmt.Errorf("memstore: collection %q: want 1 to 100 letters, digits, '.', '-' or '_'", v)
			}
			o.Collection = v
		default:
			return nil, fmt.Errorf("memstore: unknown URL parameter %q", name)
		}
	}
	return New(&o)
}

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info { return d.info }

// Close implements driver.Driver. The storage stays available to drivers
// that share it.
func (d *Driver) Close() error {
	d.closed.Store(true)
	return nil
}

// The memory driver's errors: *driver.Error values, which carry their
// code, so that the portable layer needs no ErrorCode for them.
var (
	errNotFound      = &driver.Error{Code: driver.NotFound, Err: errors.New("memstore: not found")}
	errExists        = &driver.Error{Code: driver.AlreadyExists, Err: errors.New("memstore: document already exists")}
	errRevision      = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("memstore: revision does not match")}
	errTooLarge      = &driver.Error{Code: driver.TooLarge, Err: errors.New("memstore: document too large")}
	errClosed        = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("memstore: driver closed")}
	errBlobExists    = &driver.Error{Code: driver.AlreadyExists, Err: errors.New("memstore: payload key already used")}
	errInvalidCursor = &driver.Error{Code: driver.InvalidArgument, Err: errors.New("memstore: malformed page token")}
	errCorrupt       = &driver.Error{Code: driver.Corrupt, Err: errors.New("memstore: payload does not match its announced checksum")}
)

// ErrorCode implements driver.Driver. Every error the driver returns
// carries its code: its own *driver.Error values, and the errors of
// driver.CheckDynamoDBValues, which wrap theirs; ErrorCode returns it (an
// *driver.Error matches errors.As into a driver.ErrorCode). Context errors
// are Unknown.
func (d *Driver) ErrorCode(err error) driver.ErrorCode {
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

// storage is what drivers made by Share and ShareBlobs have in common: one
// payload map, and one document map per collection name.
type storage struct {
	id    string // random, for Info.CollectionID
	mu    sync.RWMutex
	colls map[string]*collection
	blobs map[string]*blob
}

// collection holds the documents of one collection, by partition.
type collection struct {
	parts map[string]*partition
}

func newStorage() *storage {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &storage{id: hex.EncodeToString(b), colls: map[string]*collection{}, blobs: map[string]*blob{}}
}

// collection returns the collection named name, creating it if needed.
func (st *storage) collection(name string) *collection {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.colls[name]
	if c == nil {
		c = &collection{parts: map[string]*partition{}}
		st.colls[name] = c
	}
	return c
}

package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
)

// Defaults and limits.
const (
	// DefaultPartitionKey and DefaultSortKey are the default key attribute
	// names, the single-table convention every docblob driver shares.
	DefaultPartitionKey = "pk"
	DefaultSortKey      = "sk"

	// DefaultMaxDocumentBytes is the default bound on a document's size as
	// driver.DocumentSize counts it: DynamoDB's item limit, so that code
	// tested against a directory fails the same way it would in production.
	DefaultMaxDocumentBytes = driver.DynamoDBMaxItemBytes

	// MaxPartitionKeyBytes and MaxSortKeyBytes bound the keys, as DynamoDB
	// does. The encoding on disk supports longer keys (see the package
	// documentation); the bounds are DynamoDB's (driver.DynamoDBLimits)
	// so that a key accepted here is accepted in production.
	MaxPartitionKeyBytes = driver.DynamoDBMaxPartitionKeyBytes
	MaxSortKeyBytes      = driver.DynamoDBMaxSortKeyBytes

	// MaxBlobKeyBytes bounds payload keys, as S3 does.
	MaxBlobKeyBytes = driver.S3MaxKeyBytes

	// DefaultCollection is the document collection a driver uses when
	// Options.Collection is empty: the documents under DIR/docs.
	DefaultCollection = "files"

	// DefaultStaleTempAge is the default Options.StaleTempAge: a day, far
	// longer than any writer stalls between two writes.
	DefaultStaleTempAge = 24 * time.Hour
)

// Options configure a Driver. Dir is required; the zero value of every
// other field is the default.
type Options struct {
	// Dir is the directory that holds the documents and payloads
	// (required). New creates it (mode 0700, and its missing parents) if
	// it does not exist.
	Dir string

	// PartitionKey and SortKey are the key attribute names reported in
	// Info. They default to DefaultPartitionKey and DefaultSortKey.
	PartitionKey string
	SortKey      string
	// NoSortKey makes documents keyed by a partition key only; SortKey must
	// then be empty.
	NoSortKey bool

	// MaxDocumentBytes bounds a document's size as driver.DocumentSize
	// counts it. Zero means DefaultMaxDocumentBytes; a negative value means
	// no limit.
	MaxDocumentBytes int

	// Collection names the document collection: 1 to 100 letters,
	// digits, '.', '-' or '_' (not "." or ".."), whose encoding (see the
	// package documentation, Layout on disk) is at most 128 bytes, which
	// every name of up to 42 bytes meets. Default DefaultCollection, whose
	// documents are in DIR/docs; another collection's are in
	// DIR/docs.<encoded name>. Every collection of a directory shares its
	// payloads (DIR/blobs), as DynamoDB tables may share an S3 bucket.
	Collection string

	// StaleTempAge is how long after its last modification the driver
	// removes a temporary file, or a checksum sidecar without its payload,
	// that a writer killed mid-write left behind. It removes them as it
	// comes across them in the directories it lists: ListBlobs (which
	// docblob's Sweep and Check call over the whole namespace) and
	// QueryDocuments. A writer that stalls for longer than this between
	// two writes fails, cleanly (see the package documentation,
	// Durability). Zero means DefaultStaleTempAge; a negative value
	// leaves such files alone.
	StaleTempAge time.Duration

	// NoSync skips every fsync. Writes stay atomic (a crash of the process
	// never leaves a partial document or payload visible) but are no longer
	// durable across a crash of the machine. It makes unit tests faster on
	// slow disks; never use it for data you want to keep.
	NoSync bool
}

// Driver is a docblob driver that keeps documents and payloads as files
// under one directory. It is safe for concurrent use, by goroutines and by
// processes sharing the directory. It signs no URLs (SignedURL answers
// Unimplemented; package localsign gives it signed URLs).
type Driver struct {
	// Unsupported answers SignedURL with Unimplemented, and ErrorAs with
	// false: the driver's errors unwrap to the file system's, which
	// docblob.Store.ErrorAs then finds with errors.As.
	driver.Unsupported

	root     *os.Root
	dir      string
	docs     string // the collection's document directory, relative to root
	info     driver.Info
	noSync   bool
	staleAge time.Duration // Options.StaleTempAge, defaulted
	locks    *locker
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver over the directory opts.Dir, creating it (mode
// 0700, and its missing parents) if it does not exist. opts.Dir is
// required: a nil opts or an empty Dir is an error whose code is
// InvalidArgument (a *driver.Error), as are other invalid options.
//
//	drv, err := filestore.New(&filestore.Options{Dir: "/var/lib/invoices"})
func New(opts *Options) (*Driver, error) {
	if !lockSupported {
		return nil, errUnsupported
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	dir := o.Dir
	if o.PartitionKey == "" {
		o.PartitionKey = DefaultPartitionKey
	}
	switch {
	case o.NoSortKey && o.SortKey != "":
		return nil, fmt.Errorf("%w: NoSortKey with SortKey %q", errInvalid, o.SortKey)
	case o.NoSortKey:
	case o.SortKey == "":
		o.SortKey = DefaultSortKey
	}
	if o.SortKey != "" && o.SortKey == o.PartitionKey {
		return nil, fmt.Errorf("%w: partition and sort key attributes are both %q", errInvalid, o.SortKey)
	}
	switch {
	case o.MaxDocumentBytes == 0:
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	case o.MaxDocumentBytes < 0:
		o.MaxDocumentBytes = 0
	}
	if o.Collection == "" {
		o.Collection = DefaultCollection
	}
	if o.StaleTempAge == 0 {
		o.StaleTempAge = DefaultStaleTempAge
	}
	if err := checkCollection(o.Collection); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: Options.Dir is required (the directory to use)", errInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	capturePathEscapes(root)
	docs := collectionDir(o.Collection)
	for _, sub := range []string{docsDir, docs, blobsDir, locksDir} {
		if err := root.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			root.Close()
			return nil, err
		}
	}
	d := &Driver{
		root:     root,
		dir:      abs,
		docs:     docs,
		noSync:   o.NoSync,
		locks:    newLocker(root),
		staleAge: o.StaleTempAge,
		info: driver.Info{
			PartitionKey:         o.PartitionKey,
			SortKey:              o.SortKey,
			MaxPartitionKeyBytes: MaxPartitionKeyBytes,
			MaxSortKeyBytes:      MaxSortKeyBytes,
			MaxDocumentBytes:     o.MaxDocumentBytes,
			MaxBlobKeyBytes:      MaxBlobKeyBytes,
			Collection:           o.Collection,
			CollectionID:         "file:" + o.Collection,
			DynamoDBValues:       true,
			SettledOnReturn:      true,
			RevisionKey:          driver.DefaultRevisionKey,
		},
	}
	if err := d.syncDir("."); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Info returns the driver's fixed properties. SettledOnReturn is true: a
// write that returned an error was not applied and never will be.
func (d *Driver) Info() driver.Info { return d.info }

// Dir returns the absolute path of the driver's directory.
func (d *Driver) Dir() string { return d.dir }

// Close releases the driver's directory handle and lock files.
func (d *Driver) Close() error {
	err := d.locks.close()
	if cerr := d.root.Close(); err == nil {
		err = cerr
	}
	return err
}

// As sets i to the driver's *os.Root (for a **os.Root; it must not be
// closed) or its directory's absolute path (for a *string), and reports
// whether it did.
func (d *Driver) As(i any) bool {
	switch p := i.(type) {
	case **os.Root:
		*p = d.root
	case *string:
		*p = d.dir
	default:
		return false
	}
	return true
}

// checkCollection validates a collection name.
func checkCollection(name string) error {
	switch {
	case len(name) > 100 || name == "." || name == ".." ||
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "":
		return fmt.Errorf("%w: collection %q: want 1 to 100 letters, digits, '.', '-' or '_'", errInvalid, name)
	case encodedLen(name) > chunkBytes:
		return fmt.Errorf("%w: collection %q is %d bytes once encoded, more than %d", errInvalid, name, encodedLen(name), chunkBytes)
	}
	return nil
}

// checkKey validates a document key.
func (d *Driver) checkKey(k driver.Key) error {
	if err := checkKeyPart("partition", k.Partition, MaxPartitionKeyBytes); err != nil {
		return err
	}
	if d.info.SortKey == "" {
		if k.Sort != "" {
			return fmt.Errorf("%w: sort key %q given, but documents have a partition key only", errInvalid, k.Sort)
		}
		return nil
	}
	return checkKeyPart("sort", k.Sort, MaxSortKeyBytes)
}

func checkKeyPart(what, v string, max int) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty %s key", errInvalid, what)
	case len(v) > max:
		return fmt.Errorf("%w: %s key of %d bytes exceeds the limit of %d", errTooLarge, what, len(v), max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s key is not valid UTF-8", errInvalid, what)
	}
	return nil
}

// checkBlobKey validates a payload key. Any bytes are allowed: the key is
// encoded, never used as a path.
func checkBlobKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty payload key", errInvalid)
	case len(key) > MaxBlobKeyBytes:
		return fmt.Errorf("%w: payload key of %d bytes exceeds the limit of %d", errTooLarge, len(key), MaxBlobKeyBytes)
	}
	return nil
}

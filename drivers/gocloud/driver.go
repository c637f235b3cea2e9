package gocloud

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob"
	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
)

// DefaultCASField is the name of the revision field that the docstore
// collection is opened with unless Options.CASField says otherwise: the
// field in which gocloud.dev/docstore keeps its own revision, which the
// driver uses as a compare-and-swap token. docblob's revision is another
// attribute, driver.DefaultRevisionKey ("DocstoreRevision", docstore's
// default revision field name), so a collection must be opened with
// RevisionField set to this name (memdocstore.Options.RevisionField,
// awsdynamodb.Options.RevisionField, or the URL parameter
// revision_field=DocblobCAS).
const DefaultCASField = "DocblobCAS"

// DefaultCollection is Info.Collection when Options.Collection is empty.
const DefaultCollection = "gocloud"

// Retries says whether the collection's client may send a write more
// than once, which decides whether a failed condition is proof that a
// write was not applied.
type Retries int

const (
	// RetriesAuto is the default: RetriesCounted for an awsdynamodb
	// collection, RetriesPossible for any other.
	RetriesAuto Retries = iota
	// RetriesPossible: the client may re-send a write whose response it
	// lost (mongodocstore's retryable writes, an SDK retryer of its
	// own). A failed condition may then follow the client's own applied
	// attempt, so every conflict is reported as Unknown unless a re-read
	// finds the write applied: safe everywhere, but a Create of an
	// existing document is not reported as AlreadyExists.
	RetriesPossible
	// RetriesNone: the client never re-sends a write (memdocstore, or a
	// client whose retryer never re-sends writes). Every failed condition
	// is definite: set wrongly, the Store would delete the payloads of
	// writes that were applied. New refuses it for an awsdynamodb
	// collection whose client's retryer makes more than one attempt.
	RetriesNone
	// RetriesCounted: the client counts its attempts of each write through
	// the request's context (the middleware that DynamoDBAPIOptions
	// installs in the aws-sdk-go-v2 DynamoDB client). A failed condition
	// after one attempt is definite; after more than one it is settled by
	// a re-read (the document holds this write's revision: it was
	// applied) or reported as Unknown. A client without the middleware
	// counts nothing, and is then treated as RetriesPossible.
	RetriesCounted
)

// Options configure a driver. The zero value gives the defaults.
type Options struct {
	// PartitionKey and SortKey are the names of the collection's key
	// fields; defaults "pk" and "sk". Set NoSortKey for a collection
	// keyed by a partition key only.
	PartitionKey string
	SortKey      string
	NoSortKey    bool
	// CASField is the revision field the collection was opened with;
	// default DefaultCASField. It must not be driver.DefaultRevisionKey,
	// under which docblob's own revision is kept. The first write checks
	// that the collection maintains it, and fails with InvalidArgument if
	// it does not.
	CASField string
	// Retries says whether the collection's client may re-send writes;
	// default RetriesAuto.
	Retries Retries
	// SettledOnReturn reports that a write that returned an error will
	// never be applied later: true of memdocstore, whose writes happen in
	// the calling goroutine; never of a collection behind a network. See
	// driver.Info.SettledOnReturn.
	SettledOnReturn bool
	// MaxWriteRounds bounds how many times an unconditional write or
	// delete that lost a race to another writer reads the document again
	// and retries, after a growing random pause of up to 50 ms; default
	// 32 (see the package documentation). When all rounds lose, the
	// write fails with code Unavailable, having changed nothing, and its
	// error marked with driver.ErrNotApplied, so that the Store deletes
	// the payloads it uploaded at once; so does a delete, unless the
	// client may have re-sent one of its attempts (see Retries), which may
	// then have been applied.
	MaxWriteRounds int
	// Collection names the document collection in Info.Collection (a
	// DynamoDB table's name, say): letters, digits, '.', '-' and '_';
	// default DefaultCollection. Stores over different collections that
	// share a bucket keep their payloads in different namespaces named
	// after it. CollectionID identifies the collection beyond its name in
	// the namespace's owner marker (default "gocloud:" + Collection). On
	// awsdynamodb, Collection must be the table's name: the driver reads
	// the table directly when it must confirm that a document is missing
	// (see DynamoDBAPIOptions).
	Collection   string
	CollectionID string
	// Container names the bucket in Info.Container (recorded in
	// documents); default "". On s3blob, give the bucket's name: StatBlob
	// then asks S3 for the checksum it verified (see StatBlob), so that
	// a direct upload whose URL bound its SHA-256 is committed without
	// being read.
	Container string
	// MaxDocumentBytes bounds a document's size as DynamoDB counts it;
	// default DynamoDB's 400 KiB less what the driver adds (the
	// compare-and-swap field); negative means no limit.
	MaxDocumentBytes int
	// SignURLs reports that bucket.SignedURL makes URLs for this bucket
	// (true by default for s3blob buckets, false for others: memblob and
	// fileblob sign only with a URLSigner, azureblob's SAS cannot bind
	// what docblob's URLs need (see the package documentation), gcsblob
	// needs credentials that can sign). Without it, SignedURL answers
	// Unimplemented, and docblob.Open's sign_url parameter or package
	// localsign give the store signed URLs.
	SignURLs *bool
	// CloseBoth makes Close close the bucket and the collection too
	// (as drivers opened from a URL do).
	CloseBoth bool
}

// Driver is a docblob driver over a gocloud.dev *blob.Bucket and
// *docstore.Collection. Make one with New.
type Driver struct {
	bucket *blob.Bucket
	coll   *docstore.Collection
	info   driver.Info
	pk, sk string
	cas    string
	rounds int
	turns  turns // of the documents being written (see PutDocument)

	retries   Retries
	dynamo    *dynamodb.Client // the collection's client, for awsdynamodb
	table     *string          // its table: Info.Collection
	guardDel  bool             // deletes first touch the document (see deleteExact)
	signs     bool
	s3        bool // the bucket is s3blob's
	closeBoth bool
	checked   atomic.Bool // the collection keeps CASField (see checkCAS)
	closed    atomic.Bool
}

// New returns a driver over bucket and coll. opts may be nil. The driver
// does not take ownership of bucket and coll unless Options.CloseBoth.
// It makes no request. It returns an error whose code is InvalidArgument
// for invalid options.
func New(bucket *blob.Bucket, coll *docstore.Collection, opts *Options) (*Driver, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if bucket == nil || coll == nil {
		return nil, invalidf("gocloud: New needs a bucket and a collection")
	}
	d := &Driver{bucket: bucket, coll: coll, closeBoth: o.CloseBoth}
	d.pk = cmp.Or(o.PartitionKey, "pk")
	d.sk = cmp.Or(o.SortKey, "sk")
	if o.NoSortKey {
		d.sk = ""
	}
	if d.pk == d.sk {
		return nil, invalidf("gocloud: the partition and sort key attributes are both %q", d.pk)
	}
	d.cas = cmp.Or(o.CASField, DefaultCASField)
	switch d.cas {
	case driver.DefaultRevisionKey, d.pk, d.sk:
		return nil, invalidf("gocloud: the compare-and-swap field %q is also the name of a key or of docblob's revision", d.cas)
	}
	if strings.HasPrefix(d.cas, "~") {
		return nil, invalidf("gocloud: the compare-and-swap field %q begins with '~'", d.cas)
	}
	d.rounds = o.MaxWriteRounds
	if d.rounds <= 0 {
		d.rounds = 32
	}
	var client *dynamodb.Client
	if coll.As(&client) && client != nil {
		d.dynamo = client
	}
	// Every backend but DynamoDB (whose condition on the revision fails
	// for a missing item) may let a delete with a stale revision of a
	// missing document succeed: memdocstore does, and so does
	// mongodocstore, from its source.
	d.guardDel = d.dynamo == nil
	d.retries = o.Retries
	if d.retries == RetriesNone && d.dynamo != nil {
		// A write the SDK re-sent after an applied attempt would fail its
		// condition on its own result, and be taken for a lost race.
		if r := d.dynamo.Options().Retryer; r != nil && r.MaxAttempts() > 1 {
			return nil, invalidf("gocloud: Retries is RetriesNone, but the collection's DynamoDB client may send a write %d times; use RetriesCounted (the default) and DynamoDBAPIOptions, or a retryer of one attempt", r.MaxAttempts())
		}
	}
	if d.retries == RetriesAuto {
		d.retries = RetriesPossible
		if d.dynamo != nil {
			d.retries = RetriesCounted
		}
	}
	d.s3 = isS3(bucket)
	d.signs = d.s3
	if o.SignURLs != nil {
		d.signs = *o.SignURLs
	}

	info := driver.DynamoDBLimits()
	info.PartitionKey, info.SortKey = d.pk, d.sk
	info.RevisionKey = driver.DefaultRevisionKey
	info.SettledOnReturn = o.SettledOnReturn
	info.SignsURLs = d.signs
	info.Container = o.Container
	// A write reads the document first; a delete on a backend that needs
	// the delete guard (see deleteExact) also updates it.
	info.PutDocumentRequests, info.DeleteDocumentRequests = 2, 2
	if d.guardDel {
		info.DeleteDocumentRequests = 3
	}
	switch {
	case o.MaxDocumentBytes > 0:
		info.MaxDocumentBytes = o.MaxDocumentBytes
	case o.MaxDocumentBytes < 0:
		info.MaxDocumentBytes = 0
	default:
		// The compare-and-swap field: its name and a revision of up to
		// 36 bytes (awsdynamodb's UUIDs; memdocstore's are numbers).
		info.MaxDocumentBytes -= len(d.cas) + 36
	}
	info.Collection = cmp.Or(o.Collection, DefaultCollection)
	if !validCollection(info.Collection) {
		return nil, invalidf("gocloud: collection name %q: want 1 to 255 letters, digits, '.', '-' or '_'", info.Collection)
	}
	info.CollectionID = cmp.Or(o.CollectionID, "gocloud:"+info.Collection)
	d.table = &info.Collection
	d.info = info
	return d, nil
}

// validCollection reports whether name is a valid Info.Collection.
func validCollection(name string) bool {
	return name != "" && len(name) <= 255 && name != "." && name != ".." &&
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == ""
}

func invalidf(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf(format, args...)}
}

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info { return d.info }

// Close implements driver.Driver. It closes the bucket and the collection
// only if Options.CloseBoth was set.
func (d *Driver) Close() error {
	if d.closed.Swap(true) || !d.closeBoth {
		return nil
	}
	return errors.Join(d.bucket.Close(), d.coll.Close())
}

// The driver's own errors, which carry their code.
var (
	errNotFound = &driver.Error{Code: driver.NotFound, Err: errors.New("gocloud: document not found")}
	errExists   = &driver.Error{Code: driver.AlreadyExists, Err: errors.New("gocloud: document already exists")}
	errRevision = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("gocloud: revision does not match")}
	// errLostRace is what settle reports of a write that failed its
	// condition definitely, for PutDocument to read again; it is never
	// returned.
	errLostRace = errors.New("gocloud: another writer changed the document first")
	errTooLarge = &driver.Error{Code: driver.TooLarge, Err: errors.New("gocloud: document too large")}
	errClosed   = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("gocloud: driver closed")}
	errBusy     = &driver.Error{Code: driver.Unavailable, Err: fmt.Errorf("gocloud: the document changed under every attempt to write it: %w", driver.ErrNotApplied)}
	// errBusyMaybeApplied is errBusy for a delete that the client may
	// have re-sent after an attempt that was applied.
	errBusyMaybeApplied = &driver.Error{Code: driver.Unavailable, Err: errors.New("gocloud: the document changed under every attempt to delete it; an attempt the client re-sent may have been applied")}
	errCorrupt          = &driver.Error{Code: driver.Corrupt, Err: errors.New("gocloud: payload does not match its announced checksum")}
	errToken            = &driver.Error{Code: driver.InvalidArgument, Err: errors.New("gocloud: malformed page token")}
)

// check is called at the start of every operation.
func (d *Driver) check(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

// As implements driver.Driver: it sets a **blob.Bucket or
// **docstore.Collection to the driver's, and otherwise asks the
// collection, then the bucket (so a **dynamodb.Client or **s3.Client
// reaches the clients of awsdynamodb and s3blob).
func (d *Driver) As(i any) bool {
	switch p := i.(type) {
	case **blob.Bucket:
		*p = d.bucket
		return true
	case **docstore.Collection:
		*p = d.coll
		return true
	}
	return d.coll.As(i) || d.bucket.As(i)
}

// ErrorAs implements driver.Driver: it asks the collection, then the
// bucket (their ErrorAs reach the SDK's errors), then errors.As.
func (d *Driver) ErrorAs(err error, i any) bool {
	return d.coll.ErrorAs(err, i) || d.bucket.ErrorAs(err, i) || errors.As(err, i)
}

// ErrorCode implements driver.Driver. It corrects what gocloud's codes
// say of DynamoDB's errors (see the package documentation), then maps
// gocloud's codes: NotFound, AlreadyExists, FailedPrecondition,
// InvalidArgument, PermissionDenied and Unimplemented to theirs,
// ResourceExhausted and Internal to Unavailable, anything else to
// Unknown.
func (d *Driver) ErrorCode(err error) driver.ErrorCode {
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	if code, ok := dynamoErrorCode(err); ok {
		return code
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return driver.NotFound
	case gcerrors.AlreadyExists:
		return driver.AlreadyExists
	case gcerrors.FailedPrecondition:
		return driver.FailedPrecondition
	case gcerrors.InvalidArgument:
		return driver.InvalidArgument
	case gcerrors.PermissionDenied:
		return driver.PermissionDenied
	case gcerrors.Unimplemented:
		return driver.Unimplemented
	case gcerrors.ResourceExhausted, gcerrors.Internal:
		return driver.Unavailable
	}
	return driver.Unknown
}

// Package driver defines the small interface that docblob backends implement.
//
// A driver supplies primitives only: store, read and delete one document;
// write, read and delete one payload; read many documents and delete many
// payloads at once (batches, which simple drivers make by looping over the
// single primitives with GetEach and DeleteEach); list both for sweeps and
// checks. The
// portable [github.com/docblob/docblob.Store] owns everything else (the write
// protocol, validation, attachment encoding, checksums, inline payloads and
// error wrapping), so that every backend behaves the same.
//
// Every method of Driver is required. A driver that cannot do what a method
// asks (sign URLs, say) answers an error whose code is Unimplemented; a
// driver embeds Unsupported to get such answers for SignedURL, As and
// ErrorAs, and overrides the methods it does support. The portable layer
// never looks for optional interfaces, so a wrapper that embeds a Driver
// (to count or fault its calls, say) passes every capability through.
// Where the portable layer must know in advance whether a driver supports
// something, Info says so (Info.SignsURLs).
//
// Every method may be called concurrently from many goroutines. Every method
// that takes a context must return promptly once the context is done, and
// must not apply a write whose context was already done when it was called.
//
// The conformance suite in github.com/docblob/docblob/conformance checks a
// driver against this contract.
//
// # Errors
//
// Drivers must not wrap their errors in docblob errors: they return raw
// errors (SDK errors, *fs.PathError), classified by ErrorCode, or errors
// whose code they decided themselves (a failed condition, an argument they
// refuse), as an *Error that carries the code. The portable layer takes the
// code of an *Error without calling ErrorCode (see Classify), wraps the
// error once, naming the operation and the key, and keeps it reachable
// through ErrorAs. A failed document write is taken as not applied only if
// its code is definite (IsDefinite) or the driver marked it with
// ErrNotApplied (see NotApplied).
package driver

import (
	"context"
	"io"
	"strconv"
	"time"
)

// Key identifies a document: a partition key and an optional sort key.
// Both are non-empty valid UTF-8 strings when they reach a driver, except
// that Sort is "" when the driver's Info has no SortKey.
type Key struct {
	Partition string
	Sort      string
}

// String returns the key with its parts quoted, ("acme", "2026-001"), or
// ("acme") without a sort key, so that no two keys print alike.
func (k Key) String() string {
	if k.Sort == "" {
		return "(" + strconv.Quote(k.Partition) + ")"
	}
	return "(" + strconv.Quote(k.Partition) + ", " + strconv.Quote(k.Sort) + ")"
}

// Document is a document as drivers see it: its key, its revision and its
// other fields.
//
// Fields holds only these value types, recursively: nil, bool, int64,
// float64, Decimal, string, []byte, StringSet, NumberSet, BinarySet, []any
// and map[string]any (Decimal and the sets are DynamoDB's numbers and
// sets, kept without loss; see Decimal), and each value in its canonical
// form (CanonicalValue): the form in which DynamoDB gives the value back.
// A number is an int64 if it is an integer within int64's range, else a
// float64 if a float64 is the number, else a Decimal in plain normal text
// ("12345678901234567890.1", never "1.2345678901234567890100E+19"); a time
// is its RFC 3339 text in UTC (CanonicalTime), a string; the elements of
// a set are sorted; []byte, []any and map[string]any values are not nil.
// The portable layer gives drivers only canonical values, and a driver
// must return them as given: the same Go types and values, so that a
// document reads back alike on every driver (the conformance suite checks
// it). Code that calls a driver directly may also give it values that are
// not canonical (a time.Time, an integral float64, the Decimal "1.50",
// unsorted sets, nil slices): a driver must accept them, and may return
// them as given or in canonical form (CanonicalFields makes it), as the
// DynamoDB driver does, DynamoDB keeping no other.
//
// Fields never contains the partition key, sort key or revision
// attributes: those travel in Key and Revision, and the driver stores them
// under the attribute names it reports in Info. Attachments are ordinary
// map[string]any values; a driver need not know which fields are
// attachments.
//
// A driver must not retain or modify a Document it is given after the call
// returns, and must return Documents the caller may modify freely.
type Document struct {
	Key      Key
	Revision string // opaque; set by the portable layer on every write
	Fields   map[string]any
}

// ConditionKind says when a document write or delete may be applied.
type ConditionKind int

const (
	// Always applies the write unconditionally.
	Always ConditionKind = iota
	// MustNotExist applies the write only if no document has the key. If
	// one does, the driver returns an error whose code (Classify) is
	// AlreadyExists.
	MustNotExist
	// MustMatchRevision applies the write only if a document with the key
	// exists and its revision equals Condition.Revision; a Revision of ""
	// matches a document that has no revision (written by another tool).
	// Otherwise the driver returns an error whose code (Classify) is
	// FailedPrecondition (also when the document does not exist).
	MustMatchRevision
)

// Condition is the precondition of a document write or delete. It is checked
// atomically with the write.
type Condition struct {
	Kind     ConditionKind
	Revision string // for MustMatchRevision
}

// SortOp is a comparison on the sort key in a query.
type SortOp int

// The sort-key conditions of a query.
const (
	SortAny            SortOp = iota // every document of the partition
	SortEqual                        // sort == Value
	SortPrefix                       // strings.HasPrefix(sort, Value)
	SortBetween                      // Value <= sort <= Value2
	SortLess                         // sort < Value
	SortLessOrEqual                  // sort <= Value
	SortGreater                      // sort > Value
	SortGreaterOrEqual               // sort >= Value
)

// Query asks for the documents of one partition, or of every partition.
type Query struct {
	// Partition selects the partition. If it is "", the query scans every
	// document of the store (used by sweeps, checks and test assertions);
	// the sort condition is then SortAny and the order is unspecified.
	Partition string
	// Sort restricts the sort key, compared as byte strings.
	Sort   SortOp
	Value  string
	Value2 string
	// Descending orders the results by descending sort key; the default is
	// ascending. Order is by sort key, compared as byte strings.
	Descending bool
	// Limit is the largest number of documents to return in this page; 0
	// lets the driver choose. A driver may return fewer, even none, with a
	// non-empty NextPageToken.
	Limit int
	// PageToken resumes a query after the page that returned it; "" starts
	// at the beginning. Tokens are opaque to callers.
	PageToken string
	// StartAfter, if not empty (and PageToken is empty), starts a
	// partition query strictly after this sort key in the query's order:
	// the first document returned is the first one that the query selects
	// and that sorts after StartAfter (before it, when Descending). It
	// names a position by key, so resuming is exact whatever documents
	// were inserted or deleted since. The document with that sort key need
	// not exist.
	StartAfter string
	// Segment and TotalSegments split a scan of every partition
	// (Partition "") into parallel parts, as DynamoDB's parallel Scan
	// does: when TotalSegments is more than 1, the query returns only the
	// documents of segment Segment, 0 <= Segment < TotalSegments, and
	// every document belongs to exactly one segment, so that
	// TotalSegments queries, one per segment, run concurrently and each
	// paged to its end, return every document once. Which documents a
	// segment holds is the driver's choice (s3dynamo passes both fields to
	// Scan; memstore and filestore hash the partition key with
	// ScanSegment, so that a partition lies in one segment), and is stable
	// for a given TotalSegments while the documents do not change. A page
	// token resumes the segment it came from and must be used with the
	// same Segment and TotalSegments. TotalSegments 0 or 1 scans every
	// document (Segment must then be 0); TotalSegments is at most
	// MaxScanSegments, and a query of one partition leaves both fields 0.
	// CheckSegments validates them.
	Segment, TotalSegments int
}

// QueryPage is one page of query results.
type QueryPage struct {
	Documents []*Document
	// NextPageToken is "" when there are no more results.
	NextPageToken string
}

// WriteOptions describe a payload being written.
type WriteOptions struct {
	// ContentType is the payload's media type, already decided by the
	// portable layer. Drivers that keep object metadata should store it.
	ContentType string
	// Size is the payload's size if known in advance, or -1.
	Size int64
	// Checksum is the algorithm of the checksum WriteBlob reports in
	// BlobAttrs.Checksum; "" means CRC32C.
	Checksum ChecksumAlgorithm
	// Sum is the payload's checksum of algorithm Checksum if known in
	// advance (a payload the portable layer could hash before sending
	// it), or nil. A driver must refuse a payload that does not match it,
	// storing nothing, with an error whose code is Corrupt; drivers whose
	// server verifies checksums send it, so that the server refuses bytes
	// damaged on the way.
	Sum []byte
}

// Algorithm returns o.Checksum, or CRC32C if it is "" (or o is nil).
func (o *WriteOptions) Algorithm() ChecksumAlgorithm {
	if o == nil || o.Checksum == "" {
		return CRC32C
	}
	return o.Checksum
}

// BlobAttrs are what a driver reports about a payload it has written.
type BlobAttrs struct {
	// ETag is the backend's entity tag, if it has one.
	ETag string
	// Checksum is the checksum, of algorithm WriteOptions.Checksum, of
	// exactly the bytes that WriteBlob read from its reader and stored,
	// computed as they were stored: by the driver (Algorithm.New over the
	// bytes, in the same pass that stores them) or by its backend (S3's
	// checksum of what it received). Every WriteBlob that succeeds must
	// report it: the portable layer records it in the document, and fails
	// the write if it is missing.
	Checksum Checksum
}

// BlobInfo describes a stored payload, as listed by ListBlobs or returned
// by StatBlob.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
	// Checksum and ContentType are set by StatBlob only, never by
	// ListBlobs. Checksum is a checksum of the whole payload that the
	// backend itself computed, or verified against the bytes, when the
	// payload was written (S3's full-object x-amz-checksum-* headers,
	// the checksum a driver computed in WriteBlob), or the zero Checksum
	// if the backend cannot vouch for one. Its algorithm may be any of
	// ChecksumAlgorithms. The portable layer records it without reading
	// the payload, so a driver must never report a checksum it merely
	// copied from a client. ContentType is the content type the payload
	// was stored with, or "" if the backend keeps none.
	Checksum    Checksum
	ContentType string
}

// OpenOptions are the options of OpenBlob.
type OpenOptions struct {
	// Checksum is, on a read of the whole payload (offset 0, length -1),
	// the checksum recorded for it, which the portable layer verifies
	// unless the driver guarantees to (BlobReader.Verified); the zero
	// Checksum on other reads.
	Checksum Checksum
}

// BlobReader is a payload reader returned by OpenBlob. Its Close may be
// called while another goroutine is in Read, to abort the read (as an HTTP
// response body allows): Read must then return promptly, and Close must
// release the reader's resources exactly once and race with nothing. The
// portable layer's readers rely on it to offer the same to their callers.
type BlobReader struct {
	io.ReadCloser
	// Verified reports that the reader itself verifies the bytes it
	// returns against OpenOptions.Checksum: that the backend reported,
	// before the first byte, a whole-payload checksum equal to it, and
	// that the reader returns io.EOF only after bytes that match it (on a
	// mismatch, an error instead, which ErrorCode classifies as Corrupt).
	// The portable layer then does not hash the payload again. False
	// means the portable layer verifies.
	Verified bool
}

// BlobPage is one page of a payload listing.
type BlobPage struct {
	Blobs []BlobInfo
	// NextPageToken is "" when there are no more results.
	NextPageToken string
}

// Info describes a driver's fixed properties. It must not change over the
// driver's lifetime.
type Info struct {
	// PartitionKey and SortKey are the attribute names under which the
	// driver stores Key.Partition and Key.Sort. The portable layer looks for
	// document fields with these names. SortKey is "" if documents have a
	// partition key only.
	PartitionKey string
	SortKey      string
	// MaxPartitionKeyBytes and MaxSortKeyBytes bound the UTF-8 length of
	// keys; MaxDocumentBytes bounds a document's size as computed by
	// DocumentSize. Zero means no limit.
	MaxPartitionKeyBytes int
	MaxSortKeyBytes      int
	MaxDocumentBytes     int
	// MaxBlobKeyBytes bounds the length of payload keys. Zero means no limit.
	MaxBlobKeyBytes int
	// Container names where payloads live beyond their keys (the bucket
	// for S3), or "" if that is implicit. It is recorded in documents.
	Container string
	// Collection names the document collection the driver stores documents
	// in (the DynamoDB table, for example): letters, digits, '.', '-' and
	// '_', at most 255 bytes (DynamoDB's limit on table names). The
	// portable layer names the store's payload namespace after it, so that
	// stores over different collections that share blob storage never
	// share payload keys. "" means "default".
	Collection string
	// CollectionID identifies the collection beyond its name (for example
	// the region, endpoint and table), so that two collections of the same
	// name that share blob storage are told apart: the portable layer
	// records it in the namespace's owner marker and refuses to use a
	// namespace whose marker names another collection. "" means
	// Collection.
	CollectionID string
	// DynamoDBValues reports that the driver holds documents to DynamoDB's
	// rules for attribute names and values (see CheckDynamoDBValues). The
	// portable layer then checks a document against them before it writes
	// anything, so that bad input never costs an upload.
	DynamoDBValues bool
	// SettledOnReturn reports that a document write or delete that returned
	// an error will never be applied later (true of in-process and local
	// backends, false of anything behind a network). It lets the portable
	// layer clean up after failures it could otherwise not classify.
	SettledOnReturn bool
	// RevisionKey is the attribute name under which the driver stores
	// Document.Revision; "" means DefaultRevisionKey, the name every driver
	// of this module uses. DocumentSize counts it, and the portable layer
	// refuses key attributes of that name and makes it the default name of
	// the documents' revision field.
	RevisionKey string
	// SignsURLs reports that SignedURL makes URLs, rather than answer
	// Unimplemented. The portable layer refuses a direct upload on a driver
	// that does not sign URLs before it does any work, and docblob.Open's
	// sign_url parameter gives such a driver localsign's URLs (and refuses
	// a driver that signs its own).
	SignsURLs bool
	// PutDocumentRequests and DeleteDocumentRequests are how many
	// requests PutDocument (other than with MustNotExist, which is always
	// one) and DeleteDocument send to storage without contention, where
	// that is more than the design's one: a driver that must read a
	// document to learn the version a write replaces sends two
	// (drivers/gocloud). Zero means one. They state the cost that the
	// README's request tables and the conformance suite's request counts
	// on the wire hold the driver to.
	PutDocumentRequests, DeleteDocumentRequests int
}

// DefaultRevisionKey is the attribute name under which drivers store a
// document's revision unless their Info says otherwise: gocloud.dev/docstore's
// revision field name.
const DefaultRevisionKey = "DocstoreRevision"

// revisionKey returns the revision attribute name that info reports.
func (info *Info) revisionKey() string {
	if info.RevisionKey == "" {
		return DefaultRevisionKey
	}
	return info.RevisionKey
}

// Driver is the interface a docblob backend implements. See the package
// documentation for the rules every method follows.
type Driver interface {
	// Info returns the driver's fixed properties.
	Info() Info

	// GetDocument returns the document with the key, or an error whose
	// code (Classify) is NotFound.
	GetDocument(ctx context.Context, key Key) (*Document, error)

	// PutDocument stores doc if cond holds, replacing any document with the
	// same key, and returns the document it replaced (nil if there was
	// none), learned atomically with the write. If cond does not hold it
	// returns the error the Condition describes and changes nothing. If the
	// document is too large it returns an error whose code (Classify) is
	// TooLarge and changes nothing.
	//
	// A condition error is definite: the portable layer then deletes the
	// payloads doc references. A driver that retries requests must
	// therefore report a condition failure that follows a retry as Unknown:
	// the earlier attempt may have been applied with its response lost, and
	// even superseded since by another writer that kept its attachments.
	// Likewise, if the document a retried write replaced holds doc.Revision
	// (revisions are unique per write), the write was applied by an earlier
	// attempt and the replaced version is unknown: return (nil, nil) or an
	// Unknown error, so that the portable layer reads the document back.
	PutDocument(ctx context.Context, doc *Document, cond Condition) (previous *Document, err error)

	// DeleteDocument removes the document with the key if cond holds, and
	// returns what it removed, learned atomically with the delete. If no
	// document has the key and cond is Always, it returns (nil, nil).
	DeleteDocument(ctx context.Context, key Key, cond Condition) (previous *Document, err error)

	// QueryDocuments returns one page of the documents that q selects, in
	// the order q asks for.
	QueryDocuments(ctx context.Context, q *Query) (*QueryPage, error)

	// GetDocuments reads the documents with the keys, as GetDocument
	// would each (strongly consistently where the backend can), and
	// returns one document and one error per key, in the order of keys:
	// docs[i] is the document with keys[i], or nil with errs[i] saying
	// why (code NotFound if no document has the key). Both slices have
	// len(keys) entries. keys holds at most MaxGetDocuments distinct keys;
	// a driver whose backend reads many documents in one request (DynamoDB
	// BatchGetItem) uses it and retries the keys the backend left
	// unprocessed; others loop over GetDocument (see GetEach). A failure
	// of the whole request is reported for each key it left unread.
	GetDocuments(ctx context.Context, keys []Key) (docs []*Document, errs []error)

	// WriteBlob stores the payload read from r until io.EOF under key, a key
	// that the portable layer guarantees has never been used. It must stream
	// (memory bounded regardless of the payload's size, except for drivers
	// that hold payloads in memory) and must make the payload visible only
	// once it is complete: if r returns an error, or ctx is done, before EOF,
	// WriteBlob aborts, leaves nothing under key, and returns that error.
	//
	// The portable layer hands a local payload (bytes, a file) over as
	// it is: an io.ReadSeeker positioned at the payload's start, with
	// opts.Size the bytes from there to its end, measured by seeking.
	// After a successful WriteBlob it checks that r is at start+Size, and
	// fails the write otherwise (a driver that returned early would have
	// stored a truncated payload). If such an r is also an io.ReaderAt,
	// the driver may read the payload with ReadAt instead, at offsets
	// start to start+Size, from several goroutines at once as
	// io.ReaderAt allows, holding no copy of it (the S3 driver uploads a
	// large one so, in place); it must then Seek r to start+Size before it
	// returns successfully, and fail the write if r ends before
	// start+Size. It must not read r after WriteBlob returns, except where
	// its HTTP client may still read the body of a failed request.
	WriteBlob(ctx context.Context, key string, r io.Reader, opts *WriteOptions) (*BlobAttrs, error)

	// OpenBlob returns a reader for length bytes of the payload starting at
	// offset, or through the end if length is negative. The portable layer
	// only asks for ranges within the payload's recorded size, with
	// length != 0. A missing payload is an error whose code (Classify) is
	// NotFound. The reader's reads observe ctx. opts may be nil; see
	// OpenOptions and BlobReader.Verified for checksums.
	OpenBlob(ctx context.Context, key string, offset, length int64, opts *OpenOptions) (*BlobReader, error)

	// StatBlob describes the payload under key (Key, Size, ModTime, and
	// Checksum and ContentType where the backend keeps them) without
	// reading it. A missing payload is an error whose code (Classify) is
	// NotFound.
	StatBlob(ctx context.Context, key string) (*BlobInfo, error)

	// DeleteBlob removes the payload under key. Deleting a missing payload
	// is not an error.
	DeleteBlob(ctx context.Context, key string) error

	// DeleteBlobs removes the payloads under the keys, as DeleteBlob would
	// each, and returns one error per key, in the order of keys (nil where
	// the payload is gone, also if it was missing): len(keys) entries.
	// keys holds at most MaxDeleteBlobs distinct keys; a driver whose
	// backend deletes many objects in one request (S3 DeleteObjects) uses
	// it; others loop over DeleteBlob (see DeleteEach).
	DeleteBlobs(ctx context.Context, keys []string) []error

	// ListBlobs returns one page of the payloads whose keys start with
	// prefix, in key order.
	ListBlobs(ctx context.Context, prefix, pageToken string) (*BlobPage, error)

	// SignedURL returns a URL that grants opts.Method on the payload under
	// key for opts.Expiry, without credentials, or an error whose code is
	// Unimplemented if the driver cannot sign URLs (see Info.SignsURLs and
	// Unsupported). opts is never nil and its Expiry is positive.
	SignedURL(ctx context.Context, key string, opts *SignedURLOptions) (string, error)

	// As sets i to an underlying client if it is of i's type, and reports
	// whether it did, like gocloud.dev's As escape hatches. i is a pointer
	// to a client type the driver documents. A driver with nothing to
	// expose reports false (see Unsupported).
	As(i any) bool

	// ErrorAs sets i to the underlying error of err (an error this driver
	// returned) if it is of i's type, and reports whether it did. The
	// portable layer checks that i is a non-nil pointer first, and falls
	// back to errors.As when ErrorAs reports false, so a driver whose
	// errors unwrap to its underlying errors may report false (see
	// Unsupported) or use errors.As.
	ErrorAs(err error, i any) bool

	// ErrorCode classifies an error returned by this driver that holds no
	// *Error: raw SDK and operating-system errors. (The portable layer
	// takes the code of an *Error without calling ErrorCode; see
	// Classify.) Errors it does not recognize map to Unknown; the portable
	// layer treats context errors itself.
	ErrorCode(error) ErrorCode

	// Close releases the driver's resources. No other method is called
	// after Close.
	Close() error
}

// The largest number of keys the portable layer gives one GetDocuments or
// DeleteBlobs call: the limits of DynamoDB's BatchGetItem and S3's
// DeleteObjects.
const (
	MaxGetDocuments = 100
	MaxDeleteBlobs  = 1000
)

// GetEach implements GetDocuments for a driver that reads one document per
// request: it calls d.GetDocument for each key in turn, stopping at a done
// context (whose error it reports for the keys left).
func GetEach(ctx context.Context, d Driver, keys []Key) ([]*Document, []error) {
	docs, errs := make([]*Document, len(keys)), make([]error, len(keys))
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		docs[i], errs[i] = d.GetDocument(ctx, k)
		if errs[i] != nil {
			docs[i] = nil
		}
	}
	return docs, errs
}

// DeleteEach implements DeleteBlobs for a driver that deletes one payload
// per request: it calls d.DeleteBlob for each key in turn, stopping at a
// done context (whose error it reports for the keys left).
func DeleteEach(ctx context.Context, d Driver, keys []string) []error {
	errs := make([]error, len(keys))
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = d.DeleteBlob(ctx, k)
	}
	return errs
}

// SignedURLOptions are the options of a signed URL.
type SignedURLOptions struct {
	// Method is "GET" (download) or "PUT" (direct upload).
	Method string
	// Expiry is how long the URL stays valid; always positive.
	Expiry time.Duration
	// ContentType is, for PUT, the content type the upload must carry and,
	// for GET, the response's Content-Type override ("" for none).
	ContentType string
	// ContentDisposition is, for GET, the response's Content-Disposition
	// override ("" for none).
	ContentDisposition string
	// Size is, for PUT, the exact number of bytes the upload must carry,
	// or -1 if any length is accepted. Drivers enforce it through the
	// signature where the backend can (a signed Content-Length on S3).
	Size int64
	// MaxSize is, for PUT, the largest number of bytes the upload may
	// carry, or 0 for the backend's own limit. Drivers whose server cannot
	// enforce a range ignore it; the portable layer checks it again when
	// the upload is committed.
	MaxSize int64
	// SHA256 is, for PUT, the SHA-256 the upload must have, or nil. A
	// driver binds it to the URL so that the backend refuses other bytes
	// (a signed x-amz-checksum-sha256 header on S3, which the client must
	// send, base64-encoded) and then reports it from StatBlob; a driver
	// that cannot must refuse to sign a PUT with a SHA256.
	SHA256 []byte
	// CreateOnly is, for PUT, always true from the portable layer: the
	// URL may only create the payload, never replace one (If-None-Match: *
	// on S3). A driver that cannot enforce it must refuse to sign PUTs.
	CreateOnly bool
}

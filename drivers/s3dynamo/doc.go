// Package s3dynamo is the docblob driver for Amazon S3 and DynamoDB, the
// primary backend: documents are DynamoDB items, payloads are S3 objects.
//
// # Overview
//
// Documents live in one DynamoDB table, written with the aws-sdk-go-v2
// DynamoDB client directly: every write is one PutItem or DeleteItem whose
// condition expression enforces the caller's condition and whose
// ReturnValues ALL_OLD returns the replaced item atomically, so the
// portable layer learns which payloads became unreferenced without an
// extra round trip. Reads are one GetItem; queries are one Query (or Scan)
// per page.
//
// Payloads live in one S3 bucket, written with the S3 client directly:
// streaming, read into part buffers of Options.PartSize bytes that are
// reused across uploads, so an upload holds at most
// PartSize*(UploadConcurrency+1) bytes of payload (25 MiB by default) for
// payloads of up to 8,000 parts (39 GiB by default). Larger payloads grow
// their parts, doubling every 100 parts up to S3's 5 GiB, so that S3's
// 5 TiB object limit fits in 10,000 parts; their bound grows with the
// part size. On Linux the part buffers the driver keeps are mapped
// outside the Go heap (anonymous memory; with the race detector, and on
// other systems, they are ordinary slices): the garbage collector neither
// scans them nor counts them towards its goal, so they cost a process
// their own size instead of about twice it (GOGC=100). Close gives their
// pages back to the system; a driver dropped without Close does so when
// it is collected. A payload that fits in one part is one PutObject; a
// larger one a multipart upload.
// A payload from a local source (a file, bytes: an io.ReaderAt and
// io.Seeker of known size, as docblob hands such sources over) larger
// than SinglePutMax is uploaded in place instead: a multipart upload
// whose parts are read where they lie, with ReadAt, by the goroutines
// that send them, so that it holds no part buffer and its memory does
// not grow with its part size or concurrency; those default, for such
// uploads, to DefaultFilePartSize × DefaultFileUploadConcurrency (16 MiB
// × 8), and Options.PartSize and UploadConcurrency, when set, apply to
// both kinds of upload. Each part is read twice, locally: once for its
// checksum (and, for a payload recorded with SHA-256, its share of the
// SHA-256, in the same pass), once to send it. A
// payload whose size and SHA-256 the caller knew (bytes, or an
// io.ReadSeeker up to SinglePutMax) is one PutObject carrying that
// SHA-256; every other upload request carries a CRC32C. S3 verifies the
// checksum before it stores anything, and every whole read is verified
// against the checksum the document records (see OpenBlob). A failed or
// canceled upload is aborted, so nothing is left under the key and no
// parts linger.
// Reads are one GetObject (ranged for a range), sent with the S3 client
// directly (under the keys gocloud.dev/blob/s3blob would use), and deletes
// one DeleteObject. A read of more than 16 MiB whose first 16 MiB come
// slower than 512 MiB/s goes on in parts: one connection to S3 carries
// about 90 MB/s, so the reader fetches the next parts with ranged
// GetObjects, Options.ReadConcurrency at once, each into a reused buffer,
// while it returns the earlier ones, and holds at most ReadConcurrency
// part buffers (24 MiB of 4 MiB parts by default). Through a proxy that
// carries 90 MB/s per connection, that reads 256 MiB at 287 MB/s instead
// of one stream's 81 (make bench, -only readgrid). The buffers are those
// that streamed uploads use, which the driver keeps between operations
// (6 of 5 MiB by default, of which a read fills 4 MiB each), so that a
// process that uploads and then reads in parts holds one set, not two
// (see Options.ReadPartSize). A
// faster stream is read to its end: on loopback against MinIO, where the
// machine's CPUs are the limit, 4 MiB parts 6 at once read a 1 GiB payload
// at 1,070 MB/s, one stream at 1,542, and parts of 8 MiB × 3 or 4 or 16
// MiB × 2 at 0.82 to 1.05 times one stream's speed, for a third more CPU
// (bench/results.md); one stream through the driver reads as fast as one
// plain GetObject of the same object (make bench, large). Parts carry
// If-Match with the first response's ETag, so all come from one object; a
// whole read in parts hashes what it returns and compares with S3's
// full-object checksum (equal to the recorded one) at the end, as the SDK
// does for a single stream. Signed URLs are SigV4 presigned URLs.
//
// StatBlob is one HeadObject with ChecksumMode ENABLED. It reports a
// payload's SHA-256 only when S3 holds a full-object SHA-256 that it
// verified against the bytes as they were written: a single PutObject
// that carried x-amz-checksum-sha256 (WriteBlob sends one for a payload
// of known SHA-256 that fits in one request; a direct upload through a
// URL signed with SignedURLOptions.SHA256 must send one). A multipart
// upload's checksum is a composite ("<base64>-<parts>", a checksum of
// the parts' checksums), and other uploads carry a CRC32C: for those
// SHA256 is nil. driver.WriteOptions.RecordSHA256 is ignored: S3 computes
// no SHA-256 of its own for a stream whose checksum the client did not
// send, and computing one client-side to send it would cost a SHA-256
// pass over every byte uploaded and, for payloads of several parts,
// still give only a composite checksum.
//
// Neither New nor docblob.Open makes a network call; the first operation
// does. The S3 client is made on first use, so a cold start that only
// reads documents pays for the DynamoDB client alone. Tables and buckets are not created on open: see CreateTable and
// CreateBucket for development and tests.
//
// # URL
//
// Importing this package registers the scheme "s3dynamo" with docblob.Open:
//
//	s3dynamo://TABLE?bucket=BUCKET&region=eu-west-1
//
// Query parameters (all optional except bucket):
//
//	bucket              the S3 bucket (required)
//	region              the AWS region (default: the AWS environment's)
//	partition_key       partition key attribute (default "pk")
//	sort_key            sort key attribute (default "sk")
//	no_sort_key=true    the table has a partition key only (sort_key=,
//	                    empty, is an alias)
//	endpoint            endpoint URL of both services, for compatible servers
//	s3_endpoint         endpoint URL of S3 only
//	dynamodb_endpoint   endpoint URL of DynamoDB only
//	path_style=true     path-style bucket addressing (MinIO and most
//	                    S3-compatible servers need it)
//	sse                 server-side encryption: AES256 or aws:kms
//	kms_key_id          the KMS key for sse=aws:kms
//	part_size           multipart part size in bytes (at least 5 MiB)
//	upload_concurrency  parts uploaded at once per payload
//	read_part_size      part size of large reads in bytes (at least 1 MiB)
//	read_concurrency    parts read at once per large read (1: one stream)
//	consistent_read     false for eventually consistent reads
//	collection_id       what the namespace's owner marker records
//	                    (default dynamodb:REGION:TABLE; see below)
//
// docblob.Open itself also understands prefix and inline_threshold. The
// key parameters are those of every scheme (driver.ParseKeyParams).
// Unknown parameters, and any parameter given more than once, are an
// error. Credentials are never taken from the
// URL: they come from the default AWS chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, shared files, SSO, the instance's or task's
// role). For example, against local servers:
//
//	s3dynamo://invoices?bucket=invoices&region=us-east-1&endpoint=http://127.0.0.1:9000&path_style=true
//
// # Configuration
//
// New takes Options: the table and bucket, the key attribute names,
// an aws.Config (region, credentials, retryer, HTTP client; nil loads the
// default configuration), endpoints, path-style addressing, part size,
// upload concurrency, server-side encryption (SSE-S3 with SSES3, SSE-KMS
// with SSEKMS and an optional KMSKeyID) and read consistency. The zero
// value of every optional field is the sensible default.
//
// The table needs a partition key of type S and, unless NoSortKey, a sort
// key of type S, named as configured. The driver uses no index. It is
// recommended to give the bucket a lifecycle rule that aborts incomplete
// multipart uploads after a day: the driver aborts the uploads it fails,
// but a process that crashes mid-upload cannot.
//
// Retries are the SDK's standard retryer (exponential backoff with jitter;
// 3 attempts for S3, 4 for DynamoDB), configurable through aws.Config;
// document writes are re-sent only when they cannot have been applied (see
// Consistency).
//
// # Item layout
//
// A document is an item with its key under the configured attribute
// names, its revision under "DocstoreRevision" (driver.DefaultRevisionKey,
// as in gocloud.dev/docstore, reported as Info.RevisionKey) and one
// attribute per field. Field values map to DynamoDB types as
// follows: string S, []byte B, bool BOOL, nil NULL, int64 and float64 N
// (a float64 in its shortest form), driver.Decimal (docblob.Decimal) N with
// its text as it is, []any L, map[string]any M, driver.StringSet SS,
// driver.NumberSet NS, driver.BinarySet BS, and time.Time S in RFC 3339
// with nanoseconds, in UTC. A Decimal must be valid (Decimal.Check) and a
// set non-empty, or the write fails with InvalidArgument before any
// request.
//
// Reading back loses nothing, whoever wrote the item: N becomes an int64
// if it is an integer within int64's range; else a float64 if that float64,
// written back in its shortest form, is the same number (0.1, 1e-130,
// every float64 this driver wrote); else a driver.Decimal holding
// DynamoDB's text, all 38 digits of it ("12345678901234567890",
// "3.1415926535897932384626433832795028"). SS, NS and BS become
// driver.StringSet, driver.NumberSet (of Decimals, DynamoDB's text) and
// driver.BinarySet, so they are written back as sets. Times come back as
// their strings (the portable layer decodes them into time.Time fields).
// So an item written by any tool, read into a map[string]any and put
// back, is the same item, its revision aside; DynamoDB itself writes
// numbers in its own normal form (1E+2 is read back as 100, 1.50 as 1.5).
// The root package's documentation says which Go fields take which
// numbers (an int64 field refuses 12345678901234567890 rather than round
// it).
//
// An attachment is a map attribute; its payload is the S3 object "key" in
// "bucket" (or, for a small payload kept inline, the "data" attribute).
// This is a document with one attachment, as the AWS CLI shows it
// (aws dynamodb get-item):
//
//	{
//	  "Item": {
//	    "pk": {"S": "acme"},
//	    "sk": {"S": "2026-001"},
//	    "DocstoreRevision": {"S": "01JQ3V9D8Z6K4M2X7T5R0W1Y3B"},
//	    "title": {"S": "March"},
//	    "total": {"N": "1234.5"},
//	    "pdf": {"M": {
//	      "docblob": {"N": "1"},
//	      "bucket": {"S": "my-bucket"},
//	      "key": {"S": "invoices.docblob/acme/2026-001/pdf/06h2j16bq7f4pvfrlfltihan7c"},
//	      "size": {"N": "48213"},
//	      "content_type": {"S": "application/pdf"},
//	      "sha256": {"S": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
//	      "etag": {"S": "\"5d41402abc4b2a76b9719d911017c592\""},
//	      "name": {"S": "march.pdf"},
//	      "created": {"S": "2026-03-31T09:15:00.123456789Z"},
//	      "metadata": {"M": {"origin": {"S": "scanner"}}}
//	    }}
//	  }
//	}
//
// The attachment attributes are: docblob (format version, N), bucket (S),
// key (S; absent for an inline payload), size (N, bytes), content_type (S),
// sha256 (S, lowercase hex), etag (S, as S3 returned it, quotes included;
// optional), name (S, the original file name; optional), created (S, RFC
// 3339 in UTC), metadata (M of S; optional) and data (B, inline payloads
// only). The driver reports the bucket name as Info.Container.
//
// # Object layout and ownership
//
// Every payload of a store over table TABLE is an S3 object under the
// store's namespace, [prefix]TABLE.docblob/, where prefix is the optional
// docblob prefix ("" or ending in "/"):
//
//	[prefix]TABLE.docblob/.docblob-owner                 the owner marker
//	[prefix]TABLE.docblob/PARTITION/SORT/FIELD/ID        a payload
//	[prefix]TABLE.docblob/PARTITION/FIELD/ID             (partition-only tables)
//
// Key parts are escaped (letters, digits, '-' and '_' kept, other bytes as
// %XX, long parts hashed) and ID is time-ordered and random. Several
// stores can share a bucket, each table in its own namespace: a store
// lists, sweeps and deletes only inside its own, and honours an
// attachment only if its key lies under its own document's
// PARTITION/SORT/FIELD/. The owner marker records Options.CollectionID,
// by default "dynamodb:REGION:TABLE" (endpoints are not part of it, so a
// proxy or VPC endpoint in front of the table changes nothing); a store
// over a table of the same name in another region that shares the bucket
// and prefix refuses the namespace with code FailedPrecondition and asks
// for its own prefix. A global table whose replicas share one bucket sets
// the same CollectionID (URL collection_id) in every region. Give the
// stores of two AWS accounts sharing a bucket different prefixes: the
// marker cannot tell their tables apart.
//
// Payloads written before namespaces existed (keys without the
// TABLE.docblob/ segment) are not honoured: Get into a *docblob.Blob field
// fails with code InvalidArgument naming the field, and Sweep and Check
// never touch them. Copy such payloads into new attachments (read them
// with the S3 client from Store.As, Put them with docblob.NewBlob) to
// bring them under the store.
//
// Direct-upload URLs (docblob.Store.NewUpload) are presigned PutObject
// requests that sign If-None-Match: * (S3 answers a second PUT to the key
// with 412 Precondition Failed), when UploadOptions.Size is set,
// Content-Length, and when UploadOptions.SHA256 is set,
// x-amz-checksum-sha256: the client must send that header with exactly
// that value (a request without it or with another does not match the
// signature), S3 refuses a body with other bytes and stores nothing, and
// StatBlob then reports the checksum, so the upload is committed without
// reading it. (Against the pinned MinIO: other bytes get 400
// XAmzContentChecksumMismatch, where S3 answers 400 BadDigest; a request
// without the header 400 AccessDenied, and one with another value 403
// SignatureDoesNotMatch. MinIO also accepts, verifies and keeps an
// x-amz-checksum-sha256 that a URL did not sign, which S3 refuses as an
// unsigned x-amz-* header.) S3 cannot bound a presigned PUT's size to a
// range, so UploadOptions.MaxSize is checked when the upload is
// committed.
//
// Payload keys that contain control characters, "../" or text that reads
// as "__0x<hex>__" are stored under gocloud.dev's escaped form of the key
// (for example "a/..__0x2f__b"); all other keys are the S3 object keys as
// they are.
//
// # Consistency
//
// GetItem, Query and Scan are strongly consistent by default, so a read
// sees every write that returned before it. Options.EventuallyConsistentReads
// (URL consistent_read=false) halves their cost at the price of reading
// possibly stale documents. S3 is strongly consistent for reads after
// writes and for listings.
//
// A failed document write over the network may still have been applied
// (Info.SettledOnReturn is false): a timeout or reset is reported as
// Unavailable or Unknown, which the portable layer treats as ambiguous. A
// request that the client gave up on may even be applied after later ones.
//
// Document writes (PutItem, DeleteItem) are re-sent by the SDK only when
// the failed attempt cannot have been applied: throttled, or never
// connected. A write whose response was lost (a reset, a timeout, a 5xx)
// is not re-sent, since a re-sent write can land after another writer's
// commit and bring back a version whose payloads that writer has already
// deleted; it is reported as Unavailable or Unknown, and the portable
// layer reads the document back. As a further guard, a condition failure
// after a retry, and a replaced item holding the revision being written,
// are reported as Unknown rather than as definite failures. A write whose
// last attempt too was throttled or never connected was not applied at
// all: its Unavailable error is marked with driver.ErrNotApplied, and the
// portable layer deletes the payloads it uploaded at once.
//
// Ordering is by sort key compared as UTF-8 bytes, as DynamoDB compares S
// keys. Query page tokens are the base64url-encoded JSON of DynamoDB's
// LastEvaluatedKey (the item's key strings); a page may be shorter than
// the limit, or empty, and still have a next token.
//
// DynamoDB rejects empty strings as key values in conditions, so sort-key
// conditions on "" are rewritten into equivalent ones (sort keys are
// never empty), and a BETWEEN whose bounds are out of order returns no
// documents without a request. Attribute names must be non-empty, also in
// nested maps, and numbers must lie within DynamoDB's range (about
// 1e-130 to 1e125 in magnitude, NaN and infinities excluded): such
// documents are rejected with InvalidArgument. A float64 with an integral
// value reads back as int64, since DynamoDB numbers do not tell them
// apart.
//
// # Errors
//
// ErrorCode maps service errors to portable codes: a missing item, object,
// table or bucket (NoSuchKey, NotFound, NoSuchBucket,
// ResourceNotFoundException) to NotFound; a failed MustNotExist condition
// to AlreadyExists and a failed MustMatchRevision to FailedPrecondition
// (DynamoDB reports both as ConditionalCheckFailedException; the driver
// tells them apart); refused credentials or requests (AccessDenied,
// InvalidAccessKeyId, SignatureDoesNotMatch, UnrecognizedClientException,
// ExpiredToken and their kin) to PermissionDenied; an item over 400 KB, a
// key over its limit, EntityTooLarge or ItemCollectionSizeLimitExceeded to
// TooLarge; other ValidationExceptions to InvalidArgument; a payload that
// does not match the checksum sent with it (BadDigest and kin) to Corrupt;
// throttling (ProvisionedThroughputExceeded, ThrottlingException,
// RequestLimitExceeded, SlowDown), server errors and connection failures,
// after the SDK's retries, to Unavailable; anything else to Unknown.
// DeleteBlob of a missing key succeeds, but a missing bucket is NotFound.
// StatBlob of a missing key is NotFound: S3 answers the HeadObject with a
// 404 that has no error body, which the SDK reports as NotFound.
//
// The SDK's errors stay reachable: Driver.ErrorAs (and docblob's ErrorAs)
// finds smithy.APIError, *types.ConditionalCheckFailedException and the
// like, and Driver.As exposes the *s3.Client, the *dynamodb.Client and the
// *blob.Bucket. Errors never contain credentials: the SDK signs requests
// in headers, and URLs with user information are refused.
//
// # Using it in tests
//
// For users' own tests, the same setup works: start MinIO and DynamoDB
// Local, open the store with an endpoint URL and path_style=true, and
// create the table and bucket with CreateTable and CreateBucket.
package s3dynamo

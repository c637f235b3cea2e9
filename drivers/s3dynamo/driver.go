package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/ddbchecksum"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// Defaults of Options.
const (
	// DefaultPartitionKey is the default name of the partition key attribute.
	DefaultPartitionKey = "pk"
	// DefaultSortKey is the default name of the sort key attribute.
	DefaultSortKey = "sk"
	// DefaultPartSize is the default size of one part of a multipart upload,
	// and the size from which streamed uploads are multipart. With
	// DefaultUploadConcurrency it was chosen from measurements (make bench,
	// sections 3 "grid" and "large", on a 2-core machine against MinIO): of
	// the settings that keep a 1 GiB round trip under 64 MiB of RSS, 5 MiB
	// x 4 (57 MiB) uploaded fastest, 1 to 7% faster than 5 MiB x 3 (52 MiB)
	// in each of three runs and 25% faster than 5 MiB x 2 (47 MiB); 6 MiB x
	// 4 (62 MiB, too near the bound) was within the noise of it. Part
	// buffers are mapped outside the Go heap where the system allows (see
	// the package documentation), so an upload's memory is the parts it
	// holds, PartSize*(UploadConcurrency+1) bytes, not twice that; where
	// memory allows, raise them.
	DefaultPartSize = 5 << 20
	// MinPartSize is the smallest part size S3 accepts.
	MinPartSize = 5 << 20
	// DefaultUploadConcurrency is the default number of parts of one
	// payload uploaded at the same time.
	DefaultUploadConcurrency = 4
	// DefaultFilePartSize and DefaultFileUploadConcurrency are the part
	// size and concurrency of payloads uploaded in place (a file, or
	// another io.ReaderAt of known size: see Driver.WriteBlob) when
	// Options.PartSize and Options.UploadConcurrency are left zero. Such
	// an upload holds no part buffer, so memory does not bound them: they
	// were chosen from measurements (make bench, section "filegrid", 1 GiB
	// from a file against MinIO on a 2-core machine, parts of 8 to 64 MiB,
	// 4 to 16 at once, 3 runs each): 16 MiB × 8 uploaded fastest, in a
	// peak RSS of 32 MiB (every setting took 30 to 36 MiB); 16 at once
	// was slower for three of the four part sizes.
	DefaultFilePartSize          = 16 << 20
	DefaultFileUploadConcurrency = 8
	// DefaultReadPartSize and DefaultReadConcurrency are the defaults of
	// Options.ReadPartSize and ReadConcurrency: a read that goes on in
	// parts fetches 4 MiB parts, 6 at once, into 24 MiB of the buffers
	// that streamed uploads use (see Options.ReadPartSize). They were
	// chosen from measurements (make bench's "readgrid" section: 256 MiB
	// read through connections that carry 90 MB/s each, parts of 4 to
	// 16 MiB, 1 to 6 at once, 3 runs each): 4 MiB × 6 read fastest, at
	// 287 MB/s, 3.6 times one stream's 81 MB/s (the first 16 MiB
	// included, read as one stream before the reader decides), in a peak
	// RSS of 58 MiB (one stream: 33 MiB); 8 MiB × 4 read at 227 MB/s in
	// 65 MiB.
	DefaultReadPartSize    = 4 << 20
	DefaultReadConcurrency = 6
	// MinReadPartSize is the smallest Options.ReadPartSize.
	MinReadPartSize = 1 << 20
	// DefaultCleanupTimeout is the default of Options.CleanupTimeout.
	DefaultCleanupTimeout = 10 * time.Second
)

// Server-side encryption modes for Options.ServerSideEncryption.
const (
	// SSES3 encrypts payloads with keys that S3 manages.
	SSES3 = "AES256"
	// SSEKMS encrypts payloads with a KMS key (Options.KMSKeyID, or the
	// account's default S3 key).
	SSEKMS = "aws:kms"
)

// Options configure a Driver. Only Table and Bucket are required; the zero
// value of every other field is a sensible default.
type Options struct {
	// Table is the DynamoDB table that holds the documents.
	Table string
	// Bucket is the S3 bucket that holds the payloads.
	Bucket string

	// PartitionKey and SortKey name the table's key attributes (both of
	// type S). They default to DefaultPartitionKey and DefaultSortKey.
	PartitionKey string
	SortKey      string
	// NoSortKey says that the table has a partition key only; SortKey must
	// then be empty.
	NoSortKey bool

	// AWS is the SDK configuration: region, credentials, retryer, HTTP
	// client. If nil, New loads the default configuration (environment
	// variables, shared config files, then the instance's role), without
	// contacting any server.
	AWS *aws.Config
	// S3Endpoint and DynamoDBEndpoint override the services' endpoints,
	// for S3- or DynamoDB-compatible servers such as MinIO or DynamoDB
	// Local ("http://127.0.0.1:9000").
	S3Endpoint       string
	DynamoDBEndpoint string
	// UsePathStyle addresses the bucket in the URL path rather than in the
	// host name, as most S3-compatible servers need.
	UsePathStyle bool

	// PartSize is the size of the parts of a multipart upload, at least
	// MinPartSize; streamed payloads smaller than PartSize are uploaded with
	// one request, as are payloads of known size and checksum up to
	// SinglePutMax. Default DefaultPartSize for streamed payloads, and
	// DefaultFilePartSize for payloads uploaded in place (see
	// Driver.WriteBlob); if set, it applies to both.
	PartSize int64
	// UploadConcurrency is how many parts of one payload are uploaded
	// at the same time. A streamed upload holds at most about
	// PartSize*(UploadConcurrency+1) bytes of payload in memory, for
	// payloads of up to 8,000 parts (see the package documentation for
	// larger ones), and the driver keeps that many part buffers between
	// uploads (or ReadConcurrency, if more, when reads in parts share
	// them: see ReadPartSize), so that uploads allocate none; an upload
	// in place holds no part buffer. Default DefaultUploadConcurrency
	// for streamed payloads, and DefaultFileUploadConcurrency for
	// payloads uploaded in place; if set, it applies to both.
	UploadConcurrency int
	// ReadPartSize and ReadConcurrency shape reads of more than 16 MiB
	// (a payload, or a range of one) whose first 16 MiB come slower
	// than 512 MiB/s, as they do from S3, whose connections carry about
	// 90 MB/s each: the rest is read in parts of ReadPartSize bytes,
	// ReadConcurrency of them fetched at once with ranged GetObjects.
	// Such a read holds at most ReadConcurrency part buffers, and the
	// driver keeps them between reads, so that reads allocate none. If
	// ReadPartSize is at most PartSize (as by default), reads and
	// streamed uploads share one set of buffers of PartSize bytes, of
	// which a read uses ReadPartSize: the driver keeps
	// max(UploadConcurrency+1, ReadConcurrency) of them (6 × 5 MiB by
	// default, of which a read touches 6 × 4 MiB), not one set for
	// each; otherwise reads have ReadConcurrency buffers of
	// ReadPartSize bytes of their own. Faster streams (loopback, a
	// local S3-compatible server) are read to their end: there, parts
	// only cost CPU. A ReadConcurrency of 1 reads every payload with a
	// single streaming GetObject. Defaults DefaultReadPartSize and
	// DefaultReadConcurrency; ReadPartSize must be at least
	// MinReadPartSize.
	ReadPartSize    int64
	ReadConcurrency int
	// ServerSideEncryption is "" (the bucket's default), SSES3 or SSEKMS.
	ServerSideEncryption string
	// KMSKeyID is the KMS key for SSEKMS; "" uses the account's default.
	KMSKeyID string

	// EventuallyConsistentReads makes GetDocument and QueryDocuments use
	// eventually consistent reads (half the cost, but a read may miss a
	// write that just returned). The default is strongly consistent reads.
	EventuallyConsistentReads bool

	// CollectionID is what the owner marker of the store's payload
	// namespace records (see the package documentation, Object layout and
	// ownership). Default "dynamodb:REGION:TABLE", so that a table of the
	// same name in another region, sharing the bucket and prefix, is
	// refused. Set the same value in every region for a global table
	// whose replicas share one bucket. The endpoint is not part of it, so
	// that a proxy or VPC endpoint in front of the same table changes
	// nothing.
	CollectionID string

	// CleanupTimeout bounds the requests that undo a failed upload
	// (aborting a multipart upload, deleting an object that may have been
	// stored), which run even when the caller's context is done. Default
	// DefaultCleanupTimeout.
	CleanupTimeout time.Duration
}

// Driver is the S3 + DynamoDB driver: it implements driver.Driver, signs
// URLs (S3 presigned URLs), and is safe for concurrent use.
type Driver struct {
	opts  Options // with defaults applied
	info  driver.Info
	cfg   aws.Config
	ddb   *dynamodb.Client
	parts *partPool // part buffers of opts.PartSize bytes
	// readParts holds the buffers of reads in parts (see rangedReader):
	// parts itself if opts.ReadPartSize fits in its buffers (see
	// newPartPools), else a pool of its own.
	readParts *partPool
	// fastStream is the speed, in bytes a second, from which a large
	// read keeps its first stream, and probe how many bytes it reads
	// before it decides (see rangedReader); tests change them.
	fastStream float64
	probe      int64
	// inPlace is the part size and concurrency of uploads read in place
	// (see WriteBlob): Options.PartSize and UploadConcurrency if set,
	// else DefaultFilePartSize and DefaultFileUploadConcurrency.
	inPlace struct {
		partSize    int64
		concurrency int
	}

	// The S3 client and the bucket over it, made on first use by s3 and
	// bucket.
	s3Once sync.Once
	s3Made atomic.Bool
	s3c    *s3.Client
	bkt    *blob.Bucket
	bktErr error

	// The table, bucket and read consistency of every request, made
	// once: the SDK only reads its inputs, and each aws.String or
	// aws.Bool would be one more allocation per request.
	tableName, bucketName *string
	consistentRead        *bool

	listPageSize int // ListBlobs page size; tests make it small
	closeOnce    sync.Once
	closeErr     error
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver for the table and bucket that opts name. It makes
// no network call: the first operation does, so opening is cheap (for
// example on a Lambda cold start). If opts.AWS is nil it loads the default
// AWS configuration, which reads the environment and shared files but
// sends no request (credentials are resolved on the first operation); a
// caller that needs to load it under a context of its own (for
// cancellation) loads it and passes it as opts.AWS. Neither the table nor
// the bucket is created; see CreateTable and CreateBucket. Invalid
// options are an error whose code is InvalidArgument.
//
//	drv, err := s3dynamo.New(&s3dynamo.Options{Table: "invoices", Bucket: "invoices"})
func New(opts *Options) (*Driver, error) {
	o, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	// Loading the configuration makes no request, so there is nothing
	// for a context to cancel; see the comment above.
	cfg, err := awsConfig(context.Background(), &o)
	if err != nil {
		return nil, err
	}
	if o.CollectionID == "" {
		o.CollectionID = "dynamodb:" + cfg.Region + ":" + o.Table
	}
	d := &Driver{opts: o, cfg: cfg, ddb: newDynamoDB(cfg, &o), fastStream: fastStream, probe: probe, listPageSize: defaultListPageSize,
		tableName: aws.String(o.Table), bucketName: aws.String(o.Bucket), consistentRead: aws.Bool(!o.EventuallyConsistentReads)}
	d.parts, d.readParts = newPartPools(d, &o)
	d.inPlace.partSize, d.inPlace.concurrency = DefaultFilePartSize, DefaultFileUploadConcurrency
	if opts.PartSize != 0 {
		d.inPlace.partSize = o.PartSize
	}
	if opts.UploadConcurrency != 0 {
		d.inPlace.concurrency = o.UploadConcurrency
	}
	d.info = driver.DynamoDBLimits() // the service's limits
	d.info.PartitionKey = o.PartitionKey
	d.info.SortKey = o.SortKey
	d.info.Container = o.Bucket
	d.info.Collection = o.Table
	d.info.CollectionID = o.CollectionID
	d.info.SettledOnReturn = false
	d.info.RevisionKey = revisionAttr
	d.info.SignsURLs = true
	return d, nil
}

// withDefaults checks opts and fills in the defaults.
func withDefaults(opts *Options) (Options, error) {
	if opts == nil {
		return Options{}, invalidf("Options are required (Table and Bucket)")
	}
	o := *opts
	if o.Table == "" {
		return o, invalidf("Options.Table is required")
	}
	if o.Bucket == "" {
		return o, invalidf("Options.Bucket is required")
	}
	if o.PartitionKey == "" {
		o.PartitionKey = DefaultPartitionKey
	}
	switch {
	case o.NoSortKey && o.SortKey != "":
		return o, invalidf("Options.NoSortKey is set but Options.SortKey is not empty")
	case o.NoSortKey:
	case o.SortKey == "":
		o.SortKey = DefaultSortKey
	}
	if o.SortKey == o.PartitionKey {
		return o, invalidf("the partition and sort key attributes must differ")
	}
	if o.PartitionKey == revisionAttr || o.SortKey == revisionAttr {
		return o, invalidf(revisionAttr + " is reserved for the revision")
	}
	for _, err := range []error{
		sizeOption("PartSize", &o.PartSize, DefaultPartSize, MinPartSize, maxPartSize, "S3's"),
		concurrencyOption("UploadConcurrency", &o.UploadConcurrency, DefaultUploadConcurrency),
		sizeOption("ReadPartSize", &o.ReadPartSize, DefaultReadPartSize, MinReadPartSize, maxPartSize, "the"),
		concurrencyOption("ReadConcurrency", &o.ReadConcurrency, DefaultReadConcurrency),
	} {
		if err != nil {
			return o, err
		}
	}
	switch o.ServerSideEncryption {
	case "", SSES3:
		if o.KMSKeyID != "" {
			return o, invalidf("Options.KMSKeyID needs ServerSideEncryption " + SSEKMS)
		}
	case SSEKMS:
	default:
		return o, invalidf(fmt.Sprintf("Options.ServerSideEncryption %q is not %q, %q or empty", o.ServerSideEncryption, SSES3, SSEKMS))
	}
	for _, ep := range []string{o.S3Endpoint, o.DynamoDBEndpoint} {
		if ep == "" {
			continue
		}
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return o, invalidf("endpoints must be http:// or https:// URLs without user information")
		}
	}
	switch {
	case o.CleanupTimeout == 0:
		o.CleanupTimeout = DefaultCleanupTimeout
	case o.CleanupTimeout < 0:
		return o, invalidf("Options.CleanupTimeout must not be negative")
	}
	return o, nil
}

// clients returns the SDK configuration of o and the S3 and DynamoDB
// clients made from it.
func clients(ctx context.Context, o *Options) (aws.Config, *s3.Client, *dynamodb.Client, error) {
	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return cfg, nil, nil, err
	}
	return cfg, newS3(cfg, o), newDynamoDB(cfg, o), nil
}

// awsConfig returns the SDK configuration of o: a copy of o.AWS, or the
// default configuration. The SDK's standard retryer (exponential backoff
// with jitter) comes with the configuration unless it sets another.
func awsConfig(ctx context.Context, o *Options) (aws.Config, error) {
	var cfg aws.Config
	if o.AWS != nil {
		cfg = o.AWS.Copy()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return cfg, fmt.Errorf("s3dynamo: load AWS configuration: %w", err)
		}
	}
	if cfg.Region == "" {
		return cfg, invalidf("no AWS region: set it in Options.AWS, with the URL's region= or in AWS_REGION")
	}
	return cfg, nil
}

func newS3(cfg aws.Config, o *Options) *s3.Client {
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.S3Endpoint != "" {
			so.BaseEndpoint = aws.String(o.S3Endpoint)
		}
		so.UsePathStyle = o.UsePathStyle
		// A multipart object's composite checksum cannot be validated;
		// the portable layer verifies those reads, so the SDK's warning
		// would only be noise.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
}

// sizeOption gives the size option Options.name its default if it is 0, or
// checks that it lies within [lo, hi], whose says whose bounds they are
// ("S3's", "the").
func sizeOption(name string, v *int64, def, lo, hi int64, whose string) error {
	switch {
	case *v == 0:
		*v = def
	case *v < lo:
		return invalidf(fmt.Sprintf("Options.%s %d is below %s minimum of %d bytes", name, *v, whose, lo))
	case *v > hi:
		return invalidf(fmt.Sprintf("Options.%s %d is above %s maximum of %d bytes", name, *v, whose, hi))
	}
	return nil
}

// concurrencyOption gives the concurrency option Options.name its
// default if it is 0, and rejects a negative one.
func concurrencyOption(name string, v *int, def int) error {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		return invalidf("Options." + name + " must not be negative")
	}
	return nil
}

func newDynamoDB(cfg aws.Config, o *Options) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.DynamoDBEndpoint != "" {
			do.BaseEndpoint = aws.String(o.DynamoDBEndpoint)
		}
		do.APIOptions = append(do.APIOptions, ddbchecksum.OnlyWhenSent)
	})
}

// s3 returns the S3 client, made on first use: a store that only reads
// documents (a cold start that serves one Get) never pays for it.
func (d *Driver) s3() *s3.Client {
	d.s3Once.Do(d.makeS3)
	return d.s3c
}

// bucket returns the gocloud.dev bucket over the S3 client, made with it.
func (d *Driver) bucket() (*blob.Bucket, error) {
	d.s3Once.Do(d.makeS3)
	return d.bkt, d.bktErr
}

func (d *Driver) makeS3() {
	d.s3c = newS3(d.cfg, &d.opts)
	bopts := &s3blob.Options{KMSEncryptionID: d.opts.KMSKeyID}
	if d.opts.ServerSideEncryption != "" {
		bopts.EncryptionType = s3types.ServerSideEncryption(d.opts.ServerSideEncryption)
	}
	d.bkt, d.bktErr = s3blob.OpenBucket(context.Background(), d.s3c, d.opts.Bucket, bopts)
	d.s3Made.Store(true)
}

// Info returns the driver's fixed properties.
func (d *Driver) Info() driver.Info { return d.info }

// ErrorCode classifies an error returned by the driver.
func (d *Driver) ErrorCode(err error) driver.ErrorCode { return errorCode(err) }

// As sets i to one of the driver's clients: i may be a **s3.Client, a
// **dynamodb.Client or a **blob.Bucket (gocloud.dev/blob). It reports
// whether it did.
func (d *Driver) As(i any) bool {
	switch p := i.(type) {
	case **s3.Client:
		*p = d.s3()
	case **dynamodb.Client:
		*p = d.ddb
	case **blob.Bucket:
		b, err := d.bucket()
		if err != nil {
			return false
		}
		*p = b
	default:
		return false
	}
	return true
}

// ErrorAs sets i to the first error in err's chain that has i's type, like
// errors.As: SDK errors such as smithy.APIError,
// *types.ConditionalCheckFailedException or *smithyhttp.ResponseError are
// reachable this way.
func (d *Driver) ErrorAs(err error, i any) bool {
	return errors.As(err, i)
}

// Close releases the driver's resources: its bucket handle and the
// memory of its part buffers (see the package documentation). Calling it
// again does nothing.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.parts.close()
		d.readParts.close()
		if d.s3Made.Load() && d.bkt != nil {
			d.closeErr = d.bkt.Close()
		}
	})
	return d.closeErr
}

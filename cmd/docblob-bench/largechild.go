package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/docblob/docblob"
)

// childLarge is the child side of a large round trip: upload the
// pseudo-random stream, download it while hashing, check the hash, and
// delete it (not timed).
func childLarge(ctx context.Context, spec childSpec) (childResult, error) {
	var res childResult
	sv, err := serversFromEnv()
	if err != nil {
		return res, err
	}
	cfg, err := sv.awsConfig(ctx)
	if err != nil {
		return res, err
	}
	if spec.S3Endpoint != "" {
		sv.s3Endpoint = spec.S3Endpoint
	}
	fx := fixture{table: spec.Table, bucket: spec.Bucket}
	params, err := url.ParseQuery(spec.Params)
	if err != nil {
		return res, err
	}
	store, err := sv.newStore(fx, sv.driverOptions(fx, &cfg, spec.PartSize, spec.Concurrency), params)
	if err != nil {
		return res, err
	}
	defer store.Close()
	var upT, downT tally
	var upload func(context.Context) error
	var check func() error // the ceiling's, after the clock
	var download func(context.Context, io.Writer) error
	var cleanup func(context.Context) error
	var s3c *s3.Client
	store.As(&s3c)
	// The downloaded bytes are checked against the SHA-256 of the stream:
	// by docblob itself as it reads (Blob.Open verifies at EOF what Put
	// recorded, which up checks), by the child as the transfer manager's
	// stream is read, and after the clock stops for the ceiling.
	h := sha256.New()
	var sink io.Writer = h
	switch spec.Contender {
	case "docblob":
		upload, download, cleanup = docblobLarge(store, spec, func() (io.Reader, func(), error) {
			return newPRNG(spec.Seed, spec.Size), func() {}, nil
		})
		sink = writerOnly{io.Discard}
	case "docblob-file":
		path, remove, err := writeLargeFile(spec)
		if err != nil {
			return res, err
		}
		defer remove()
		upload, download, cleanup = docblobLarge(store, spec, func() (io.Reader, func(), error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, nil, err
			}
			return f, func() { f.Close() }, nil
		})
		sink = writerOnly{io.Discard}
	case "tm":
		upload, download, cleanup = tmLarge(s3c, spec)
	case "ceiling", "ceiling-many":
		// A client of the SDK's defaults, not docblob's (see
		// manualContender), but for the payload hash: see unsignedPayload.
		s3c = s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(sv.s3Endpoint)
			o.UsePathStyle = true
			o.APIOptions = append(o.APIOptions, unsignedPayload)
		})
		upload, download, cleanup, check = ceilingLarge(s3c, spec)
	default:
		return res, fmt.Errorf("unknown large contender %q", spec.Contender)
	}

	t0 := time.Now()
	if err := upload(withTally(ctx, &upT)); err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	res.UpNanos = int64(time.Since(t0))
	res.UpPeakRSSKiB = peakRSSKiB()
	oneGet := func(first bool) (err error) {
		if spec.OneGet && spec.OneGetFirst == first {
			res.OneGetNanos, err = timeOneGet(ctx, store, s3c, spec)
		}
		return err
	}
	if err := oneGet(true); err != nil {
		return res, err
	}
	t1 := time.Now()
	if err := download(withTally(ctx, &downT), sink); err != nil {
		return res, fmt.Errorf("download: %w", err)
	}
	res.DownNanos = int64(time.Since(t1))
	if err := oneGet(false); err != nil {
		return res, err
	}
	res.UpRequests, res.DownRequests = upT.snapshot(), downT.snapshot()
	if check != nil {
		if err := check(); err != nil {
			return res, err
		}
	} else if got := hex.EncodeToString(h.Sum(nil)); sink == io.Writer(h) && got != spec.Want["sha256"] {
		return res, fmt.Errorf("downloaded SHA-256 %s, want %s", got, spec.Want["sha256"])
	}
	return res, cleanup(ctx)
}

// docblobLarge stores the payload read from a source that src opens (and
// closes with the function it returns) as the attachment of a document,
// and reads it back with Get and Blob.Open.
func docblobLarge(store *docblob.Store, spec childSpec, src func() (io.Reader, func(), error)) (up func(context.Context) error, down func(context.Context, io.Writer) error, cleanup func(context.Context) error) {
	up = func(ctx context.Context) error {
		r, done, err := src()
		if err != nil {
			return err
		}
		defer done()
		doc := &benchDoc{PK: spec.PK, SK: spec.SK, Title: "large",
			File: docblob.NewBlob(r, &docblob.BlobOptions{Name: "large.bin"})}
		if err := store.Put(ctx, doc); err != nil {
			return err
		}
		if alg, sum := doc.File.Checksum(); sum != spec.Want[string(alg)] {
			return fmt.Errorf("docblob recorded %s %s, want %s", alg, sum, spec.Want[string(alg)])
		}
		return nil
	}
	down = func(ctx context.Context, w io.Writer) error {
		doc := &benchDoc{PK: spec.PK, SK: spec.SK}
		if err := store.Get(ctx, doc); err != nil {
			return err
		}
		r, err := doc.File.Open(ctx)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	}
	cleanup = func(ctx context.Context) error {
		return store.Delete(ctx, &benchDoc{PK: spec.PK, SK: spec.SK})
	}
	return up, down, cleanup
}

// timeOneGet times what docblob's download is made of at the S3 end:
// one plain GetObject, through the driver's S3 client, of the payload
// docblob stored (its key from the document, read before the clock
// starts), with the full-object checksum the SDK validates as it streams,
// read to the end as docblob's is. It pairs docblob's download with one
// stream of the same object, in the same process and moment; the
// ceiling's eight parallel GETs of a 64 MiB-part object are neither.
func timeOneGet(ctx context.Context, store *docblob.Store, s3c *s3.Client, spec childSpec) (int64, error) {
	doc := &benchDoc{PK: spec.PK, SK: spec.SK}
	if err := store.Get(ctx, doc); err != nil {
		return 0, err
	}
	t0 := time.Now()
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(doc.File.Bucket()), Key: aws.String(doc.File.Key()),
		ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		return 0, fmt.Errorf("one GetObject: %w", err)
	}
	defer out.Body.Close()
	n, err := io.Copy(writerOnly{io.Discard}, out.Body)
	if err == nil && n != spec.Size {
		err = fmt.Errorf("%d bytes, want %d", n, spec.Size)
	}
	if err != nil {
		return 0, fmt.Errorf("one GetObject: %w", err)
	}
	return int64(time.Since(t0)), nil
}

// writeLargeFile writes the payload to a file in a temporary directory of
// its own, before the clock starts, and syncs it, so that the upload reads
// it from a warm page cache with no write-back under way. remove deletes
// the directory.
func writeLargeFile(spec childSpec) (path string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "docblob-bench-large-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "large.bin")
	f, err := os.Create(path)
	if err == nil {
		_, err = io.CopyBuffer(f, newPRNG(spec.Seed, spec.Size), make([]byte, 1<<20))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("writing the payload's file: %w", err)
	}
	return path, remove, nil
}

// tmLarge moves the payload with the transfer manager alone, configured as
// the driver configures its own uploads (part size, concurrency, CRC32C
// checksums per part);
// downloads use the same part size and concurrency, buffering at most
// part size x concurrency.
func tmLarge(s3c *s3.Client, spec childSpec) (up func(context.Context) error, down func(context.Context, io.Writer) error, cleanup func(context.Context) error) {
	tm := transfermanager.New(s3c, func(o *transfermanager.Options) {
		o.PartSizeBytes = spec.PartSize
		o.MultipartUploadThreshold = spec.PartSize
		o.Concurrency = spec.Concurrency
		o.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmCrc32c
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		o.GetObjectBufferSize = spec.PartSize * int64(spec.Concurrency)
	})
	key := spec.PK + "/" + spec.SK + "/tm"
	up = func(ctx context.Context) error {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(spec.Bucket), Key: aws.String(key),
			Body: newPRNG(spec.Seed, spec.Size), ContentType: aws.String("application/octet-stream"),
		})
		return err
	}
	down = func(ctx context.Context, w io.Writer) error {
		out, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String(spec.Bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		_, err = io.Copy(w, out.Body)
		return err
	}
	cleanup = func(ctx context.Context) error {
		_, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(spec.Bucket), Key: aws.String(key)})
		return err
	}
	return up, down, cleanup
}

// ceilingSettings are the part sizes and concurrencies the loopback
// ceiling is measured with; the faster of them is the ceiling. Parts are a
// fraction of the payload (at least S3's 5 MiB), so that a smaller
// payload (-quick) still has as many parts to move at once.
var ceilingSettings = map[string]struct {
	parts       int64 // the payload's size over the part size
	maxPart     int64
	concurrency int
}{
	"ceiling":      {16, 64 << 20, 8},  // 1 GiB: 64 MiB parts, 8 at once
	"ceiling-many": {64, 16 << 20, 16}, // 1 GiB: 16 MiB parts, 16 at once
}

// ceilingPart returns a ceiling setting's part size and concurrency.
func ceilingPart(setting string, size int64) (partSize int64, concurrency int) {
	c := ceilingSettings[setting]
	return min(max(size/c.parts, 5<<20), c.maxPart), c.concurrency
}

// ceilingLarge is the raw ceiling of the loopback server: the SDK's
// transfer manager uploading the payload from memory and downloading it
// into a preallocated buffer (DownloadObject into an io.WriterAt), large
// parts, many at once (ceilingSettings), memory unbounded, the SDK's default
// checksums (CRC32), requests signed as over HTTPS (unsignedPayload). The
// payload is made before the clock starts; check hashes the downloaded
// buffer after it stops.
func ceilingLarge(s3c *s3.Client, spec childSpec) (up func(context.Context) error, down func(context.Context, io.Writer) error, cleanup func(context.Context) error, check func() error) {
	partSize, conc := ceilingPart(spec.Contender, spec.Size)
	tm := transfermanager.New(s3c, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.MultipartUploadThreshold = partSize
		o.Concurrency = conc
	})
	src := prngBytes(spec.Seed, spec.Size)
	dst := make([]byte, spec.Size)
	for i := range dst { // fault the pages in before the clock starts
		dst[i] = 1
	}
	key := spec.PK + "/" + spec.SK + "/ceiling"
	up = func(ctx context.Context) error {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(spec.Bucket), Key: aws.String(key), Body: bytes.NewReader(src),
		})
		return err
	}
	down = func(ctx context.Context, _ io.Writer) error {
		_, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{
			Bucket: aws.String(spec.Bucket), Key: aws.String(key), WriterAt: memWriterAt(dst),
		})
		return err
	}
	cleanup = func(ctx context.Context) error {
		_, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(spec.Bucket), Key: aws.String(key)})
		return err
	}
	check = func() error {
		sum := sha256.Sum256(dst)
		if got := hex.EncodeToString(sum[:]); got != spec.Want["sha256"] {
			return fmt.Errorf("downloaded SHA-256 %s, want %s", got, spec.Want["sha256"])
		}
		return nil
	}
	return up, down, cleanup, check
}

// memWriterAt is a preallocated buffer that parts are written into.
type memWriterAt []byte

func (m memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("write of %d bytes at %d beyond %d", len(p), off, len(m))
	}
	return copy(m[off:], p), nil
}

// unsignedPayload is an S3 client option that signs requests with the
// payload hash UNSIGNED-PAYLOAD, as the SDK does over HTTPS (where the
// body carries a checksum instead). Over plain HTTP, as on these loopback
// servers, the SDK would otherwise hash every byte uploaded with SHA-256
// to sign it: a client-side cost that no real S3 upload pays and that
// would make the ceiling lower than docblob (whose driver skips it for
// parts that carry a CRC32C; see drivers/s3dynamo/payloadhash.go).
func unsignedPayload(st *middleware.Stack) error {
	return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("benchUnsignedPayload",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			return next.HandleFinalize(v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD"), in)
		}), middleware.Before)
}

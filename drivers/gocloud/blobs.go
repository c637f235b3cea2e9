package gocloud

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// WriteBlob implements driver.Driver: one blob.Writer with IfNotExist, so
// that a payload key is written once. The payload becomes visible when
// the writer closes; a failed write cancels the writer's context, which
// aborts it (s3blob aborts the multipart upload, fileblob removes its
// temporary file, memblob drops the bytes). The checksum of
// opts.Checksum's algorithm is computed as the bytes go into the writer,
// in the same pass, and reported. A payload of another size, or another
// checksum (opts.Sum), than announced is aborted too (code Corrupt for a
// checksum mismatch).
func (d *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	o := driver.WriteOptions{Size: -1}
	if opts != nil {
		o = *opts
	}
	alg := o.Algorithm()
	h := alg.New()
	if h == nil {
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("gocloud: unknown checksum algorithm %q", alg)}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wo := &blob.WriterOptions{
		ContentType:                 o.ContentType,
		DisableContentTypeDetection: true,
		IfNotExist:                  true,
	}
	if o.Sum != nil && !d.signs {
		// Verified below before the payload is committed; see StatBlob.
		wo.Metadata = map[string]string{checksumMetadata(alg): hex.EncodeToString(o.Sum)}
	}
	w, err := d.bucket.NewWriter(wctx, key, wo)
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(io.MultiWriter(w, h), r)
	sum := h.Sum(nil)
	switch {
	case err != nil:
	case o.Size >= 0 && n != o.Size:
		err = fmt.Errorf("gocloud: payload of %d bytes, %d announced", n, o.Size)
	case o.Sum != nil && !bytes.Equal(sum, o.Sum):
		err = errCorrupt
	}
	if err != nil {
		cancel()
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			// The key is fresh (see driver.Driver.WriteBlob), so the
			// object that exists is most likely this write's own, from
			// an attempt the client re-sent after losing its response
			// (gcsblob retries create-only uploads): not a document that
			// exists, as AlreadyExists would tell a caller of Put.
			return nil, &driver.Error{Code: driver.Unknown, Err: fmt.Errorf("gocloud: a create-only payload write found its fresh key taken, probably by its own re-sent attempt: %w", err)}
		}
		return nil, err
	}
	return &driver.BlobAttrs{Checksum: driver.Checksum{Algorithm: alg, Sum: sum}}, nil
}

// OpenBlob implements driver.Driver: one ranged reader. The portable
// layer verifies the checksum of whole reads (BlobReader.Verified is
// false): gocloud.dev's readers report no stored checksum to compare.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64, _ *driver.OpenOptions) (*driver.BlobReader, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if length < 0 {
		length = -1
	}
	ctx, cancel := context.WithCancel(ctx)
	r, err := d.bucket.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	return &driver.BlobReader{ReadCloser: &ctxReader{ctx: ctx, cancel: cancel, r: r}}, nil
}

// ctxReader is a blob.Reader whose reads fail once its context is done
// (memblob's and fileblob's readers do not look at it after opening), and
// whose Close may be called while another goroutine is in Read, as
// driver.BlobReader requires (a blob.Reader's may not): Close cancels the
// read's context, which makes a Read waiting on the network return, and
// closes the blob.Reader once that Read is out.
type ctxReader struct {
	ctx    context.Context // the read's own, cancelled by Close
	cancel context.CancelFunc
	mu     sync.Mutex // held by Read, and by Close after cancelling ctx
	r      *blob.Reader
	closed bool
}

func (c *ctxReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errReadAfterClose
	}
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) Close() error {
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.r.Close()
}

// errReadAfterClose is what a ctxReader's Read returns after Close.
var errReadAfterClose = errors.New("gocloud: read after Close")

// checksumMetadata returns the metadata key under which WriteBlob records
// a payload's checksum of algorithm alg when it was given one (WriteOptions.Sum)
// and verified it as it wrote the payload: "docblob-sha256",
// "docblob-crc32c" or "docblob-crc64nvme".
func checksumMetadata(alg driver.ChecksumAlgorithm) string {
	return "docblob-" + string(alg)
}

// StatBlob implements driver.Driver: one Attributes, or on s3blob with
// Options.Container set to the bucket's name one HeadObject with
// ChecksumMode ENABLED, which reports a full-object checksum that S3
// computed or verified when the payload was written (SHA-256 first, then
// CRC32C, then CRC64NVME; see s3Stat). Otherwise it reports a checksum
// only on a bucket that signs no URLs of its own (memblob, fileblob),
// where every payload is written by WriteBlob (localsign's uploads
// included), and only one that WriteBlob was given and verified against
// the bytes as it wrote them: a signed upload could set any metadata it
// likes.
func (d *Driver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if d.s3 && d.info.Container != "" && plainS3Key(key) {
		return d.s3Stat(ctx, key)
	}
	a, err := d.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	info := &driver.BlobInfo{Key: key, Size: a.Size, ModTime: a.ModTime, ContentType: a.ContentType}
	if !d.signs {
		for _, alg := range driver.ChecksumAlgorithms {
			v, ok := a.Metadata[checksumMetadata(alg)]
			if !ok {
				continue
			}
			if sum, err := hex.DecodeString(v); err == nil && len(sum) == alg.Size() {
				info.Checksum = driver.Checksum{Algorithm: alg, Sum: sum}
				break
			}
		}
	}
	return info, nil
}

// DeleteBlob implements driver.Driver: one Delete; a missing payload is
// not an error. On s3blob with Options.Container set it is one
// DeleteObject (see s3Delete): Bucket.Delete sends a HeadObject first.
func (d *Driver) DeleteBlob(ctx context.Context, key string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if d.s3 && d.info.Container != "" && plainS3Key(key) {
		return d.s3Delete(ctx, key)
	}
	err := d.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// DeleteBlobs implements driver.Driver, with one Delete per key.
func (d *Driver) DeleteBlobs(ctx context.Context, keys []string) []error {
	return driver.DeleteEach(ctx, d, keys)
}

// listPageSize is the number of payloads a ListBlobs page asks for.
const listPageSize = 1000

// ListBlobs implements driver.Driver: one ListPage.
func (d *Driver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	tok := blob.FirstPageToken
	if pageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(raw) == 0 {
			return nil, errToken
		}
		tok = raw
	}
	objs, next, err := d.bucket.ListPage(ctx, tok, listPageSize, &blob.ListOptions{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	page := &driver.BlobPage{Blobs: make([]driver.BlobInfo, 0, len(objs))}
	for _, o := range objs {
		if o.IsDir {
			continue
		}
		page.Blobs = append(page.Blobs, driver.BlobInfo{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
	}
	if len(next) > 0 {
		page.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
	}
	return page, nil
}

// SignedURL implements driver.Driver through Bucket.SignedURL, if the
// bucket signs URLs (Options.SignURLs). See signOptions for what each
// bucket binds to the URL.
func (d *Driver) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	if err := d.check(ctx); err != nil {
		return "", err
	}
	if !d.signs {
		return "", &driver.Error{Code: driver.Unimplemented, Err: fmt.Errorf("gocloud: the bucket does not sign URLs (see Options.SignURLs; localsign signs them)")}
	}
	so, err := d.signOptions(opts)
	if err != nil {
		return "", err
	}
	return d.bucket.SignedURL(ctx, key, so)
}

// signOptions returns the blob.SignedURLOptions of opts, or an error if
// the bucket cannot bind what opts asks for.
func (d *Driver) signOptions(opts *driver.SignedURLOptions) (*blob.SignedURLOptions, error) {
	so := &blob.SignedURLOptions{Expiry: opts.Expiry, Method: opts.Method}
	switch opts.Method {
	case http.MethodGet:
		if d.s3 {
			so.BeforeSign = s3GetHeaders(opts)
		} else if opts.ContentType != "" || opts.ContentDisposition != "" {
			return nil, &driver.Error{Code: driver.Unimplemented, Err: fmt.Errorf("gocloud: the bucket cannot sign response headers")}
		}
	case http.MethodPut:
		if !d.s3 {
			return nil, &driver.Error{Code: driver.Unimplemented, Err: fmt.Errorf("gocloud: the bucket cannot sign a create-only upload")}
		}
		// s3blob refuses to sign a PUT with a content type it is told to
		// enforce; the header is signed through BeforeSign instead.
		so.BeforeSign = s3PutHeaders(opts)
	default:
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("gocloud: cannot sign method %q", opts.Method)}
	}
	return so, nil
}

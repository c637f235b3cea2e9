package s3dynamo

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"syscall"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

// SinglePutMax is the largest payload that WriteBlob sends with one
// PutObject straight from its source, when its size and SHA-256 are known
// and the source can be read twice (the SDK reads it to sign the
// request): no part buffer, one request, and S3 verifies the whole
// payload's SHA-256. Other payloads are read part by part.
const SinglePutMax = 16 << 20

// WriteBlob stores the payload r under key.
//
// A payload whose size and SHA-256 are known, whose source is an
// io.ReadSeeker and that is at most SinglePutMax bytes is one PutObject
// carrying its SHA-256. Any other payload is read into part buffers of
// Options.PartSize bytes, reused across uploads: a payload that fits in
// one part is one PutObject, a larger one a multipart upload with up to
// Options.UploadConcurrency parts in flight while the next is read, so an
// upload holds at most PartSize*(UploadConcurrency+1) bytes of payload.
// Every request carries a checksum that S3 verifies before storing
// anything: the SHA-256 when the whole payload's is known (and the
// signature covers the body through it), CRC32C otherwise (cheap to
// compute; the body is then sent unsigned, as the SDK does over HTTPS:
// see withPayloadHash). The payload's SHA-256 is recorded in the document
// and checked on every whole read either way.
//
// If r fails, or ctx is done, before EOF, or a request fails, the
// multipart upload is aborted (with a fresh context bounded by
// Options.CleanupTimeout, so that a canceled ctx does not leave parts
// behind), and if a request that may have stored the object had been
// sent, the object is deleted the same way. WriteBlob then returns r's
// error, or ctx's, or the request's.
func (d *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &driver.WriteOptions{Size: -1}
	}
	if !utf8.ValidString(key) {
		return nil, invalidf("payload key is not valid UTF-8")
	}
	contentType := opts.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return nil, newCoded(driver.InvalidArgument, fmt.Sprintf("content type %q", contentType), err)
	}
	obj := object{key: escapeKey(key), contentType: contentType}
	if rs, ok := r.(io.ReadSeeker); ok && opts.Size >= 0 && opts.Size <= SinglePutMax && len(opts.SHA256) == 32 {
		return d.putObject(ctx, obj, rs, opts.Size, opts.SHA256)
	}
	return d.uploadParts(ctx, obj, r, opts)
}

// object is the S3 object being written, in Options.Bucket.
type object struct {
	key         string // escaped
	contentType string
}

// putObject writes the whole payload with one PutObject, with its SHA-256
// if known (sha256 has 32 bytes), else with a CRC32C the SDK computes.
func (d *Driver) putObject(ctx context.Context, obj object, body io.ReadSeeker, size int64, sha256 []byte) (*driver.BlobAttrs, error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(d.opts.Bucket),
		Key:           aws.String(obj.key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(obj.contentType),
	}
	hash := withPayloadHash(unsignedPayload)
	if len(sha256) == 32 {
		in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(sha256))
		hash = sha256PayloadHash(sha256)
	} else {
		in.ChecksumAlgorithm = s3types.ChecksumAlgorithmCrc32c
	}
	if d.opts.ServerSideEncryption != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryption(d.opts.ServerSideEncryption)
		in.SSEKMSKeyId = optional(d.opts.KMSKeyID)
	}
	out, err := d.s3().PutObject(ctx, in, hash)
	if err == nil {
		return &driver.BlobAttrs{ETag: aws.ToString(out.ETag)}, nil
	}
	// The request may have stored the object (a lost response).
	d.undoObject(ctx, obj.key, err)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

// undoObject deletes an object that a request that failed with err may
// have stored, with a fresh context bounded by Options.CleanupTimeout.
// The key is fresh, so deleting it cannot harm anything else. A server
// that refused the connection stored nothing, and would refuse this
// request too.
func (d *Driver) undoObject(ctx context.Context, escapedKey string, err error) {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.CleanupTimeout)
	defer cancel()
	_ = d.deleteEscaped(cctx, escapedKey)
}

// uploadParts reads r part by part: one PutObject if it fits in one part,
// a multipart upload otherwise.
func (d *Driver) uploadParts(ctx context.Context, obj object, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	first := d.parts.get(d.opts.PartSize)
	n, more, err := readPart(ctx, r, *first)
	if err == nil && more {
		// A payload of exactly one part is still one PutObject: only a
		// second read tells.
		second := d.parts.get(d.opts.PartSize)
		var n2 int
		n2, more, err = readPart(ctx, r, *second)
		if err == nil && n2 > 0 {
			return d.multipart(ctx, obj, r, first, n, second, n2, more)
		}
		d.parts.put(second)
	}
	defer d.parts.put(first)
	if err != nil {
		return nil, err
	}
	var sum []byte
	if opts.Size == int64(n) {
		sum = opts.SHA256
	}
	return d.putObject(ctx, obj, bytes.NewReader((*first)[:n]), int64(n), sum)
}

// readPart fills p from r, checking ctx before every read. It returns the
// number of bytes read and whether r may have more (p was filled before
// EOF). A failure of r is returned as is, an io.ErrUnexpectedEOF of r's
// own included; io.EOF is not an error.
func readPart(ctx context.Context, r io.Reader, p []byte) (n int, more bool, err error) {
	for n < len(p) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, err := r.Read(p[n:])
		n += m
		if err == io.EOF {
			return n, false, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, true, nil
}

// optional returns nil for "" and a pointer to s otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

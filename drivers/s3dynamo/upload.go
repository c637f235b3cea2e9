package s3dynamo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

// SinglePutMax is the largest payload that WriteBlob sends with one
// PutObject straight from its source, when its size is known and the
// source is an io.ReadSeeker (and, for SHA-256, its checksum is known):
// no part buffer, one request, and S3 verifies the whole payload's
// checksum. Other payloads are read part by part.
const SinglePutMax = 16 << 20

// WriteBlob stores the payload r under key.
//
// A payload whose size is known, whose source is an io.ReadSeeker and
// that is at most SinglePutMax bytes is one PutObject straight from the
// source: with a CRC (opts.Checksum CRC32C or CRC64NVME) the SDK
// computes it as it sends the body (a trailer over HTTPS; over plain
// HTTP it reads the source once more to put it in a header) and S3
// verifies it; with SHA-256, only if the portable layer gave it
// (opts.Sum), which the request carries and the signature covers.
// WriteBlob reports the checksum S3 returns; should a server not return
// it, WriteBlob rewinds the source and computes it.
//
// A larger payload whose size is known and whose source is an
// io.ReaderAt and io.Seeker (a file, a bytes.Reader: what the portable
// layer hands over for a local source) is uploaded in place: a multipart
// upload whose parts are sections of the source, read with ReadAt where
// they lie, with no part buffer, so that memory does not bound the part
// size and concurrency: parts of Options.PartSize bytes, up to
// Options.UploadConcurrency at once, or, if those are left zero,
// DefaultFilePartSize and DefaultFileUploadConcurrency. Each part is read
// twice, locally: once to compute its checksum (by the goroutine that
// sends it, or, for a payload recorded with SHA-256, in order, with the
// SHA-256: S3 checks the request's bytes against the part's checksum, so
// the SHA-256 is of the bytes stored), then by the request; the upload is otherwise the same as a
// streamed one (below), whose part sending, checksums, completion and
// abort it shares. A source that ends before the announced size fails the
// upload with code InvalidArgument. WriteBlob leaves the source at the
// payload's end.
//
// Any other payload is read into part buffers of Options.PartSize bytes,
// reused across uploads: a payload that fits in one part is one
// PutObject, a larger one a multipart upload with up to
// Options.UploadConcurrency parts in flight while the next is read, so an
// upload holds at most PartSize*(UploadConcurrency+1) bytes of payload.
// WriteBlob computes each part's checksum itself, once, and sends it; S3
// verifies it before storing anything (the body is then sent unsigned,
// as the SDK does over HTTPS: see withPayloadHash). A multipart upload
// with a CRC has a full-object checksum (ChecksumType FULL_OBJECT), which
// WriteBlob combines from its parts' CRCs (see crcCombine) and S3
// verifies at completion; with SHA-256, which S3 keeps for whole objects
// only, the parts carry CRC32Cs (a composite checksum) and WriteBlob
// computes the payload's SHA-256 as it reads the parts. Every byte is
// hashed once with the payload's algorithm, by WriteBlob or the SDK. A
// multipart upload whose checksum differs from opts.Sum, if given, is
// aborted rather than completed, with code Corrupt.
//
// If r fails, or ctx is done, before EOF (in place: before the announced
// size), or a request fails, the multipart upload is aborted (with a
// fresh context bounded by Options.CleanupTimeout, so that a canceled
// ctx does not leave parts behind), and if a request that may have
// stored the object had been sent, the object is deleted the same way.
// WriteBlob then returns r's error, or ctx's, or the request's.
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
	if !plainMediaType(contentType) {
		if _, _, err := mime.ParseMediaType(contentType); err != nil {
			return nil, newCoded(driver.InvalidArgument, fmt.Sprintf("content type %q", contentType), err)
		}
	}
	alg := opts.Algorithm()
	if !alg.Valid() || (opts.Sum != nil && len(opts.Sum) != alg.Size()) {
		return nil, invalidf(fmt.Sprintf("checksum algorithm %q with a sum of %d bytes", alg, len(opts.Sum)))
	}
	obj := object{key: escapeKey(key), contentType: contentType, alg: alg}
	if rs, ok := r.(io.ReadSeeker); ok && opts.Size >= 0 && opts.Size <= SinglePutMax && (opts.Sum != nil || alg != driver.SHA256) {
		return d.putObject(ctx, obj, rs, opts.Size, opts.Sum)
	}
	if ra, ok := r.(io.ReaderAt); ok && opts.Size > SinglePutMax {
		if sk, ok := r.(io.Seeker); ok {
			return d.uploadInPlace(ctx, obj, ra, sk, opts.Size, opts.Sum)
		}
	}
	return d.uploadParts(ctx, obj, r, opts)
}

// plainMediaType reports whether ct is a media type without parameters,
// "type/subtype" (or "type"), of the token characters of RFC 2045: one
// that mime.ParseMediaType accepts, told without the map of parameters it
// allocates on every call. Other types are left to ParseMediaType.
func plainMediaType(ct string) bool {
	typ, sub, slash := strings.Cut(ct, "/")
	return isToken(typ) && (!slash || isToken(sub))
}

// isToken reports whether s is a non-empty token of RFC 2045.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// object is the S3 object being written, in Options.Bucket.
type object struct {
	key         string // escaped
	contentType string
	alg         driver.ChecksumAlgorithm // of the checksum WriteBlob reports
}

// putObject writes the whole payload with one PutObject, carrying its
// checksum of obj.alg if known (sum), else asking the SDK to compute it
// (a CRC), and reports the checksum.
func (d *Driver) putObject(ctx context.Context, obj object, body io.ReadSeeker, size int64, sum []byte) (*driver.BlobAttrs, error) {
	in := &s3.PutObjectInput{
		Bucket:        d.bucketName,
		Key:           aws.String(obj.key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(obj.contentType),
	}
	hash := unsignedPayloadHash
	var start int64
	switch {
	case sum != nil:
		var c s3Checksums
		c.set(driver.Checksum{Algorithm: obj.alg, Sum: sum})
		in.ChecksumSHA256, in.ChecksumCRC32C, in.ChecksumCRC64NVME = c.sha256, c.crc32c, c.crc64nvme
		if obj.alg == driver.SHA256 {
			hash = sha256PayloadHash(sum)
		}
	default:
		in.ChecksumAlgorithm = s3Algorithm(obj.alg)
		var err error
		if start, err = body.Seek(0, io.SeekCurrent); err != nil {
			return nil, err
		}
	}
	if d.opts.ServerSideEncryption != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryption(d.opts.ServerSideEncryption)
		in.SSEKMSKeyId = optional(d.opts.KMSKeyID)
	}
	out, err := d.s3().PutObject(ctx, in, hash)
	if err == nil {
		if sum == nil {
			got := s3Checksums{sha256: out.ChecksumSHA256, crc32c: out.ChecksumCRC32C, crc64nvme: out.ChecksumCRC64NVME, typ: out.ChecksumType}
			if sum = got.fullObject(obj.alg); sum == nil {
				// A server that does not return the checksum it
				// verified: compute it from the source.
				if sum, err = sumOf(obj.alg, body, start, size); err != nil {
					d.undoObject(ctx, obj.key, err)
					return nil, err
				}
			}
		}
		return &driver.BlobAttrs{ETag: aws.ToString(out.ETag), Checksum: driver.Checksum{Algorithm: obj.alg, Sum: sum}}, nil
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
			return d.multipart(ctx, obj, r, first, n, second, n2, more, opts.Sum)
		}
		d.parts.put(second)
	}
	defer d.parts.put(first)
	if err != nil {
		return nil, err
	}
	sum := obj.alg.Sum((*first)[:n])
	if opts.Sum != nil && !bytes.Equal(sum, opts.Sum) {
		return nil, newCoded(driver.Corrupt, "the payload does not match its announced checksum", nil)
	}
	return d.putObject(ctx, obj, bytes.NewReader((*first)[:n]), int64(n), sum)
}

// sumOf computes the checksum of algorithm alg of the size bytes of body
// from offset start, and leaves body at their end.
func sumOf(alg driver.ChecksumAlgorithm, body io.ReadSeeker, start, size int64) ([]byte, error) {
	if _, err := body.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	h := alg.New()
	if n, err := io.Copy(h, body); err != nil || n != size {
		return nil, fmt.Errorf("s3dynamo: computing the payload's %s: read %d of %d bytes: %v", alg, n, size, err)
	}
	return h.Sum(nil), nil
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
		if m < 0 || m > len(p)-n {
			// io.Reader's contract; the portable layer checks it too.
			return n, false, newCoded(driver.InvalidArgument, fmt.Sprintf("the payload's reader returned %d bytes for a buffer of %d", m, len(p)-n), nil)
		}
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

package s3dynamo

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob"
)

// defaultListPageSize is the number of payloads ListBlobs asks for per
// page.
const defaultListPageSize = 1000

// maxSignedURLExpiry is the longest validity of a SigV4 presigned URL.
const maxSignedURLExpiry = 7 * 24 * time.Hour

// OpenBlob reads the payload with one GetObject (ranged unless the whole
// payload is asked for). When that request finds more than 16 MiB to
// read, ReadConcurrency is above 1 and the first 16 MiB come slower than
// 512 MiB/s, the rest is read in parts, ReadConcurrency at once, with
// ranged GetObjects (see rangedReader).
//
// A read of the whole payload with a recorded checksum
// (opts.Checksum) asks S3 for its stored checksum (ChecksumMode
// ENABLED). If S3 holds a full-object checksum of the recorded algorithm,
// OpenBlob compares it with the recorded one before returning any byte
// (a difference is an error with code Corrupt: the stored bytes are not
// those the document describes) and lets the SDK validate the stream
// against it, which fails the read at its end, with an error that
// ErrorCode classifies as Corrupt, if the bytes differ: the reader is
// then Verified, and the portable layer does not hash the payload again.
// A read that goes on in parts hashes the bytes itself from the first
// and compares at the end instead. Otherwise (a payload written with a
// composite checksum or none, or a recorded algorithm S3 does not hold),
// the portable layer verifies.
//
// Other reads turn the SDK's checksum validation off: a second pass in
// the SDK besides the portable layer's made reading a 10 MiB payload
// take 1.4 times as long as a plain GetObject (make bench).
//
// It uses the S3 client directly, with the object key escaped as
// gocloud.dev/blob/s3blob escapes it (see escapeKey): a gocloud.dev
// blob.Reader costs each read a caller lookup, a finalizer, a trace
// span and a metric, about 25 allocations, on top of the GetObject that
// is all the read needs.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64, opts *driver.OpenOptions) (*driver.BlobReader, error) {
	if !utf8.ValidString(key) {
		return nil, invalidf("payload key is not valid UTF-8")
	}
	if offset < 0 {
		return nil, invalidf("negative offset")
	}
	in := &s3.GetObjectInput{Bucket: d.bucketName, Key: aws.String(escapeKey(key))}
	switch {
	case length == 0:
		// S3 has no empty range: read one byte, and give none (the
		// request still finds a missing payload).
		in.Range = aws.String("bytes=" + strconv.FormatInt(offset, 10) + "-" + strconv.FormatInt(offset, 10))
	case length > 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(offset, 10) + "-" + strconv.FormatInt(offset+length-1, 10))
	case offset > 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(offset, 10) + "-")
	}
	verify := opts != nil && opts.Checksum.Valid() && offset == 0 && length < 0
	var out *s3.GetObjectOutput
	var err error
	sent := time.Now()
	if verify {
		// Asking for the stored checksum also makes the SDK validate the
		// body against it, whatever the client's
		// ResponseChecksumValidation (its checksum middleware validates
		// whenever ChecksumMode is ENABLED). It takes no per-call client
		// option: those make the SDK copy and rebuild the client's
		// options on every request: 13 µs and 2 allocations of a 1 KiB
		// GetObject against an in-process fake (BenchmarkOverhead in
		// cmd/docblob-bench).
		in.ChecksumMode = s3types.ChecksumModeEnabled
		out, err = d.s3().GetObject(ctx, in)
	} else {
		out, err = d.s3().GetObject(ctx, in, skipResponseChecksum)
	}
	if err != nil {
		return nil, err
	}
	if length == 0 {
		out.Body.Close()
		return &driver.BlobReader{ReadCloser: http.NoBody}, nil
	}
	n := aws.ToInt64(out.ContentLength)
	inParts := d.readsInParts(n)
	if !verify {
		if inParts {
			return &driver.BlobReader{ReadCloser: d.newRangedReader(ctx, in.Key, out, sent, offset, n, driver.Checksum{})}, nil
		}
		return &driver.BlobReader{ReadCloser: out.Body}, nil
	}
	held := s3Checksums{sha256: out.ChecksumSHA256, crc32c: out.ChecksumCRC32C, crc64nvme: out.ChecksumCRC64NVME, typ: out.ChecksumType}
	sum := held.fullObject(opts.Checksum.Algorithm)
	var want driver.Checksum
	switch {
	case sum != nil && !bytes.Equal(sum, opts.Checksum.Sum):
		out.Body.Close()
		return nil, newCoded(driver.Corrupt, fmt.Sprintf("S3 holds %s %x for the payload, not the %x recorded", opts.Checksum.Algorithm, sum, opts.Checksum.Sum), nil)
	case sum != nil:
		want = opts.Checksum
	}
	var body io.ReadCloser = out.Body
	if inParts {
		body = d.newRangedReader(ctx, in.Key, out, sent, offset, n, want)
	}
	return &driver.BlobReader{ReadCloser: body, Verified: want.Valid()}, nil
}

// skipResponseChecksum makes a GetObject skip the SDK's checksum
// validation (and its log line about multipart checksums it cannot check).
func skipResponseChecksum(so *s3.Options) {
	so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	so.DisableLogOutputChecksumValidationSkipped = true
}

// StatBlob describes the payload with one HeadObject, asking for its
// stored checksums (ChecksumMode ENABLED). Checksum is set only if S3
// holds a full-object checksum: one that S3 computed or verified against
// the bytes when they were written (a PutObject that carried a checksum,
// as WriteBlob's do, or a signed URL made with SignedURLOptions.SHA256, a
// multipart upload with a full-object CRC, or the CRC64NVME that S3
// computes by default for new objects), SHA-256 first if S3 holds
// several. A multipart upload's composite checksum ("<base64>-<parts>", a
// checksum of the parts' checksums) is not the payload's: Checksum is
// then zero. ContentType is the object's Content-Type.
//
// A missing payload is a 404 without an error body (HEAD responses have
// none); ErrorCode maps it to NotFound.
func (d *Driver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !utf8.ValidString(key) {
		return nil, invalidf("payload key is not valid UTF-8")
	}
	out, err := d.s3().HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(d.opts.Bucket),
		Key:          aws.String(escapeKey(key)),
		ChecksumMode: s3types.ChecksumModeEnabled,
	})
	if err != nil {
		return nil, err
	}
	return &driver.BlobInfo{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		Checksum:    (&s3Checksums{sha256: out.ChecksumSHA256, crc32c: out.ChecksumCRC32C, crc64nvme: out.ChecksumCRC64NVME, typ: out.ChecksumType}).any(),
		ContentType: aws.ToString(out.ContentType),
	}, nil
}

// DeleteBlob removes the payload with one DeleteObject (S3 reports success
// for a missing key). It uses the S3 client directly: gocloud.dev's Delete
// would first send a HeadObject to report missing keys.
func (d *Driver) DeleteBlob(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := d.deleteObject(ctx, key)
	if err != nil && isNoSuchKey(err) {
		return nil
	}
	return err
}

func (d *Driver) deleteObject(ctx context.Context, key string) error {
	if !utf8.ValidString(key) {
		return invalidf("payload key is not valid UTF-8")
	}
	return d.deleteEscaped(ctx, escapeKey(key))
}

// deleteEscaped deletes the object with the S3 key escapedKey.
func (d *Driver) deleteEscaped(ctx context.Context, escapedKey string) error {
	_, err := d.s3().DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: d.bucketName,
		Key:    aws.String(escapedKey),
	})
	return err
}

func isNoSuchKey(err error) bool {
	code := ""
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return code == "NoSuchKey" || code == "NotFound"
}

// ListBlobs lists one page of payloads with ListObjectsV2. Page tokens are
// S3's continuation tokens, base64url-encoded.
func (d *Driver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	tok := blob.FirstPageToken
	if pageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(b) == 0 {
			return nil, invalidf("malformed page token")
		}
		tok = b
	}
	b, err := d.bucket()
	if err != nil {
		return nil, err
	}
	objs, next, err := b.ListPage(ctx, tok, d.listPageSize, &blob.ListOptions{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	p := &driver.BlobPage{Blobs: make([]driver.BlobInfo, 0, len(objs))}
	for _, o := range objs {
		if o.IsDir {
			continue
		}
		p.Blobs = append(p.Blobs, driver.BlobInfo{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
	}
	if len(next) > 0 {
		p.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
	}
	return p, nil
}

// SignedURL returns a SigV4 presigned URL. A GET URL may override the
// response's Content-Type and Content-Disposition. Expiry is at most 7
// days, SigV4's limit.
//
// A PUT URL signs the headers the upload must send, so that S3 refuses
// (403 SignatureDoesNotMatch) a request whose headers differ:
//
//   - ContentType: the Content-Type header.
//   - CreateOnly: the header If-None-Match: *, which makes the PUT
//     conditional: S3 answers 412 PreconditionFailed, and stores nothing,
//     if the key already holds an object, so the URL can create the
//     payload but never replace it.
//   - Size >= 0: the Content-Length header, so that a body of any other
//     length is refused. SigV4 only signs a positive Content-Length: a
//     Size of 0 is not enforced by S3 and is left to the portable layer's
//     check when the upload is committed.
//   - SHA256: the header x-amz-checksum-sha256 (the standard base64 of
//     the 32 bytes), which the client must send with exactly that value.
//     S3 verifies the body against it and refuses other bytes (400
//     BadDigest, nothing stored), keeps it, and StatBlob then reports it.
//
// MaxSize is ignored: a presigned PUT cannot bound the length to a range
// (only a POST policy can), so the portable layer checks MaxSize when the
// upload is committed; set Size for an exact bound that S3 enforces.
//
// SignedURL checks that the presigner really signed these headers, and
// returns an error wrapping driver.Unimplemented rather than a URL that
// grants more than asked.
func (d *Driver) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	if opts == nil {
		return "", invalidf("SignedURLOptions are required")
	}
	if opts.Expiry <= 0 || opts.Expiry > maxSignedURLExpiry {
		return "", invalidf("signed URL expiry must be positive and at most 7 days")
	}
	bopts := &blob.SignedURLOptions{Expiry: opts.Expiry}
	var mustSign []string // headers the URL must sign, lower case
	switch strings.ToUpper(opts.Method) {
	case "", http.MethodGet:
		bopts.Method = http.MethodGet
		bopts.BeforeSign = func(as func(any) bool) error {
			var in *s3.GetObjectInput
			if !as(&in) {
				return errors.New("s3dynamo: s3blob did not expose the GetObject input")
			}
			if opts.ContentType != "" {
				in.ResponseContentType = aws.String(opts.ContentType)
			}
			if opts.ContentDisposition != "" {
				in.ResponseContentDisposition = aws.String(opts.ContentDisposition)
			}
			return nil
		}
	case http.MethodPut:
		switch {
		case opts.Size < -1:
			return "", invalidf("signed URL size must be -1 (any) or at least 0")
		case opts.MaxSize < 0:
			return "", invalidf("signed URL maximum size must be 0 (none) or positive")
		case opts.MaxSize > 0 && opts.Size > opts.MaxSize:
			return "", invalidf("signed URL size exceeds its maximum size")
		}
		bopts.Method = http.MethodPut
		if opts.ContentType != "" {
			mustSign = append(mustSign, "content-type")
		}
		if opts.CreateOnly {
			mustSign = append(mustSign, "if-none-match")
		}
		if opts.Size > 0 {
			mustSign = append(mustSign, "content-length")
		}
		if opts.SHA256 != nil {
			if len(opts.SHA256) != 32 {
				return "", invalidf("signed URL SHA-256 must be 32 bytes")
			}
			mustSign = append(mustSign, "x-amz-checksum-sha256")
		}
		// s3blob refuses SignedURLOptions.ContentType for PUT; setting it on
		// the input makes Content-Type a signed header instead, and so do
		// IfNoneMatch and ContentLength for theirs.
		bopts.BeforeSign = func(as func(any) bool) error {
			var in *s3.PutObjectInput
			if !as(&in) {
				return errors.New("s3dynamo: s3blob did not expose the PutObject input")
			}
			if opts.ContentType != "" {
				in.ContentType = aws.String(opts.ContentType)
			}
			if opts.CreateOnly {
				in.IfNoneMatch = aws.String("*")
			}
			// A zero ContentLength is not signed, and would make the SDK
			// drop the Content-Type from the signed headers too.
			if opts.Size > 0 {
				in.ContentLength = aws.Int64(opts.Size)
			}
			if opts.SHA256 != nil {
				in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(opts.SHA256))
			}
			return nil
		}
	default:
		return "", invalidf("signed URL method must be GET or PUT, not " + strconv.Quote(opts.Method))
	}
	b, err := d.bucket()
	if err != nil {
		return "", err
	}
	u, err := b.SignedURL(ctx, key, bopts)
	if err != nil {
		return "", err
	}
	if len(mustSign) > 0 {
		if err := checkSignedHeaders(u, mustSign); err != nil {
			return "", err
		}
	}
	return u, nil
}

// checkSignedHeaders makes sure that the presigned URL u signs every
// header in want (lower case): an SDK that hoisted one into the query or
// dropped it would grant uploads that the caller meant to refuse.
func checkSignedHeaders(u string, want []string) error {
	pu, err := url.Parse(u)
	if err != nil {
		// Not wrapped: the error would repeat the URL, signature and all.
		return errors.New("s3dynamo: the presigned URL does not parse")
	}
	signed := strings.Split(pu.Query().Get("X-Amz-SignedHeaders"), ";")
	for _, h := range want {
		if !slices.Contains(signed, h) {
			return newCoded(driver.Unimplemented, "the presigner did not sign the "+h+" header of the PUT URL", nil)
		}
	}
	return nil
}

// escapeKey turns a payload key into the S3 object key exactly as
// gocloud.dev/blob/s3blob does, so that the payloads DeleteBlob removes
// through the S3 client are the ones the blob writer stored: control
// characters, the "/" of "../", and the start of anything that reads as
// an escape sequence ("__0x<hex>__") become "__0x<hex>__".
func escapeKey(key string) string {
	if !needsEscape(key) {
		return key
	}
	runes := []rune(key)
	escape := func(i int) bool {
		c := runes[i]
		return c < 32 ||
			(i > 1 && c == '/' && runes[i-1] == '.' && runes[i-2] == '.') ||
			isEscapeSequence(runes[i:])
	}
	var b strings.Builder
	changed := false
	for i, c := range runes {
		if escape(i) {
			fmt.Fprintf(&b, "__%#x__", c)
			changed = true
		} else {
			b.WriteRune(c)
		}
	}
	if !changed {
		return key
	}
	return b.String()
}

// needsEscape reports whether escapeKey might change key: whether it has
// a control character, "../" or "__0x". Most keys have none, and then
// escapeKey allocates nothing.
func needsEscape(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] < 32 {
			return true
		}
	}
	return strings.Contains(key, "../") || strings.Contains(key, "__0x")
}

// isEscapeSequence reports whether r starts with "__0x", hex digits that
// fit an int32, and "__".
func isEscapeSequence(r []rune) bool {
	const lead = "__0x"
	if len(r) < len(lead) || string(r[:len(lead)]) != lead {
		return false
	}
	rest := r[len(lead):]
	end := 0
	for end < len(rest) && rest[end] != '_' {
		end++
	}
	if end+1 >= len(rest) || rest[end+1] != '_' {
		return false
	}
	_, err := strconv.ParseInt(string(rest[:end]), 16, 32)
	return err == nil
}

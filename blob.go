package docblob

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"maps"
	"mime"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// Blob is an attachment: a payload that lives in the blob store (or, under
// the inline threshold, inside the document) with its metadata recorded in
// the document. Any top-level field of type *Blob in a document is an
// attachment.
//
// A Blob is either new, made by NewBlob or NewBlobBytes and not yet stored,
// or stored, as returned by Get and queries, or as left by a successful Put
// (which turns the new blobs of the document it stored into stored ones).
// Metadata accessors work on both; reads work on stored blobs only. A
// stored Blob is immutable and safe for concurrent use; a new Blob must not
// be used by two Puts at once.
type Blob struct {
	// New blobs.
	src      io.Reader // NewBlob; nil after it has been consumed
	srcStart int64     // position of src when given, if it is an io.Seeker
	read     bool      // a Put has read from src
	data     []byte    // NewBlobBytes
	isBytes  bool
	opts     BlobOptions
	pending  *pendingUpload // NewUpload

	// Stored blobs.
	ref    *attach.Ref
	store  *Store
	docKey Key    // the document that references it
	field  string // the attachment field that references it
	docRev string // revision of that document when the blob was read
	// progress is the read progress callback of a view made by
	// WithProgress.
	progress func(done, total int64)
}

// BlobOptions are the optional properties of a new Blob.
type BlobOptions struct {
	// Name is the payload's original file name, recorded as metadata.
	Name string
	// ContentType is the payload's media type. If empty, it is sniffed from
	// the first 512 bytes with http.DetectContentType; if that finds only
	// "application/octet-stream" and Name's extension (in any case) is one
	// of docblob's fixed table of common formats (Go's built-in types and
	// office, archive, media and font types such as .docx, .parquet, .mp4,
	// .woff2), that type is used. The machine's MIME tables are not read,
	// so a payload gets the same type on every machine. A given type that
	// browsers display inline (an image, PDF, text) gives way to the
	// sniffed one when the bytes sniff as HTML, XML, SVG or JavaScript, so
	// that such a payload is downloaded rather than rendered (see
	// Blob.SignedURL).
	ContentType string
	// Metadata is user metadata recorded with the payload: small string
	// pairs, stored in the document.
	Metadata map[string]string
	// Size, if positive, is the payload's expected length, and SHA256, if
	// set, its expected SHA-256 (a migration knows both from the source).
	// Put checks the payload against them as it reads it: a payload of
	// another length fails with code InvalidArgument (a longer one as
	// soon as it passes Size, without uploading the rest), other bytes
	// with code Corrupt, and nothing is written (an upload already made
	// is deleted before Put returns).
	Size   int64
	SHA256 []byte
	// Progress, if set, is called as Put uploads the payload, with the
	// bytes sent so far and the payload's size if known in advance (a
	// blob made from bytes, a *bytes.Reader, *strings.Reader or regular
	// file, or one whose Size is given above), -1 otherwise. It is called
	// at most every ProgressInterval, and always once when the upload
	// ends: after a successful one with done and total both the payload's
	// size (inline payloads included), after a failed one with what was
	// sent. It is called from a goroutine reading the payload (a backend
	// may read a file's parts from several at once) or the one calling
	// Put, never concurrently with itself (a lock of its own sees to
	// that), and never while docblob holds any other lock; it should
	// return quickly, as the upload waits for it. done counts the bytes of the
	// payload read at least once: a byte that the backend reads twice (to
	// compute a part's checksum, then to send it, or again for a retry)
	// is not counted twice, and done never decreases.
	Progress func(done, total int64)
}

// NewBlob returns a new attachment whose payload will be read from r when
// a document holding it is stored by Put. The payload is streamed: it is
// never held whole in memory. How often r is read:
//
//   - a *bytes.Reader, a *strings.Reader or a regular *os.File is
//     handed to the backend itself, with its size (measured by seeking),
//     whatever that size: the backend can send a small one in one
//     request, and read the parts of a large one where they lie (the S3
//     driver reads them with ReadAt, several at once, and holds no copy
//     of them). Its checksum (see Options.Checksum) is computed by the
//     backend from the bytes it sends (the S3 driver reads each part of
//     a large payload twice, locally: once for its CRC, once to send
//     it) and verified by the server (S3 refuses a payload damaged on
//     the way). When a SHA-256 must be known before sending (a store
//     whose checksum is ChecksumSHA256, or BlobOptions.SHA256), such a
//     source of at most 16 MiB is read twice, once to compute it and
//     once to send it, and a larger one is streamed as below;
//   - any other reader, seekable or not (a gocloud.dev blob.Reader, an
//     HTTP body), is read exactly once, its checksum computed as it is
//     sent, and seeked only to rewind it after a failed Put.
//
// If r is also an io.Seeker, a Put that fails rewinds it so that the Put
// can be retried with the same Blob; otherwise a retry needs a new Blob.
// opts may be nil.
func NewBlob(r io.Reader, opts *BlobOptions) *Blob {
	b := &Blob{src: r, srcStart: -1}
	if opts != nil {
		b.opts = *opts
		b.opts.Metadata = maps.Clone(opts.Metadata)
		b.opts.SHA256 = bytes.Clone(opts.SHA256)
	}
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			b.srcStart = pos
		}
	}
	return b
}

// NewBlobBytes returns a new attachment holding data. docblob does not copy
// data: the caller must not modify it until Put returns. opts may be nil.
func NewBlobBytes(data []byte, opts *BlobOptions) *Blob {
	b := NewBlob(nil, opts)
	b.data, b.isBytes = data, true
	return b
}

// Stored reports whether b describes a stored payload (as opposed to a new
// one not yet written by Put).
func (b *Blob) Stored() bool { return b.ref != nil }

// Key returns the payload's storage key in the blob store: for a direct
// upload's Blob, the key the client uploads to; "" for a new blob or an
// inline payload.
func (b *Blob) Key() string {
	if b.pending != nil {
		return b.pending.key
	}
	if b.ref == nil {
		return ""
	}
	return b.ref.Key
}

// Bucket returns the blob store container that holds the payload (the S3
// bucket of the store that read it), or "" if the backend has none, the
// payload is inline or the blob is not stored. The bucket recorded in the
// document is informational: payloads are always read from the store's
// own.
func (b *Blob) Bucket() string {
	if b.ref == nil || b.ref.IsInline || b.store == nil {
		return ""
	}
	return b.store.info.Container
}

// Inline reports whether the payload is kept inside the document.
func (b *Blob) Inline() bool { return b.ref != nil && b.ref.IsInline }

// Size returns the payload's size in bytes: known for stored blobs and
// blobs made from bytes, -1 for a new blob made from a reader.
func (b *Blob) Size() int64 {
	switch {
	case b.ref != nil:
		return b.ref.Size
	case b.isBytes:
		return int64(len(b.data))
	}
	return -1
}

// ContentType returns the payload's media type. For a new blob it is the
// type given in BlobOptions ("" if it is to be sniffed).
func (b *Blob) ContentType() string {
	if b.ref != nil {
		return b.ref.ContentType
	}
	return b.opts.ContentType
}

// SHA256 returns the lowercase hex SHA-256 of the payload if that is the
// checksum recorded for it (a store whose Options.Checksum is
// ChecksumSHA256, or a payload written before checksums could be chosen),
// or "" for a new blob or a payload recorded with another checksum (see
// Checksum).
func (b *Blob) SHA256() string {
	if b.ref == nil || b.ref.Checksum.Algorithm != driver.SHA256 {
		return ""
	}
	return hex.EncodeToString(b.ref.Checksum.Sum)
}

// ETag returns the backend's entity tag for the payload, or "" if it has
// none or the blob is not stored.
func (b *Blob) ETag() string {
	if b.ref == nil {
		return ""
	}
	return b.ref.ETag
}

// Name returns the payload's original file name, or "".
func (b *Blob) Name() string {
	if b.ref != nil {
		return b.ref.Name
	}
	return b.opts.Name
}

// Created returns when the payload was stored, or the zero time for a new
// blob.
func (b *Blob) Created() time.Time {
	if b.ref == nil {
		return time.Time{}
	}
	return b.ref.Created
}

// Metadata returns a copy of the user metadata.
func (b *Blob) Metadata() map[string]string {
	if b.ref != nil {
		return maps.Clone(b.ref.Metadata)
	}
	return maps.Clone(b.opts.Metadata)
}

// Open returns a reader of the whole payload. The reader verifies the
// payload's size and recorded checksum (see Checksum) as it reaches the
// end: on a mismatch, Read returns an error with code Corrupt instead of
// io.EOF, so a caller that reads to io.EOF has read exactly the bytes
// that were stored. The caller must close the reader. Close may be called
// from another goroutine while a Read is in progress, to abort the read
// (as with an HTTP response body): that Read returns promptly, and every
// Read after Close fails (with code FailedPrecondition, unless the read
// had already ended).
func (b *Blob) Open(ctx context.Context) (io.ReadCloser, error) {
	return b.NewRangeReader(ctx, 0, -1)
}

// NewRangeReader returns a reader of length bytes of the payload starting
// at offset, or through the end if length is negative. offset may equal
// the size (an empty read); beyond it is an error with code
// InvalidArgument, and a range running past the end is cut at the end. A
// read of the whole payload is verified as by Open; a partial read checks
// only that the backend returned the number of bytes asked for, since a
// checksum covers the whole payload.
func (b *Blob) NewRangeReader(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	const op = "read"
	if b.ref == nil {
		return nil, errorf(InvalidArgument, op, noKey, "the blob is not stored yet (Put the document first)")
	}
	ctx, sp := b.store.startSpan(ctx, "Open")
	v, err := b.newRangeReader(ctx, offset, length)
	if err != nil {
		sp.end(err)
		return nil, err
	}
	v.sp = sp // ended by Close
	return v, nil
}

func (b *Blob) newRangeReader(ctx context.Context, offset, length int64) (*verifyingReader, error) {
	const op = "read"
	size := b.ref.Size
	if offset < 0 || offset > size {
		return nil, errorf(InvalidArgument, op, b.docKey, "offset %d outside payload of %d bytes", offset, size)
	}
	if length < 0 || length > size-offset {
		length = size - offset
	}
	whole := offset == 0 && length == size
	if b.ref.IsInline {
		return b.verifier(io.NopCloser(bytes.NewReader(b.ref.Inline[offset:offset+length])), length, whole), nil
	}
	if length == 0 && !whole {
		v := b.verifier(io.NopCloser(bytes.NewReader(nil)), 0, false)
		v.local = true
		return v, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	driverLen := length
	if whole {
		driverLen = -1 // read to the end, so that a longer payload is caught
	}
	exit, err := b.store.enter(op)
	if err != nil {
		return nil, err
	}
	defer exit()
	var oopts *driver.OpenOptions
	if whole {
		oopts = &driver.OpenOptions{Checksum: b.ref.Checksum}
	}
	br, err := b.store.drv.OpenBlob(ctx, b.ref.Key, offset, driverLen, oopts)
	if err != nil {
		return nil, b.store.wrap(op, b.docKey, err)
	}
	v := b.verifier(br, length, whole && !br.Verified)
	return v, nil
}

// WithProgress returns a view of the stored blob b whose reads (Open,
// NewRangeReader, ReadAll, CopyTo, and the copy that Put makes when the
// view is stored in another document or store) report their progress to
// f, b itself being unchanged. Each read calls f(done, total) with the
// bytes it has delivered so far and its length (the payload's size, or
// the range's length for NewRangeReader, cut at the payload's end), at
// most every ProgressInterval, and always once when it ends: at io.EOF
// (done then equals total), on an error, or on Close, whichever comes
// first. f is called on the goroutine calling Read or Close, never
// concurrently with itself for one read, and never while docblob holds a
// lock; it should return quickly, as the read waits for it. The view is a
// stored blob like b, equal to it in every other respect. For a new blob,
// which is read by Put, set BlobOptions.Progress instead: WithProgress
// then returns b unchanged. A nil f gives a view without progress.
func (b *Blob) WithProgress(f func(done, total int64)) *Blob {
	if b.ref == nil {
		return b
	}
	v := *b
	v.progress = f
	return &v
}

// readAllPrealloc bounds what ReadAll allocates up front.
const readAllPrealloc = 16 << 20

// ReadAll reads and verifies the whole payload into memory.
func (b *Blob) ReadAll(ctx context.Context) ([]byte, error) {
	r, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The recorded size may be a lie (an item written by another tool):
	// allocate for it only up to a bound, and let the buffer grow with
	// what is actually read, which the verifier stops past the size.
	buf := bytes.NewBuffer(make([]byte, 0, min(b.ref.Size, readAllPrealloc)+1))
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CopyTo writes the whole payload to w and returns the number of bytes
// written. The payload is verified as by Open; on a mismatch the bytes
// already written to w are not the stored payload, and CopyTo returns an
// error with code Corrupt. (It is not named WriteTo because it takes a
// context, unlike io.WriterTo.)
func (b *Blob) CopyTo(ctx context.Context, w io.Writer) (int64, error) {
	r, err := b.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(w, r)
}

// SignedURLOptions are the options of Blob.SignedURL.
type SignedURLOptions struct {
	// Expiry is how long the URL stays valid: default one hour, at most
	// MaxSignedURLExpiry, rounded up to a whole second.
	Expiry time.Duration
	// ContentType sets the Content-Type of the download response; default
	// the payload's recorded content type.
	ContentType string
	// ContentDisposition sets the Content-Disposition of the download
	// response, for example `attachment; filename="march.pdf"`.
	ContentDisposition string
	// AllowActiveContent lets a payload that a browser could run (HTML,
	// SVG, XML, JavaScript, or any type not known to be displayed only) be
	// served without "Content-Disposition: attachment". Set it only for
	// content you trust, served from an origin where its scripts can do no
	// harm.
	AllowActiveContent bool
}

// MaxSignedURLExpiry is the longest a signed URL may stay valid, on every
// backend: S3's limit for presigned URLs.
const MaxSignedURLExpiry = 7 * 24 * time.Hour

// SignedURL returns a URL from which anyone holding it can download the
// payload until it expires, without credentials. Drivers that cannot sign
// URLs, and inline payloads (which are not in the blob store), give an
// error with code Unimplemented. opts may be nil.
//
// Safe serving: the response's Content-Type is the payload's recorded type
// (or opts.ContentType). Unless both are types a browser only displays
// (images other than SVG, audio, video, PDF, plain text, CSV, JSON), the
// response carries "Content-Disposition: attachment" (with the payload's
// name), so a browser downloads the payload instead of rendering it: an
// uploaded HTML or SVG file cannot run script from the URL's origin. An
// explicit ContentDisposition other than attachment for such a payload is
// refused with code InvalidArgument unless opts.AllowActiveContent is set.
func (b *Blob) SignedURL(ctx context.Context, opts *SignedURLOptions) (_ string, err error) {
	const op = "signed URL"
	if b.ref == nil {
		return "", errorf(InvalidArgument, op, noKey, "the blob is not stored yet (Put the document first)")
	}
	ctx, sp := b.store.startSpan(ctx, "SignedURL")
	defer func() { sp.end(err) }()
	if b.ref.IsInline {
		return "", errorf(Unimplemented, op, b.docKey, "the payload is inline, kept inside the document")
	}
	exit, err := b.store.enter(op)
	if err != nil {
		return "", err
	}
	defer exit()
	if opts == nil {
		opts = &SignedURLOptions{}
	}
	dopts := &driver.SignedURLOptions{Method: "GET", Expiry: opts.Expiry,
		ContentType: opts.ContentType, ContentDisposition: opts.ContentDisposition}
	switch e := dopts.Expiry; {
	case e == 0:
		dopts.Expiry = time.Hour
	case e < 0 || e > MaxSignedURLExpiry:
		return "", errorf(InvalidArgument, op, b.docKey, "expiry %v must be positive and at most %v", e, MaxSignedURLExpiry)
	default:
		dopts.Expiry = (e + time.Second - 1).Truncate(time.Second) // backends count whole seconds
	}
	if dopts.ContentType == "" {
		dopts.ContentType = b.ref.ContentType
	}
	if !opts.AllowActiveContent && (!inlineSafe(b.ref.ContentType) || !inlineSafe(dopts.ContentType)) {
		switch disp, _, _ := mime.ParseMediaType(dopts.ContentDisposition); {
		case dopts.ContentDisposition == "":
			dopts.ContentDisposition = attachmentDisposition(b.ref.Name)
		case disp != "attachment":
			return "", errorf(InvalidArgument, op, b.docKey, "content type %q may be rendered as active content; serving it with Content-Disposition %q needs SignedURLOptions.AllowActiveContent", dopts.ContentType, dopts.ContentDisposition)
		}
	}
	u, err := b.store.drv.SignedURL(ctx, b.ref.Key, dopts)
	if err != nil {
		return "", b.store.wrap(op, b.docKey, err)
	}
	return u, nil
}

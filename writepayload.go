package docblob

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// sniffLen is how many bytes http.DetectContentType considers.
const sniffLen = 512

// prehashMax bounds the payloads whose SHA-256 is computed before they
// are written, when it is needed and their source can be read twice (see
// writePayload).
const prehashMax = 16 << 20

// writePayload stores the payload of a new (or copied) attachment: inline
// if it is small enough, otherwise under a fresh key. A payload that can
// be read again at no cost (bytes, or a local source: see rereadable) is
// handed to the driver whole, with its size: the source itself, an
// io.ReadSeeker and io.ReaderAt, which the driver can send in one
// request or read in parts where they lie, whatever its size. Only if the
// store's checksum is SHA-256, or BlobOptions.SHA256 asks for it, is it
// hashed first (a CRC is computed by the driver, or its backend, as the
// bytes are sent), and then only up to prehashMax bytes: a larger one is
// streamed, so that it is read once. Any other payload, seekable or
// not, is streamed: read once, so that a remote source (a gocloud
// blob.Reader, an HTTP body) is never downloaded twice.
//
// The checksum recorded is the one the driver reports (see
// driver.BlobAttrs.Checksum), of the store's algorithm, computed in the
// pass that stores the bytes; docblob hashes the bytes itself only for
// an inline payload and for BlobOptions.SHA256.
//
// BlobOptions.Progress, if set, hears of the bytes the driver reads, and
// once of the end (see progress).
func (s *Store) writePayload(ctx context.Context, op string, d *document, a *attachment) (ref *attach.Ref, err error) {
	src, opts, known, err := s.payloadSource(ctx, op, d, a.blob)
	if err != nil {
		return nil, err
	}
	prog := newProgress(opts.Progress, -1)
	defer func() {
		if err == nil {
			prog.complete(ref.Size)
		} else {
			prog.end()
		}
	}()
	if known != nil {
		prog.setTotal(known.size)
	} else if opts.Size > 0 {
		prog.setTotal(opts.Size)
	}
	if opts.Size < 0 || (opts.SHA256 != nil && len(opts.SHA256) != sha256.Size) {
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
		return nil, errorf(InvalidArgument, op, d.key, "BlobOptions.Size %d must not be negative, and BlobOptions.SHA256 (%d bytes) must be %d bytes if set", opts.Size, len(opts.SHA256), sha256.Size)
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	ref = &attach.Ref{Name: opts.Name, Metadata: opts.Metadata, Created: s.opts.Now().UTC(), ContentType: opts.ContentType}
	if rs, ok := src.(io.ReadSeeker); ok && a.blob.rereadable() {
		whole, ok, err := prehash(rs, s.alg, opts.SHA256 != nil)
		if err != nil {
			return nil, s.sourceError(op, d, err)
		}
		if ok {
			if err := s.checkExpected(op, d, &opts, &whole.knownPayload); err != nil {
				return nil, err
			}
			prog.setTotal(whole.size)
			return s.writeWhole(ctx, op, d, a.field, rs, &whole, ref, prog)
		}
		if whole.size > 0 {
			prog.setTotal(whole.size) // measured, to be streamed
		}
	}
	if known == nil && (opts.Size > 0 || opts.SHA256 != nil) {
		known = &knownPayload{size: opts.Size, sha256: opts.SHA256, expected: true}
		if opts.Size > 0 {
			src = &sizeGuard{r: src, max: opts.Size}
		}
	}
	return s.writeStream(ctx, op, d, a.field, src, known, ref, prog)
}

// rereadable reports whether a new blob's payload can be read twice at no
// cost: bytes, a *bytes.Reader or *strings.Reader, or a regular *os.File.
// Every other source is read once.
func (b *Blob) rereadable() bool {
	if b.isBytes {
		return true
	}
	switch src := b.src.(type) {
	case *bytes.Reader, *strings.Reader:
		return true
	case *os.File:
		fi, err := src.Stat()
		return err == nil && fi.Mode().IsRegular()
	}
	return false
}

// checkExpected checks a payload whose size (and SHA-256, if expected) are
// known before it is written against what BlobOptions said to expect.
func (s *Store) checkExpected(op string, d *document, opts *BlobOptions, got *knownPayload) error {
	switch {
	case opts.Size > 0 && got.size != opts.Size:
		return errorf(InvalidArgument, op, d.key, "the payload is %d bytes, not the %d its BlobOptions.Size expects; nothing was written", got.size, opts.Size)
	case opts.SHA256 != nil && !bytes.Equal(got.sha256, opts.SHA256):
		return errorf(Corrupt, op, d.key, "the payload does not match the SHA-256 its BlobOptions expects; nothing was written")
	}
	return nil
}

// sizeGuard fails a read once more than max bytes have come, so that a
// payload longer than expected is not uploaded to its end.
type sizeGuard struct {
	r   io.Reader
	max int64
	n   int64
}

// errTooLong is the error of a payload longer than its BlobOptions.Size.
var errTooLong = errors.New("the payload is longer than its BlobOptions.Size")

func (g *sizeGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.max {
		return 0, errTooLong
	}
	return n, err
}

// peekLen is how much of a payload is looked at before writing it: enough
// to sniff its type and to tell whether it goes inline.
func (s *Store) peekLen() int {
	if t := s.opts.InlineThreshold; t > 0 && t+1 > sniffLen {
		return int(t + 1)
	}
	return sniffLen
}

// inline fills ref with a payload kept inside the document, if the
// payload (all of it in head, complete) is under the threshold, with its
// checksum of the store's algorithm.
func (s *Store) inline(ref *attach.Ref, head []byte, complete bool) bool {
	t := s.opts.InlineThreshold
	if t <= 0 || !complete || int64(len(head)) > t {
		return false
	}
	ref.Inline, ref.IsInline = bytes.Clone(head), true
	ref.Size, ref.Checksum = int64(len(head)), driver.Checksum{Algorithm: s.alg, Sum: s.alg.Sum(head)}
	return true
}

// wholePayload is a payload whose size is known, from a source that can
// be read again from start.
type wholePayload struct {
	start int64
	knownPayload
}

// prehash measures a seekable source and, if the store's algorithm alg
// is SHA-256 or sha asks for it (an expected BlobOptions.SHA256), hashes
// it with SHA-256, and with alg in the same pass; then it rewinds it. The
// driver is handed that checksum (WriteOptions.Sum) and refuses bytes
// that do not match it, so a file rewritten after this read is not stored
// under the SHA-256 checked on it. It reports false for a source that
// needs hashing and is larger than prehashMax, which is streamed instead,
// so that it is read once.
func prehash(rs io.ReadSeeker, alg driver.ChecksumAlgorithm, sha bool) (w wholePayload, ok bool, err error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return w, false, nil // not really seekable: stream it
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return w, false, err
	}
	w = wholePayload{start: start, knownPayload: knownPayload{size: end - start}}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return w, false, err
	}
	switch {
	case alg != driver.SHA256 && !sha:
		return w, true, nil
	case w.size > prehashMax:
		return w, false, nil
	}
	h := sha256Pool.Get().(hash.Hash)
	defer sha256Pool.Put(h)
	h.Reset()
	var dst io.Writer = h
	var own hash.Hash // the store's algorithm, if not SHA-256
	if alg != driver.SHA256 {
		// Made in the same pass, and handed to the driver, which refuses
		// bytes that do not match it: so a source that changes after this
		// read cannot be stored under the SHA-256 checked on this one.
		own = alg.New()
		dst = io.MultiWriter(h, own)
	}
	if n, err := io.Copy(dst, rs); err != nil || n != w.size {
		return w, false, fmt.Errorf("hashing the payload: read %d of %d bytes: %v", n, w.size, err)
	}
	w.sha256 = h.Sum(nil)
	if own != nil {
		w.sum = driver.Checksum{Algorithm: alg, Sum: own.Sum(nil)}
	} else {
		w.sum = driver.Checksum{Algorithm: alg, Sum: w.sha256}
	}
	_, err = rs.Seek(start, io.SeekStart)
	return w, err == nil, err
}

// sha256Pool holds SHA-256 hashers for reuse.
var sha256Pool = sync.Pool{New: func() any { return sha256.New() }}

// writeWhole writes a payload whose size is known, from a source that can
// be read again.
func (s *Store) writeWhole(ctx context.Context, op string, d *document, field string, rs io.ReadSeeker, w *wholePayload, ref *attach.Ref, prog *progress) (*attach.Ref, error) {
	head := make([]byte, min(int64(s.peekLen()), w.size))
	if _, err := io.ReadFull(rs, head); err != nil {
		return nil, s.sourceError(op, d, err)
	}
	if _, err := rs.Seek(w.start, io.SeekStart); err != nil {
		return nil, s.sourceError(op, d, err)
	}
	ref.ContentType = resolveContentType(ref.ContentType, sniffContentType(head, ref.Name))
	if s.inline(ref, head, int64(len(head)) == w.size) {
		return ref, nil
	}
	key, err := s.freshKey(ctx, op, d, field)
	if err != nil {
		return nil, err
	}
	var body io.Reader = rs
	if prog != nil {
		pb := newProgressBody(rs, prog, w.start, w.size)
		defer pb.stop()
		body = pb
	}
	attrs, err := s.drv.WriteBlob(ctx, key, body, &driver.WriteOptions{ContentType: ref.ContentType, Size: w.size, Checksum: s.alg, Sum: w.sum.Sum})
	if err == nil {
		// A driver that returns before the end would store a truncated
		// payload.
		if pos, serr := rs.Seek(0, io.SeekCurrent); serr != nil || pos != w.start+w.size {
			s.deletePayloads(ctx, op, d.key, []string{key})
			err = fmt.Errorf("driver returned from WriteBlob before reading the payload to its end")
		}
	}
	if err == nil {
		err = s.checkReported(ctx, op, d, key, attrs, w.sum.Sum)
	}
	if err != nil {
		if serr := sourceErr(rs); serr != nil {
			return nil, s.sourceError(op, d, serr)
		}
		return nil, s.wrap(op, d.key, err)
	}
	ref.Key, ref.Size, ref.Checksum = key, w.size, attrs.Checksum
	ref.ETag, ref.Bucket = attrs.ETag, s.info.Container
	return ref, nil
}

// checkReported checks the checksum a driver reported for a payload it
// wrote (and that it matches want, if known), deleting the payload if
// not.
func (s *Store) checkReported(ctx context.Context, op string, d *document, key string, attrs *driver.BlobAttrs, want []byte) error {
	c := attrs.Checksum
	switch {
	case c.Algorithm != s.alg || !c.Valid():
		s.deletePayloads(ctx, op, d.key, []string{key})
		return fmt.Errorf("driver did not report the payload's %s checksum (reported %q)", s.alg, c.String())
	case want != nil && !bytes.Equal(c.Sum, want):
		s.deletePayloads(ctx, op, d.key, []string{key})
		return &driver.Error{Code: driver.Corrupt, Err: fmt.Errorf("driver stored a payload whose %s differs from the one computed before sending it", s.alg)}
	}
	return nil
}

// writeStream writes a payload read once, counting its size as the driver
// reads it (and computing its SHA-256 if BlobOptions.SHA256 expects one).
// If known is not nil (a copy of a stored payload, or expectations from
// BlobOptions), the result must match it.
func (s *Store) writeStream(ctx context.Context, op string, d *document, field string, src io.Reader, known *knownPayload, ref *attach.Ref, prog *progress) (*attach.Ref, error) {
	peekLen := s.peekLen()
	br := bufio.NewReaderSize(src, peekLen)
	head, perr := br.Peek(peekLen)
	if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
		return nil, s.sourceError(op, d, perr)
	}
	ref.ContentType = resolveContentType(ref.ContentType, sniffContentType(head, ref.Name))
	mismatch := func() error {
		if known.expected {
			code := Corrupt
			if known.size > 0 && known.size != ref.Size {
				code = InvalidArgument
			}
			return errorf(code, op, d.key, "the payload (%d bytes) does not match the size and SHA-256 its BlobOptions expect; nothing was written", ref.Size)
		}
		return errorf(Corrupt, op, d.key, "copied payload does not match its recorded size and SHA-256")
	}
	if s.inline(ref, head, perr == io.EOF) {
		var sha []byte
		if known != nil && known.sha256 != nil {
			sum := sha256.Sum256(head)
			sha = sum[:]
		}
		if known.mismatch(ref.Size, ref.Checksum, sha) {
			return nil, mismatch()
		}
		return ref, nil
	}
	key, err := s.freshKey(ctx, op, d, field)
	if err != nil {
		return nil, err
	}
	// A copy's recorded size and checksum are not announced to the
	// driver: they may be a lie (an item written by another tool), and a
	// driver may size its buffers by them. The copied bytes are checked
	// against the record below, in the same pass.
	wopts := &driver.WriteOptions{ContentType: ref.ContentType, Size: -1, Checksum: s.alg}
	hr := newHashingReader(br, "", known != nil && known.sha256 != nil)
	hr.prog = prog
	attrs, err := s.drv.WriteBlob(ctx, key, hr, wopts)
	if err == nil && !hr.eof {
		// A driver that returns before EOF would store a truncated payload.
		s.deletePayloads(ctx, op, d.key, []string{key})
		err = fmt.Errorf("driver returned from WriteBlob before reading the payload to its end")
	}
	if err == nil {
		err = s.checkReported(ctx, op, d, key, attrs, nil)
	}
	if err != nil {
		if hr.err != nil {
			return nil, s.sourceError(op, d, hr.err)
		}
		return nil, s.wrap(op, d.key, err)
	}
	ref.Key, ref.Size, ref.Checksum = key, hr.n, attrs.Checksum
	ref.ETag, ref.Bucket = attrs.ETag, s.info.Container
	var sha []byte
	if hr.sha != nil {
		sha = hr.sha.Sum(nil)
	}
	if known.mismatch(ref.Size, ref.Checksum, sha) {
		s.deletePayloads(ctx, op, d.key, []string{key})
		return nil, mismatch()
	}
	return ref, nil
}

// knownPayload is what is known of a payload before it is read: from its
// record (a copy), from its bytes, or, if expected, from BlobOptions.
type knownPayload struct {
	size     int64           // 0 with expected: not given
	sum      driver.Checksum // a copy's recorded checksum; zero if unknown
	sha256   []byte          // the payload's SHA-256, if known or expected
	expected bool
}

// mismatch reports whether a payload of size, checksum sum and SHA-256
// sha (nil if not computed) differs from what is known of it; nothing
// known never differs. A copy's recorded checksum is compared only if
// it is of sum's algorithm: a copy of a payload recorded with another
// was verified against its record as it was read (see Blob.Open).
func (k *knownPayload) mismatch(size int64, sum driver.Checksum, sha []byte) bool {
	switch {
	case k == nil:
		return false
	case k.expected:
		return (k.size > 0 && k.size != size) || (k.sha256 != nil && !bytes.Equal(k.sha256, sha))
	}
	return k.size != size || (k.sum.Algorithm == sum.Algorithm && !bytes.Equal(k.sum.Sum, sum.Sum))
}

// payloadSource returns the reader of a payload to write, its options, and
// its size and checksum if known in advance.
func (s *Store) payloadSource(ctx context.Context, op string, d *document, b *Blob) (io.Reader, BlobOptions, *knownPayload, error) {
	switch {
	case b.ref != nil:
		// A stored blob of another document or store: copy its payload.
		r, err := b.Open(ctx)
		if err != nil {
			return nil, BlobOptions{}, nil, err
		}
		opts := BlobOptions{Name: b.ref.Name, ContentType: b.ref.ContentType, Metadata: b.ref.Metadata}
		return r, opts, &knownPayload{size: b.ref.Size, sum: b.ref.Checksum}, nil
	case b.isBytes:
		return bytes.NewReader(b.data), b.opts, nil, nil
	case b.src == nil:
		return nil, BlobOptions{}, nil, newError(InvalidArgument, op, d.key, errStale)
	}
	b.read = true
	return checkedReader(b.src), b.opts, nil, nil
}

// errReaderContract is the error of a caller's reader that broke the
// io.Reader contract.
var errReaderContract = errors.New("the payload's reader broke the io.Reader contract")

// contractReader guards the caller's payload reader: a Read that returns
// a count outside [0, len(p)] becomes an error naming the broken contract,
// instead of a panic in whatever slices the buffer with it. It remembers
// the reader's first failure (see sourceErr).
type contractReader struct {
	r      io.Reader
	failed atomic.Pointer[error]
}

func (c *contractReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, c.fail(fmt.Errorf("%w: Read returned %d for a buffer of %d bytes", errReaderContract, n, len(p)))
	}
	return n, c.fail(err)
}

// fail records err as the reader's failure if it is the first (io.EOF
// is none), and returns it.
func (c *contractReader) fail(err error) error {
	if err != nil && err != io.EOF {
		c.failed.CompareAndSwap(nil, &err)
	}
	return err
}

// sourceErr returns the reader's first failure, if any: a driver that
// fails because its source did reports it in its own words, or not at
// all (a request body that could not be read).
func (c *contractReader) sourceErr() error {
	if p := c.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// contractReadSeeker is a contractReader over an io.ReadSeeker.
type contractReadSeeker struct {
	contractReader
	s io.Seeker
}

func (c *contractReadSeeker) Seek(offset int64, whence int) (int64, error) {
	return c.s.Seek(offset, whence)
}

// contractReadSeekerAt is a contractReadSeeker over an io.ReaderAt too,
// whose ReadAt it guards likewise.
type contractReadSeekerAt struct {
	contractReadSeeker
	ra io.ReaderAt
}

func (c *contractReadSeekerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
	if n < 0 || n > len(p) {
		return 0, c.fail(fmt.Errorf("%w: ReadAt returned %d for a buffer of %d bytes", errReaderContract, n, len(p)))
	}
	return n, c.fail(err)
}

// checkedReader wraps r in a contractReader, keeping it seekable, and
// readable at offsets, if it is. The standard library's in-memory
// readers keep the contract and never fail, and are handed on as they
// are: a wrapper would hide their io.WriterTo, and a driver that copies
// from them (the AWS SDK, computing a checksum) would then allocate a
// copy buffer on every write.
func checkedReader(r io.Reader) io.Reader {
	switch r.(type) {
	case *bytes.Reader, *strings.Reader:
		return r
	}
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return &contractReader{r: r}
	}
	if ra, ok := r.(io.ReaderAt); ok {
		c := &contractReadSeekerAt{ra: ra}
		c.r, c.s = rs, rs
		return c
	}
	c := &contractReadSeeker{s: rs}
	c.r = rs
	return c
}

// sourceErr returns the first failure of the caller's payload reader r
// (wrapped by checkedReader), if any.
func sourceErr(r io.Reader) error {
	if c, ok := r.(interface{ sourceErr() error }); ok {
		return c.sourceErr()
	}
	return nil
}

// sourceError wraps an error from the caller's payload reader.
func (s *Store) sourceError(op string, d *document, err error) error {
	if c := contextErr(err); c != nil {
		return c
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code := Unknown
	if errors.Is(err, errReaderContract) || errors.Is(err, errTooLong) {
		code = InvalidArgument
	}
	return newError(code, op, d.key, fmt.Errorf("reading the payload: %w", err))
}

// rewind prepares a new blob for a retry after a failed Put, if its reader
// can seek back to where it started.
func (b *Blob) rewind() {
	if !b.read || b.src == nil {
		return
	}
	b.read = false
	if sk, ok := b.src.(io.Seeker); ok && b.srcStart >= 0 {
		if _, err := sk.Seek(b.srcStart, io.SeekStart); err == nil {
			return
		}
	}
	b.src = nil
}

// setStored makes b a stored blob after a successful write.
func (b *Blob) setStored(s *Store, ref *attach.Ref, docKey Key, field, docRev string) {
	b.ref, b.store, b.docKey, b.field, b.docRev = ref, s, docKey, field, docRev
	b.src, b.data, b.isBytes, b.read, b.pending = nil, nil, false, false, nil
}

// sniffContentType guesses a payload's media type from its first bytes,
// falling back to its file name's extension (typeByExtension's fixed
// table, the same on every machine) when the bytes say nothing.
func sniffContentType(head []byte, name string) string {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	ct := http.DetectContentType(head)
	if ct == "application/octet-stream" && name != "" {
		if t := typeByExtension(path.Ext(name)); t != "" {
			return t
		}
	}
	return ct
}

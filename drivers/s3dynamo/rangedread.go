package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// rangedReader reads a large payload (or range of one) in parts of
// Options.ReadPartSize bytes, Options.ReadConcurrency of them fetched at
// once with ranged GetObjects, and returns the bytes in order.
//
// Part 0 is read straight from the body of the first GetObject, which
// OpenBlob sent for the whole read and which told it the length; that
// body is closed once the part is read. Parts 1 and on are each fetched
// into a buffer from the driver's read pool while the reader returns the
// earlier ones; a part starts only when one of ReadConcurrency slots is
// free, and a slot is freed when the reader has returned its part, so a
// read holds at most ReadPartSize*ReadConcurrency bytes. Each ranged
// GetObject carries If-Match with the first response's ETag, so that
// every part comes from the same object (a payload replaced mid-read
// fails the read with S3's PreconditionFailed).
//
// The reader verifies no checksum itself (ranges carry none): OpenBlob
// returns it unverified, and the portable layer hashes the bytes as they
// are returned.
type rangedReader struct {
	d      *Driver
	ctx    context.Context
	cancel context.CancelFunc
	key    *string
	etag   *string
	start  int64 // offset of part 0 in the payload
	end    int64 // offset just past the last byte to read
	size   int64 // part size

	first     io.ReadCloser // part 0's body, nil once closed
	firstLeft int64         // bytes of part 0 still to read from first

	slots   chan struct{}     // one token per part buffer in use
	results []chan rangedPart // results[k] receives part k, k >= 1
	wg      sync.WaitGroup    // the dispatcher and the fetches

	next int        // the part being returned
	cur  rangedPart // part next, once received
	pos  int        // bytes of cur already returned
	err  error      // sticky: the first error, or io.EOF
}

// rangedPart is one fetched part: its buffer, the n bytes in it, or the
// error that fetching it met.
type rangedPart struct {
	buf *[]byte
	n   int
	err error
}

// newRangedReader returns a reader of the n bytes from offset start of
// the payload under the escaped key, given the first response (out),
// which started at start and whose body is read for part 0.
func (d *Driver) newRangedReader(ctx context.Context, key *string, out *s3.GetObjectOutput, start, n int64) *rangedReader {
	ctx, cancel := context.WithCancel(ctx)
	size := d.opts.ReadPartSize
	parts := int((n + size - 1) / size)
	r := &rangedReader{d: d, ctx: ctx, cancel: cancel, key: key, etag: out.ETag,
		start: start, end: start + n, size: size,
		first: out.Body, firstLeft: size,
		slots: make(chan struct{}, d.opts.ReadConcurrency), results: make([]chan rangedPart, parts)}
	for k := 1; k < parts; k++ {
		r.results[k] = make(chan rangedPart, 1)
	}
	r.wg.Add(1)
	go r.dispatch()
	return r
}

// dispatch starts the fetch of each part after part 0, in order, as
// slots free up, until all are started or the read is closed.
func (r *rangedReader) dispatch() {
	defer r.wg.Done()
	for k := 1; k < len(r.results); k++ {
		select {
		case r.slots <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		r.wg.Add(1)
		go r.fetch(k)
	}
}

// fetch reads part k into a pooled buffer and hands it to the reader.
func (r *rangedReader) fetch(k int) {
	defer r.wg.Done()
	off := r.start + int64(k)*r.size
	n := min(r.size, r.end-off)
	buf := r.d.readParts.get(r.size)
	r.results[k] <- rangedPart{buf: buf, n: int(n), err: r.get(off, (*buf)[:n])}
}

// get fills p with the bytes from offset off with one ranged GetObject.
func (r *rangedReader) get(off int64, p []byte) error {
	in := &s3.GetObjectInput{Bucket: r.d.bucketName, Key: r.key, IfMatch: r.etag,
		Range: aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+int64(len(p))-1, 10))}
	out, err := r.d.s3().GetObject(r.ctx, in, skipResponseChecksum)
	if err != nil {
		return err
	}
	defer out.Body.Close()
	if got := aws.ToInt64(out.ContentLength); got != int64(len(p)) {
		return fmt.Errorf("s3dynamo: GetObject of %s gave %d bytes, not the %d asked for", *in.Range, got, len(p))
	}
	if _, err := io.ReadFull(out.Body, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// Read returns the payload's bytes in order.
func (r *rangedReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(p) > 0 {
		if r.next == 0 {
			if r.firstLeft > 0 {
				n, err := r.first.Read(p[:min(int64(len(p)), r.firstLeft)])
				r.firstLeft -= int64(n)
				switch {
				case err == io.EOF && r.firstLeft > 0:
					r.err = io.ErrUnexpectedEOF
				case err != nil && err != io.EOF:
					r.err = err
				}
				if n > 0 || r.err != nil {
					return n, r.err
				}
				continue
			}
			r.first.Close()
			r.first = nil
			r.next = 1
		}
		if r.cur.buf != nil {
			if r.pos < r.cur.n {
				n := copy(p, (*r.cur.buf)[r.pos:r.cur.n])
				r.pos += n
				return n, nil
			}
			r.release(r.cur)
			r.cur, r.pos = rangedPart{}, 0
			r.next++
		}
		if r.next >= len(r.results) {
			r.err = io.EOF
			return 0, io.EOF
		}
		select {
		case part := <-r.results[r.next]:
			if part.err != nil {
				r.release(part)
				r.err = part.err
				return 0, r.err
			}
			r.cur = part
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
			return 0, r.err
		}
	}
	return 0, nil
}

// release returns a part's buffer to the pool and frees its slot.
func (r *rangedReader) release(part rangedPart) {
	r.d.readParts.put(part.buf)
	<-r.slots
}

// Close stops the fetches under way, waits for them, and returns the
// buffers of the parts fetched but not returned.
func (r *rangedReader) Close() error {
	if r.err == errClosed {
		return nil
	}
	r.cancel()
	if r.first != nil {
		r.first.Close()
		r.first = nil
	}
	r.wg.Wait()
	if r.cur.buf != nil {
		r.d.readParts.put(r.cur.buf)
		r.cur = rangedPart{}
	}
	for k := max(r.next, 1); k < len(r.results); k++ {
		select {
		case part := <-r.results[k]:
			r.d.readParts.put(part.buf)
		default:
		}
	}
	r.err = errClosed
	return nil
}

// errClosed is what a rangedReader's Read returns after Close.
var errClosed = errors.New("s3dynamo: read after Close")

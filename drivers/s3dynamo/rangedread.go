package s3dynamo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/driver"
)

// rangedReader reads a large payload (or range of one), first as one
// stream and then, if that stream is slow, in parts of
// Options.ReadPartSize bytes, Options.ReadConcurrency of them fetched at
// once with ranged GetObjects, returning the bytes in order.
//
// It reads the first probeBytes (16 MiB, in whole parts) straight from
// the body of the first GetObject, which OpenBlob sent for the whole read
// and which told it the length, and times them from that request. If
// they came at fastStream (512 MiB/s) or more, the stream is the fastest
// way to read the rest (on loopback, where the machine's CPUs are the
// limit, ranged GETs read a 1 GiB payload slower than one stream), and
// the reader keeps reading it. Otherwise the connection is the limit
// (one connection to S3 carries about 90 MB/s, and S3 takes tens of
// milliseconds to send a first byte), and the reader closes the body and
// fetches the other parts, each into a buffer from the driver's read
// pool, while returning the earlier ones: a part starts only when one of
// ReadConcurrency slots is free, and a slot is freed when its part has
// been returned, so a read holds at most ReadConcurrency buffers (of
// PartSize bytes when it shares the upload buffers, see newPartPools,
// filled to ReadPartSize). Each ranged GetObject carries If-Match with the first response's
// ETag, so that every part comes from the same object (a payload replaced
// mid-read fails the read with S3's PreconditionFailed).
//
// A reader given a checksum to verify (want: S3's full-object checksum,
// equal to the recorded one, whose validation the SDK does at the end of
// the first body) hashes what it reads from the first body until it
// decides; if it goes on in parts, whose ranges carry no checksum, it
// hashes what it returns and compares at the end, so that it is Verified
// either way.
//
// Close may be called while another goroutine is in Read, to abort the
// read (as with an HTTP response body): it cancels the fetches and closes
// the first body at once, which makes Read return, and then waits for Read
// to be out before it takes the parts' buffers back, so that no buffer
// goes back to the pool twice (two parts, or a later upload, would then
// share it).
type rangedReader struct {
	// mu is held by Read, and by Close once it has stopped the fetches
	// and the first body.
	mu sync.Mutex

	d     *Driver
	key   *string
	etag  *string
	start int64 // offset of the first byte to read in the payload
	end   int64 // offset just past the last
	size  int64 // part size

	firstBody io.ReadCloser // the first response's body, which Close closes
	first     io.ReadCloser // firstBody until switchToParts closes it, then nil
	firstLeft int64         // bytes of the probe still to read from first
	sent      time.Time     // when the first GetObject was sent
	streaming bool          // the probe was fast: first is read to its end

	want driver.Checksum // to verify, or zero
	h    hash.Hash       // want's hash of the bytes returned, while needed

	parent context.Context    // OpenBlob's
	ctx    context.Context    // parent's child, for the ranged GETs
	cancel context.CancelFunc // ctx's, called by Close

	// Made by switchToParts.
	slots   chan struct{}     // one token per part buffer in use
	results []chan rangedPart // results[k] receives part k
	wg      sync.WaitGroup    // the dispatcher and the fetches

	next int        // the part being returned, once in parts
	cur  rangedPart // part next, once received
	pos  int        // bytes of cur already returned
	err  error      // sticky: the first error, or io.EOF
	// closed: Close has taken the buffers back (a Read that Close made
	// return may have set err to errClosed before).
	closed bool
}

// fastStream is the default of Driver.fastStream: the speed, in bytes a
// second, from which a read keeps its first stream rather than going on
// in parts: several times what one connection to S3 carries, well below
// what one stream carries on loopback (1.5 to 1.9 GB/s against MinIO on a
// 2-core machine, make bench).
const fastStream = 512 << 20

// probe is the default of Driver.probe: how much of a read its first
// stream carries before the reader decides between it and parts.
const probe = 16 << 20

// probeBytes is Driver.probe rounded up to whole parts.
func (d *Driver) probeBytes() int64 {
	size := d.opts.ReadPartSize
	return (d.probe + size - 1) / size * size
}

// readsInParts reports whether a read of n bytes may go on in parts.
func (d *Driver) readsInParts(n int64) bool {
	return d.opts.ReadConcurrency > 1 && n > d.probeBytes()
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
// sent at sent, which started at start. want is the checksum to verify,
// or the zero Checksum.
func (d *Driver) newRangedReader(ctx context.Context, key *string, out *s3.GetObjectOutput, sent time.Time, start, n int64, want driver.Checksum) *rangedReader {
	r := &rangedReader{d: d, parent: ctx, key: key, etag: out.ETag,
		start: start, end: start + n, size: d.opts.ReadPartSize,
		firstBody: out.Body, first: out.Body, firstLeft: d.probeBytes(), sent: sent, want: want}
	r.ctx, r.cancel = context.WithCancel(ctx)
	if want.Valid() {
		r.h = want.Algorithm.New()
	}
	return r
}

// switchToParts closes the first body and starts fetching the parts
// after the probe.
func (r *rangedReader) switchToParts() {
	r.first.Close()
	r.first = nil
	r.slots = make(chan struct{}, r.d.opts.ReadConcurrency)
	parts := int((r.end - r.start + r.size - 1) / r.size)
	r.next = int(r.d.probeBytes() / r.size)
	r.results = make([]chan rangedPart, parts)
	for k := r.next; k < parts; k++ {
		r.results[k] = make(chan rangedPart, 1)
	}
	r.wg.Add(1)
	go r.dispatch(r.next)
}

// dispatch starts the fetch of each part from part k on, in order, as
// slots free up, until all are started or the read is closed.
func (r *rangedReader) dispatch(k int) {
	defer r.wg.Done()
	for ; k < len(r.results); k++ {
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
	buf := r.d.readParts.get(r.d.readParts.size) // at least r.size
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
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.read(p)
}

func (r *rangedReader) read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.streaming {
		n, err := r.first.Read(p)
		r.err = err
		return n, err
	}
	for len(p) > 0 {
		if r.first != nil {
			if r.firstLeft > 0 {
				return r.readProbe(p)
			}
			if float64(r.d.probeBytes()) >= r.d.fastStream*time.Since(r.sent).Seconds() {
				// Fast enough: the SDK validates the rest.
				r.streaming, r.h = true, nil
				return r.read(p)
			}
			r.switchToParts()
		}
		if r.cur.buf != nil {
			if r.pos < r.cur.n {
				n := copy(p, (*r.cur.buf)[r.pos:r.cur.n])
				if r.h != nil {
					r.h.Write(p[:n])
				}
				r.pos += n
				return n, nil
			}
			r.release(r.cur)
			r.cur, r.pos = rangedPart{}, 0
			r.next++
		}
		if r.next >= len(r.results) {
			r.err = io.EOF
			if r.h != nil && !bytes.Equal(r.h.Sum(nil), r.want.Sum) {
				r.err = newCoded(driver.Corrupt, fmt.Sprintf("the payload read in parts does not match its %s %x", r.want.Algorithm, r.want.Sum), nil)
			}
			return 0, r.err
		}
		select {
		case part := <-r.results[r.next]:
			if part.err != nil {
				r.release(part)
				r.err = part.err
				r.cancel() // the read is over: stop the other fetches
				return 0, r.err
			}
			r.cur = part
		case <-r.ctx.Done():
			r.err = r.parent.Err()
			if r.err == nil {
				r.err = errClosed // Close, from another goroutine
			}
			return 0, r.err
		}
	}
	return 0, nil
}

// readProbe reads from the first body, within the probe.
func (r *rangedReader) readProbe(p []byte) (int, error) {
	n, err := r.first.Read(p[:min(int64(len(p)), r.firstLeft)])
	r.firstLeft -= int64(n)
	if r.h != nil {
		r.h.Write(p[:n])
	}
	switch {
	case err == io.EOF && r.firstLeft > 0:
		r.err = io.ErrUnexpectedEOF
	case err != nil && err != io.EOF:
		r.err = err
	}
	return n, r.err
}

// release returns a part's buffer to the pool and frees its slot.
func (r *rangedReader) release(part rangedPart) {
	r.d.readParts.put(part.buf)
	<-r.slots
}

// Close stops the fetches under way and closes the first body (which
// makes a Read in progress return), then, once no Read is in progress,
// waits for the fetches and returns the buffers of the parts fetched but
// not returned.
func (r *rangedReader) Close() error {
	r.cancel()
	r.firstBody.Close() // closing an HTTP response body again does nothing
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.first = nil
	if r.results != nil {
		r.wg.Wait()
		if r.cur.buf != nil {
			r.d.readParts.put(r.cur.buf)
			r.cur = rangedPart{}
		}
		for k := r.next; k < len(r.results); k++ {
			select {
			case part := <-r.results[k]:
				r.d.readParts.put(part.buf)
			default:
			}
		}
	}
	r.err = errClosed
	return nil
}

// errClosed is what a rangedReader's Read returns after Close.
var errClosed = errors.New("s3dynamo: read after Close")

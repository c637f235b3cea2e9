package docblob

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docblob/docblob/driver"
)

// verifyingReader checks a payload read from a driver: its length always,
// its recorded checksum when the read covers the whole payload and the
// driver does not verify it itself (driver.BlobReader.Verified), hashing
// in the same pass as the read.
//
// Close may be called while another goroutine is in Read, to abort the
// read: it closes the driver's reader first (drivers allow that, see
// driver.BlobReader), which makes the Read return, and does its own
// bookkeeping once the Read is out. The progress callback runs outside
// the lock (it may call Close), and only ever on one goroutine at a
// time: a Close during a Read leaves the last report to that Read.
type verifyingReader struct {
	// mu is held by Read around the driver's read, and by Close after
	// closing rc; never while the progress callback runs.
	mu      sync.Mutex
	reading bool // a Read has the lock or is reporting its progress
	closed  bool // Close has been called
	// closing is set by Close before it closes rc: a Read that rc then
	// fails was interrupted by the Close, and says so.
	closing atomic.Bool
	rc      io.ReadCloser
	b       *Blob
	want    int64     // bytes expected
	h       hash.Hash // nil for partial reads
	n       int64
	err     error     // sticky
	prog    *progress // nil without a progress callback (Blob.WithProgress)
	// local: the bytes come from memory (an inline payload, an empty
	// range), not from the store's driver.
	local bool
	sp    *opSpan // the Open span, ended by the first Close; nil after
}

// verifier returns a reader of rc that checks its length and, if hash is
// set, the payload's recorded checksum.
func (b *Blob) verifier(rc io.ReadCloser, length int64, hash bool) *verifyingReader {
	v := &verifyingReader{rc: rc, b: b, want: length, prog: newProgress(b.progress, length),
		local: b.store == nil || b.ref.IsInline}
	if hash {
		v.h = b.ref.Checksum.Algorithm.New()
	}
	return v
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	v.mu.Lock()
	if v.err != nil {
		err := v.err
		v.mu.Unlock()
		return 0, err
	}
	v.reading = true
	n, err := v.read(p)
	if err != nil && err != io.EOF && v.closing.Load() {
		err = v.closedErr()
		v.err = err
	}
	v.mu.Unlock()
	// Reported after the store's bookkeeping (enter/exit) is done, and
	// outside the lock.
	v.prog.add(int64(n))
	if err != nil {
		v.prog.end()
	}
	v.mu.Lock()
	v.reading = false
	closed := v.closed
	v.mu.Unlock()
	if closed {
		v.prog.end() // a Close during this Read left it the last report
	}
	return n, err
}

// copyBufferSize is the size of the buffers WriteTo reads into: 64 KiB
// rather than io.Copy's 32 KiB, so that a payload read from a file takes
// half the reads (a 256 MiB payload from filestore: 6,370 MB/s against
// 5,790 with 32 KiB), but not larger: reading a 1 GiB payload from
// loopback MinIO through 256 KiB buffers (as docblob did before) took
// about 6% longer than through 32 KiB ones, with the same CPU time, in
// seven interleaved runs of 8 to 30 rounds (the median of the runs'
// speed ratios was 0.94; the plain SDK's GetObject read through 256 KiB
// buffers was slower too): see bench/results.md, "The size of WriteTo's
// buffer". The likely cause is that the SDK checksums each chunk right
// after the socket's copy, and a smaller chunk is still in cache.
const copyBufferSize = 64 << 10

// copyBuffers holds WriteTo's buffers (*[]byte of copyBufferSize).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// WriteTo implements io.WriterTo, which io.Copy prefers: it writes what
// Read returns to w until io.EOF, through a pooled buffer, and returns the
// number of bytes written and the first error of either side (nil at
// io.EOF). The bytes are verified as Read verifies them: on a mismatch,
// those written so far are not the stored payload, and WriteTo returns
// the error (code Corrupt).
func (v *verifyingReader) WriteTo(w io.Writer) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	if v.want < int64(len(buf)) {
		buf = buf[:v.want+1] // room to see a payload longer than recorded
	}
	var total int64
	for {
		n, err := v.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			switch {
			case werr != nil:
				return total, werr
			case m != n:
				return total, io.ErrShortWrite
			}
		}
		switch {
		case err == io.EOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

func (v *verifyingReader) read(p []byte) (int, error) {
	var n int
	var err error
	if v.local {
		n, err = v.rc.Read(p)
	} else {
		exit, cerr := v.b.store.enter("read")
		if cerr != nil {
			v.err = cerr
			return 0, cerr
		}
		n, err = v.rc.Read(p)
		exit()
	}
	v.n += int64(n)
	if v.h != nil {
		v.h.Write(p[:n])
	}
	switch {
	case v.n > v.want:
		v.err = v.corrupt(fmt.Sprintf("more than the %d bytes recorded", v.want))
		return n, v.err
	case err == io.EOF:
		if v.n != v.want {
			v.err = v.corrupt(fmt.Sprintf("%d bytes, %d recorded", v.n, v.want))
			return n, v.err
		}
		if v.h != nil {
			if sum := v.h.Sum(nil); !bytes.Equal(sum, v.b.ref.Checksum.Sum) {
				v.err = v.corrupt(fmt.Sprintf("%s %s, %s recorded", v.b.ref.Checksum.Algorithm, hex.EncodeToString(sum), hex.EncodeToString(v.b.ref.Checksum.Sum)))
				return n, v.err
			}
		}
		v.err = io.EOF
	case err != nil:
		v.err = v.b.store.wrap("read", v.b.docKey, err)
	}
	return n, v.err
}

// closedErr is the error of a read that Close ended.
func (v *verifyingReader) closedErr() error {
	return errorf(FailedPrecondition, "read", v.b.docKey, "payload %q: read after Close", v.b.ref.Key)
}

func (v *verifyingReader) corrupt(what string) error {
	return errorf(Corrupt, "read", v.b.docKey, "payload %q: read %s", v.b.ref.Key, what)
}

func (v *verifyingReader) Close() error {
	v.closing.Store(true)
	err := v.rc.Close()
	v.mu.Lock()
	v.closed = true
	reading := v.reading
	if sp := v.sp; sp != nil {
		v.sp = nil
		sp.read(v.n)
		if v.err != io.EOF {
			sp.end(v.err)
		} else {
			sp.end(nil)
		}
	}
	if v.err == nil {
		v.err = v.closedErr()
	}
	v.mu.Unlock()
	if !reading {
		v.prog.end()
	}
	return err
}

// hashingReader counts what a driver reads from a new payload and, if h
// or sha is set, hashes it in the same pass.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash // nil: not hashed
	sha  hash.Hash // SHA-256 for BlobOptions.SHA256; nil if not given
	n    int64
	eof  bool
	err  error     // the source's error, other than io.EOF
	prog *progress // nil without BlobOptions.Progress
}

// newHashingReader returns a hashingReader of r computing checksums of
// algorithm alg ("" for none) and, if sha, SHA-256.
func newHashingReader(r io.Reader, alg driver.ChecksumAlgorithm, sha bool) *hashingReader {
	hr := &hashingReader{r: r, h: alg.New()}
	if sha {
		if alg == driver.SHA256 {
			hr.sha = hr.h
		} else {
			hr.sha = sha256.New()
		}
	}
	return hr
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.n += int64(n)
	if hr.h != nil {
		hr.h.Write(p[:n])
	}
	if hr.sha != nil && hr.sha != hr.h {
		hr.sha.Write(p[:n])
	}
	hr.prog.add(int64(n))
	switch {
	case err == io.EOF:
		hr.eof = true
	case err != nil:
		hr.err = err
	}
	return n, err
}

// ProgressInterval is the least time between two calls of a progress
// callback (BlobOptions.Progress, Blob.WithProgress), other than the last
// one, which always comes.
const ProgressInterval = 100 * time.Millisecond

// progress reports the progress of one transfer to a caller's callback at
// a bounded rate. It is driven by whoever reads the transfer, one
// goroutine at a time as io.Reader requires, and calls the callback on
// that goroutine, holding no lock. A nil *progress reports nothing.
type progress struct {
	f     func(done, total int64)
	total int64 // -1: unknown
	done  int64
	last  time.Time // of the last call, or of the start
	ended bool
}

// newProgress returns a reporter to f of a transfer of total bytes (-1 if
// unknown), or nil if f is nil.
func newProgress(f func(done, total int64), total int64) *progress {
	if f == nil {
		return nil
	}
	return &progress{f: f, total: total, last: time.Now()}
}

// add counts n more bytes transferred.
func (p *progress) add(n int64) {
	if p == nil || n <= 0 {
		return
	}
	p.advance(p.done + n)
}

// advance sets the bytes transferred so far to done, if that is more
// than before (a source seeked back for a retry does not count twice),
// and calls the callback if it has not been called for ProgressInterval.
func (p *progress) advance(done int64) {
	if p == nil || p.ended || done <= p.done {
		return
	}
	p.done = done
	if now := time.Now(); now.Sub(p.last) >= ProgressInterval {
		p.last = now
		p.f(p.done, p.total)
	}
}

// record sets the bytes transferred so far to done, if that is more than
// before, without calling the callback.
func (p *progress) record(done int64) {
	if p != nil && !p.ended && done > p.done {
		p.done = done
	}
}

// setTotal records the transfer's size, once known.
func (p *progress) setTotal(total int64) {
	if p != nil {
		p.total = total
	}
}

// end makes the last call, once.
func (p *progress) end() {
	if p == nil || p.ended {
		return
	}
	p.ended = true
	p.f(p.done, p.total)
}

// complete makes the last call of a transfer that succeeded with size
// bytes.
func (p *progress) complete(size int64) {
	if p == nil || p.ended {
		return
	}
	p.done, p.total = size, size
	p.end()
}

// progressReadSeeker counts what a driver reads from a seekable payload
// of known size: the bytes of the payload it has read at least once,
// wherever they lie, so that a byte read twice (after a rewind for a
// retry, or by a checksum pass before the pass that sends it) counts
// once and done never decreases. newProgressBody makes one that is also
// an io.ReaderAt when its source is, which a driver may read from several
// goroutines at once: its counts are kept under a mutex, and the callback
// is called by one reading goroutine at a time, the others leaving the
// report to the next read or to the end. After stop, reads report
// nothing (a request body can still be read after WriteBlob returns),
// and the progress belongs to the caller again.
type progressReadSeeker struct {
	rs          io.ReadSeeker
	prog        *progress
	start, size int64

	mu   sync.Mutex
	pos  int64
	read spans // offsets from start

	calling sync.Mutex // held while prog is used
	stopped bool       // under calling
}

// progressReadSeekerAt is a progressReadSeeker over an io.ReaderAt.
type progressReadSeekerAt struct {
	*progressReadSeeker
	ra io.ReaderAt
}

// newProgressBody returns the source rs of a payload of size bytes from
// offset start, counting into prog, as an io.ReadSeeker, and an
// io.ReaderAt if rs is one.
func newProgressBody(rs io.ReadSeeker, prog *progress, start, size int64) interface {
	io.ReadSeeker
	stop()
} {
	r := &progressReadSeeker{rs: rs, prog: prog, start: start, size: size, pos: start}
	if ra, ok := rs.(io.ReaderAt); ok {
		return &progressReadSeekerAt{r, ra}
	}
	return r
}

func (r *progressReadSeeker) Read(p []byte) (int, error) {
	n, err := r.rs.Read(p)
	r.mu.Lock()
	r.addLocked(r.pos, n)
	r.pos += int64(n)
	r.mu.Unlock()
	r.report()
	return n, err
}

func (r *progressReadSeekerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.ra.ReadAt(p, off)
	r.mu.Lock()
	r.addLocked(off, n)
	r.mu.Unlock()
	r.report()
	return n, err
}

func (r *progressReadSeeker) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.rs.Seek(offset, whence)
	if err == nil {
		r.mu.Lock()
		r.pos = pos
		r.mu.Unlock()
	}
	return pos, err
}

// addLocked counts n bytes read at position pos of the source, those of
// the payload only.
func (r *progressReadSeeker) addLocked(pos int64, n int) {
	if n > 0 {
		r.read.add(max(pos-r.start, 0), min(pos-r.start+int64(n), r.size))
	}
}

// report passes the count on to prog, unless another goroutine is doing
// so or stop was called.
func (r *progressReadSeeker) report() {
	if !r.calling.TryLock() {
		return
	}
	defer r.calling.Unlock()
	if !r.stopped {
		r.mu.Lock()
		done := r.read.bytes
		r.mu.Unlock()
		r.prog.advance(done)
	}
}

// stop waits for a report under way, records the last count without
// calling the callback, and makes later reads report nothing.
func (r *progressReadSeeker) stop() {
	r.calling.Lock()
	defer r.calling.Unlock()
	if !r.stopped {
		r.stopped = true
		r.mu.Lock()
		r.prog.record(r.read.bytes)
		r.mu.Unlock()
	}
}

// spans is a set of byte ranges, kept sorted and merged, and how many
// bytes they cover.
type spans struct {
	r     [][2]int64 // [from, to)
	bytes int64
}

// add adds the range [from, to).
func (s *spans) add(from, to int64) {
	if from >= to {
		return
	}
	i, _ := slices.BinarySearchFunc(s.r, from, func(x [2]int64, from int64) int { return cmp.Compare(x[1], from) })
	j := i
	for ; j < len(s.r) && s.r[j][0] <= to; j++ {
		from, to = min(from, s.r[j][0]), max(to, s.r[j][1])
		s.bytes -= s.r[j][1] - s.r[j][0]
	}
	s.r = slices.Replace(s.r, i, j, [2]int64{from, to})
	s.bytes += to - from
}

package docblob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/docblob/docblob/driver"
)

// verifyingReader checks a payload read from a driver: its length always,
// its recorded checksum when the read covers the whole payload and the
// driver does not verify it itself (driver.BlobReader.Verified), hashing
// in the same pass as the read.
type verifyingReader struct {
	rc   io.ReadCloser
	b    *Blob
	want int64     // bytes expected
	h    hash.Hash // nil for partial reads
	n    int64
	err  error     // sticky
	prog *progress // nil without a progress callback (Blob.WithProgress)
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
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.read(p)
	// Reported after the store's bookkeeping (enter/exit) is done.
	v.prog.add(int64(n))
	if err != nil {
		v.prog.end()
	}
	return n, err
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

func (v *verifyingReader) corrupt(what string) error {
	return errorf(Corrupt, "read", v.b.docKey, "payload %q: read %s", v.b.ref.Key, what)
}

func (v *verifyingReader) Close() error {
	v.prog.end()
	err := v.rc.Close()
	if sp := v.sp; sp != nil {
		v.sp = nil
		sp.read(v.n)
		if v.err != io.EOF {
			sp.end(v.err)
		} else {
			sp.end(nil)
		}
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

// progressReadSeeker counts what a driver reads from a seekable payload,
// by position, so that a driver's rewind for a retry does not count the
// bytes twice.
type progressReadSeeker struct {
	rs         io.ReadSeeker
	prog       *progress
	start, pos int64
}

func (r *progressReadSeeker) Read(p []byte) (int, error) {
	n, err := r.rs.Read(p)
	r.pos += int64(n)
	r.prog.advance(r.pos - r.start)
	return n, err
}

func (r *progressReadSeeker) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.rs.Seek(offset, whence)
	if err == nil {
		r.pos = pos
	}
	return pos, err
}

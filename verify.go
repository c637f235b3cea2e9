package docblob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// verifyingReader checks a payload read from a driver: its length always,
// its SHA-256 when the read covers the whole payload.
type verifyingReader struct {
	rc   io.ReadCloser
	b    *Blob
	want int64     // bytes expected
	h    hash.Hash // nil for partial reads
	n    int64
	err  error // sticky
}

func (b *Blob) verifier(rc io.ReadCloser, length int64, whole bool) io.ReadCloser {
	v := &verifyingReader{rc: rc, b: b, want: length}
	if whole {
		v.h = sha256.New()
	}
	return v
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	var n int
	var err error
	if v.b.store == nil {
		n, err = v.rc.Read(p) // an inline payload
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
			if sum := v.h.Sum(nil); !bytes.Equal(sum, v.b.ref.SHA256) {
				v.err = v.corrupt(fmt.Sprintf("SHA-256 %s, %s recorded", hex.EncodeToString(sum), hex.EncodeToString(v.b.ref.SHA256)))
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

func (v *verifyingReader) Close() error { return v.rc.Close() }

// hashingReader computes the size and SHA-256 of what a driver reads from a
// new payload, in the same pass.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	eof bool
	err error // the source's error, other than io.EOF
}

func newHashingReader(r io.Reader) *hashingReader {
	return &hashingReader{r: r, h: sha256.New()}
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.n += int64(n)
	hr.h.Write(p[:n])
	switch {
	case err == io.EOF:
		hr.eof = true
	case err != nil:
		hr.err = err
	}
	return n, err
}

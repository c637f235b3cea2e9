package conformance

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// record is the document type most tests use.
type record struct {
	PK       string        `docstore:"pk"`
	SK       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	File     *docblob.Blob `docstore:"file"`
	Revision any           `docstore:"DocstoreRevision"`
}

// multi is a document with several attachments.
type multi struct {
	PK    string        `docstore:"pk"`
	SK    string        `docstore:"sk"`
	A     *docblob.Blob `docstore:"a"`
	B     *docblob.Blob `docstore:"b"`
	C     *docblob.Blob `docstore:"c"`
	Count int           `docstore:"count"`
}

// pattern returns a reader of size deterministic pseudo-random bytes: the
// byte at offset i depends only on seed and i, however the reader is read.
func pattern(seed uint64, size int64) io.Reader {
	return io.LimitReader(&patternReader{seed: seed}, size)
}

type patternReader struct {
	seed uint64
	off  uint64
}

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		word := p.off / 8
		v := splitmix(p.seed*0x9e3779b97f4a7c15 + word)
		b[i] = byte(v >> (8 * (p.off % 8)))
		p.off++
	}
	return len(b), nil
}

// splitmix is the SplitMix64 finalizer: a fast, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// patternBytes returns the bytes pattern(seed, size) reads.
func patternBytes(seed uint64, size int64) []byte {
	b, _ := io.ReadAll(pattern(seed, size))
	return b
}

// patternChecksum returns the hex checksum of algorithm alg of
// pattern(seed, size).
func patternChecksum(alg docblob.Checksum, seed uint64, size int64) string {
	h := driver.ChecksumAlgorithm(alg).New()
	if h == nil {
		return "unknown algorithm " + string(alg)
	}
	io.Copy(h, pattern(seed, size))
	return hex.EncodeToString(h.Sum(nil))
}

// checkRecordedChecksum checks the checksum recorded for b, a stored blob
// of pattern(seed, size): a known algorithm (want, unless "") and the
// right sum; and that SHA256 reports it exactly when it is a SHA-256.
func checkRecordedChecksum(t *testing.T, b *docblob.Blob, want docblob.Checksum, seed uint64, size int64) {
	t.Helper()
	alg, sum := b.Checksum()
	if want != "" && alg != want {
		t.Errorf("Checksum algorithm %q, want %q", alg, want)
	}
	if w := patternChecksum(alg, seed, size); sum != w {
		t.Errorf("Checksum %s %s, want %s", alg, sum, w)
	}
	if wantSHA := map[bool]string{true: sum}[alg == docblob.ChecksumSHA256]; b.SHA256() != wantSHA {
		t.Errorf("SHA256() = %q with a %s checksum, want %q", b.SHA256(), alg, wantSHA)
	}
}

// equalStreams reports whether got yields exactly the bytes of want,
// comparing chunk by chunk, and describes the first difference.
func equalStreams(got, want io.Reader) error {
	const chunk = 64 << 10
	bg, bw := make([]byte, chunk), make([]byte, chunk)
	var off int64
	for {
		ng, eg := io.ReadFull(got, bg)
		nw, ew := io.ReadFull(want, bw)
		if !bytes.Equal(bg[:ng], bw[:nw]) {
			return fmt.Errorf("bytes differ in the %d bytes from offset %d (read %d, want %d)", chunk, off, ng, nw)
		}
		off += int64(ng)
		endG := eg == io.EOF || errors.Is(eg, io.ErrUnexpectedEOF)
		endW := ew == io.EOF || errors.Is(ew, io.ErrUnexpectedEOF)
		if eg != nil && !endG {
			return fmt.Errorf("reading at offset %d: %w", off, eg)
		}
		if endG || endW {
			if endG != endW {
				return fmt.Errorf("lengths differ after %d bytes", off)
			}
			return nil
		}
	}
}

// wantCode fails the test unless err has the code.
func wantCode(t *testing.T, err error, code docblob.ErrorCode, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error with code %v", what, code)
	}
	if docblob.Code(err) != code || !errors.Is(err, code) {
		t.Fatalf("%s: error %q has code %v, want %v", what, err, docblob.Code(err), code)
	}
}

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// readAll reads a stored blob whole.
func readAll(e *env, b *docblob.Blob) []byte {
	e.t.Helper()
	if b == nil {
		e.t.Fatal("attachment is nil")
	}
	data, err := b.ReadAll(e.ctx)
	must(e.t, err, "ReadAll")
	return data
}

// sizes of the round-trip payloads.
var roundTripSizes = []struct {
	name string
	size int64
}{
	{"0B", 0}, {"1B", 1}, {"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"20MiB", 20 << 20},
}

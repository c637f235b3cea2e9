package s3dynamo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/docblob/docblob/driver"
)

// The part sizes grow so that S3's largest object fits in its 10,000
// parts, and no part is larger than S3 accepts.
func TestPartSizeSchedule(t *testing.T) {
	for _, base := range []int64{MinPartSize, DefaultPartSize, DefaultFilePartSize, 64 << 20, maxPartSize} {
		var total int64
		for num := int32(1); num <= maxParts; num++ {
			size := partSize(base, num)
			if size < base || size > maxPartSize {
				t.Fatalf("base %d: part %d has %d bytes", base, num, size)
			}
			total += size
		}
		if total < maxObjectSize {
			t.Errorf("base %d: 10,000 parts hold %d bytes, less than S3's %d", base, total, int64(maxObjectSize))
		}
		if got := partSize(base, basePartCount); got != base {
			t.Errorf("base %d: part %d has %d bytes, want the base", base, basePartCount, got)
		}
		pool := partPool{size: base}
		for num := int32(1); num <= maxParts; num++ {
			if pool.class(partSize(base, num)) < 0 {
				t.Fatalf("base %d: part %d of %d bytes has no pool", base, num, partSize(base, num))
			}
		}
	}
}

func TestReadPart(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	own := errors.New("source failed")
	for _, c := range []struct {
		name     string
		ctx      context.Context
		r        io.Reader
		size     int
		wantN    int
		wantMore bool
		wantErr  error
	}{
		{"fills", context.Background(), iotest.OneByteReader(bytes.NewReader(make([]byte, 10))), 4, 4, true, nil},
		{"exact", context.Background(), bytes.NewReader(make([]byte, 4)), 4, 4, true, nil},
		{"short", context.Background(), iotest.HalfReader(bytes.NewReader(make([]byte, 3))), 4, 3, false, nil},
		{"empty", context.Background(), bytes.NewReader(nil), 4, 0, false, nil},
		{"data with EOF", context.Background(), iotest.DataErrReader(bytes.NewReader(make([]byte, 3))), 4, 3, false, nil},
		{"source error", context.Background(), io.MultiReader(bytes.NewReader(make([]byte, 2)), iotest.ErrReader(own)), 4, 2, false, own},
		// A source's own io.ErrUnexpectedEOF is a failure, not an end.
		{"source unexpected EOF", context.Background(), iotest.ErrReader(io.ErrUnexpectedEOF), 4, 0, false, io.ErrUnexpectedEOF},
		{"canceled", canceled, bytes.NewReader(make([]byte, 10)), 4, 0, false, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, more, err := readPart(c.ctx, c.r, make([]byte, c.size))
			if n != c.wantN || more != c.wantMore || !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Errorf("readPart = %d, %v, %v; want %d, %v, %v", n, more, err, c.wantN, c.wantMore, c.wantErr)
			}
		})
	}
}

// countingLiar returns n from every Read, whatever the buffer's length.
type countingLiar struct{ n int }

func (l countingLiar) Read(p []byte) (int, error) { return l.n, nil }

// A reader that breaks io.Reader's contract (a count larger than the
// buffer, or negative) fails the part with InvalidArgument instead of
// crashing the upload when its count is used.
func TestReadPartReaderBreaksContract(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int
	}{{"MoreThanAsked", 10}, {"Negative", -1}} {
		t.Run(c.name, func(t *testing.T) {
			n, more, err := readPart(context.Background(), countingLiar{c.n}, make([]byte, 4))
			if n < 0 || n > 4 || more || errorCode(err) != driver.InvalidArgument {
				t.Errorf("readPart = %d, %v, %v (code %v); want at most 4 bytes, no more, InvalidArgument", n, more, err, errorCode(err))
			}
		})
	}
}

// Part buffers of the pool's size are reused; others are made to measure.
func TestPartPool(t *testing.T) {
	p := partPool{size: 8, keep: 3}
	b := p.get(8)
	if len(*b) != 8 {
		t.Fatalf("got %d bytes, want 8", len(*b))
	}
	p.put(b)
	// Base-size buffers are kept whatever the garbage collector does, up
	// to keep of them.
	runtime.GC()
	if again := p.get(8); again != b {
		t.Error("a returned base-size buffer was not reused after a garbage collection")
	}
	bufs := []*[]byte{b, p.get(8), p.get(8), p.get(8)}
	for _, x := range bufs {
		p.put(x)
	}
	if len(p.free) != 3 {
		t.Errorf("the pool keeps %d base-size buffers, want at most 3", len(p.free))
	}
	big := p.get(16) // the second size class, past 8,000 parts
	if len(*big) != 16 {
		t.Fatalf("got %d bytes, want 16", len(*big))
	}
	p.put(big)
	if odd := p.get(12); len(*odd) != 12 {
		t.Fatalf("got %d bytes, want 12", len(*odd))
	}
	if raceEnabled {
		return // the race detector's sync.Pool drops what is put at random
	}
	if again := p.get(16); again != big {
		t.Error("a returned buffer of the second size class was not reused")
	}
}

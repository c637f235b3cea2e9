package s3dynamo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/testservers"
	"github.com/docblob/docblob/internal/toxics"
)

// rangedFixture is a fixture whose reads go in parts of 1 MiB,
// concurrency at once, after a first part read as a stream, however fast
// (no stream is infinitely fast), holding one payload of n bytes under key "big",
// written with a CRC32C that S3 keeps as its full-object checksum.
func rangedFixture(t *testing.T, n int, concurrency int) (*fixture, []byte) {
	t.Helper()
	f := newFixture(t, func(o *Options) { o.ReadPartSize = MinReadPartSize; o.ReadConcurrency = concurrency })
	f.drv.fastStream = math.Inf(1)
	f.drv.probe = MinReadPartSize
	data := payload(n, uint64(n))
	if _, err := f.drv.WriteBlob(testContext(t), "big", bytes.NewReader(data), &driver.WriteOptions{ContentType: "application/octet-stream", Size: int64(n), Checksum: driver.CRC32C, Sum: crc32cOf(data)}); err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	f.wire.reset()
	return f, data
}

func crc32cOf(b []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// ifMatchGets counts the GETs with and without If-Match since the last
// reset (to S3, directly or through a proxy).
func ifMatchGets(f *fixture) (with, without int) {
	for _, r := range f.wire.requests() {
		if r.service == "dynamodb" || r.method != http.MethodGet {
			continue
		}
		if r.header.Get("If-Match") != "" {
			with++
		} else {
			without++
		}
	}
	return with, without
}

// A read longer than the probe whose first stream is slow goes on in
// parts: the probe from the response that found the length, the others
// with ranged GETs carrying If-Match; shorter reads, and any read with
// ReadConcurrency 1, are one GET. Whole reads are Verified either way.
func TestReadInParts(t *testing.T) {
	t.Parallel()
	const mib = MinReadPartSize
	for _, tc := range []struct {
		name        string
		size        int
		concurrency int
		off, length int64
		wantRanged  int // ranged GETs after the first
	}{
		{"Whole/OnePart", mib, 3, 0, -1, 0},
		{"Whole/OnePartAndOneByte", mib + 1, 3, 0, -1, 1},
		{"Whole/TwoParts", 2 * mib, 3, 0, -1, 1},
		{"Whole/TwoPartsAndOneByte", 2*mib + 1, 3, 0, -1, 2},
		{"Whole/SixPartsAndSome", 5*mib + 123, 3, 0, -1, 5},
		{"Whole/ExactParts", 4 * mib, 3, 0, -1, 3},
		{"Whole/ConcurrencyOne", 5*mib + 123, 1, 0, -1, 0},
		{"Whole/ConcurrencyTwo", 5*mib + 123, 2, 0, -1, 5},
		{"Range/ToEnd", 5*mib + 123, 3, mib/2 + 7, -1, 4},
		{"Range/Middle", 5*mib + 123, 3, 3, 3*mib + 5, 3},
		{"Range/OnePart", 5*mib + 123, 3, 3, mib, 0},
		{"Range/TwoParts", 5*mib + 123, 3, 3, 2 * mib, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, data := rangedFixture(t, tc.size, tc.concurrency)
			ctx := testContext(t)
			var opts *driver.OpenOptions
			if tc.off == 0 && tc.length < 0 {
				opts = &driver.OpenOptions{Checksum: driver.Checksum{Algorithm: driver.CRC32C, Sum: crc32cOf(data)}}
			}
			br, err := f.drv.OpenBlob(ctx, "big", tc.off, tc.length, opts)
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			got, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := br.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			want := data[tc.off:]
			if tc.length >= 0 {
				want = want[:tc.length]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes that differ from the %d stored", len(got), len(want))
			}
			if opts != nil && !br.Verified {
				t.Error("a whole read with S3's checksum held is not Verified")
			}
			with, without := ifMatchGets(f)
			if without != 1 || with != tc.wantRanged {
				t.Errorf("GETs: %d without If-Match and %d with, want 1 and %d", without, with, tc.wantRanged)
			}
			if n := len(f.drv.readParts.free); n > tc.concurrency {
				t.Errorf("%d read buffers kept, want at most %d", n, tc.concurrency)
			}
		})
	}
}

// A read in parts keeps its buffers across reads: a second read takes
// them from the pool.
func TestReadInPartsReusesBuffers(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 6*MinReadPartSize, 3)
	ctx := testContext(t)
	if got := readBlob(ctx, t, f.drv, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("first read differs")
	}
	kept := append([]*[]byte(nil), f.drv.readParts.free...)
	if len(kept) != 3 {
		t.Fatalf("%d buffers kept after a read, want 3", len(kept))
	}
	if got := readBlob(ctx, t, f.drv, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("second read differs")
	}
	for _, b := range f.drv.readParts.free {
		found := false
		for _, k := range kept {
			found = found || b == k
		}
		if !found {
			t.Error("the second read allocated a buffer instead of reusing one")
		}
	}
}

// Closing a read in parts early stops its fetches, waits for them and
// gives the buffers back; reads after Close fail.
func TestReadInPartsClosedEarly(t *testing.T) {
	t.Parallel()
	f, _ := rangedFixture(t, 8*MinReadPartSize, 3)
	ctx := testContext(t)
	br, err := f.drv.OpenBlob(ctx, "big", 0, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MinReadPartSize+10) // into part 1
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- br.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
	if n, err := br.Read(buf); n != 0 || err == nil {
		t.Errorf("Read after Close = %d, %v; want 0 and an error", n, err)
	}
	if n := len(f.drv.readParts.free); n != 3 {
		t.Errorf("%d buffers back in the pool after Close, want 3", n)
	}
	if with, _ := ifMatchGets(f); with >= 7 {
		t.Errorf("%d ranged GETs after closing in part 1, want fewer than the 7 of a whole read", with)
	}
}

// Close called while another goroutine is in Read (to abort the read, as
// with an HTTP body) makes Read return, and gives every buffer back to the
// pool once: a buffer put back twice would be handed to two parts, or to
// a later upload, at once. The Close comes at a different moment of the
// read each time: during the probe, between parts, while waiting for one.
func TestReadInPartsClosedDuringRead(t *testing.T) {
	t.Parallel()
	const concurrency = 3
	f, _ := rangedFixture(t, 12*MinReadPartSize, concurrency)
	ctx := testContext(t)
	for i := range 60 {
		br, err := f.drv.OpenBlob(ctx, "big", 0, -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		readErr := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, struct{ io.Reader }{br})
			readErr <- err
		}()
		time.Sleep(time.Duration(i%20) * 500 * time.Microsecond)
		if err := br.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		select {
		case <-readErr: // nil if the read ended first, an error otherwise
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Read did not return after Close", i)
		}
		if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("round %d: Read after Close = %d, %v; want 0 and an error", i, n, err)
		}
		p := f.drv.readParts
		p.mu.Lock()
		seen := map[*[]byte]bool{}
		for _, b := range p.free {
			if seen[b] {
				t.Errorf("round %d: a buffer is in the pool's free list twice", i)
			}
			seen[b] = true
		}
		free := len(p.free)
		p.mu.Unlock()
		if free > concurrency {
			t.Fatalf("round %d: %d free buffers, more than the %d a read may hold", i, free, concurrency)
		}
	}
}

// A payload replaced while it is read in parts fails the read with
// FailedPrecondition (If-Match) instead of mixing two objects' bytes.
func TestReadInPartsObjectReplaced(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 8*MinReadPartSize, 2)
	ctx := testContext(t)
	br, err := f.drv.OpenBlob(ctx, "big", 0, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	// Past part 0, whose open response would make MinIO hold the
	// PutObject below until it is read.
	buf := make([]byte, MinReadPartSize+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	if _, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.opts.Bucket), Key: aws.String("big"), Body: bytes.NewReader(other)}); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, br)
	if err == nil {
		t.Fatal("read the whole payload across its replacement without an error")
	}
	if code := f.drv.ErrorCode(err); code != driver.FailedPrecondition {
		t.Errorf("error %v has code %v, want FailedPrecondition", err, code)
	}
}

// A part that cannot be fetched fails the read; the bytes before it are
// the payload's, and the read never ends in io.EOF.
func TestReadInPartsFetchFails(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 6*MinReadPartSize, 3)
	ctx := testContext(t)
	br, err := f.drv.OpenBlob(ctx, "big", 0, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	f.wire.loseResponses(http.MethodGet, 1000)
	got, err := io.ReadAll(br)
	if err == nil {
		t.Fatalf("read %d bytes and io.EOF with every ranged GET failing", len(got))
	}
	if !bytes.Equal(got, data[:len(got)]) {
		t.Error("the bytes read before the failure differ from the payload's")
	}
}

// Canceling the context of a read in parts fails it with the context's
// error, and Close still returns.
func TestReadInPartsCanceled(t *testing.T) {
	t.Parallel()
	f, _ := rangedFixture(t, 8*MinReadPartSize, 3)
	ctx, cancel := context.WithCancel(testContext(t))
	br, err := f.drv.OpenBlob(ctx, "big", 0, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MinReadPartSize+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.Copy(io.Discard, br)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	if err := br.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// A read in parts compares S3's full-object checksum with the recorded
// one before its first byte, as a single GET does.
func TestReadInPartsChecksumDiffers(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 3*MinReadPartSize, 3)
	wrong := crc32cOf(append(bytes.Clone(data), 0))
	_, err := f.drv.OpenBlob(testContext(t), "big", 0, -1, &driver.OpenOptions{Checksum: driver.Checksum{Algorithm: driver.CRC32C, Sum: wrong}})
	if code := f.drv.ErrorCode(err); code != driver.Corrupt {
		t.Fatalf("OpenBlob with a checksum S3 does not hold: %v (code %v), want Corrupt", err, code)
	}
	if with, _ := ifMatchGets(f); with != 0 {
		t.Errorf("%d ranged GETs after the checksum differed, want 0", with)
	}
}

// Options and URL parameters of reads in parts are checked.
func TestReadPartOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"PartTooSmall", func(o *Options) { o.ReadPartSize = MinReadPartSize - 1 }},
		{"PartTooLarge", func(o *Options) { o.ReadPartSize = maxPartSize + 1 }},
		{"NegativeConcurrency", func(o *Options) { o.ReadConcurrency = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Table: "t", Bucket: "b"}
			tc.mod(&o)
			if _, err := withDefaults(&o); err == nil {
				t.Error("accepted")
			}
		})
	}
	o, err := withDefaults(&Options{Table: "t", Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ReadPartSize != DefaultReadPartSize || o.ReadConcurrency != DefaultReadConcurrency {
		t.Errorf("defaults %d × %d, want %d × %d", o.ReadPartSize, o.ReadConcurrency, DefaultReadPartSize, DefaultReadConcurrency)
	}
}

// A read whose first stream is fast keeps it: one GET, Verified by the
// SDK, no buffer taken.
func TestReadFastStreamKept(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 6*MinReadPartSize+5, 3)
	f.drv.fastStream = 0 // every stream is fast enough
	br, err := f.drv.OpenBlob(testContext(t), "big", 0, -1, &driver.OpenOptions{Checksum: driver.Checksum{Algorithm: driver.CRC32C, Sum: crc32cOf(data)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(br)
	br.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d stored", len(got), err, len(data))
	}
	if !br.Verified {
		t.Error("not Verified")
	}
	if with, without := ifMatchGets(f); with != 0 || without != 1 {
		t.Errorf("GETs: %d without If-Match and %d with, want 1 and 0", without, with)
	}
	if n := len(f.drv.readParts.free); n != 0 {
		t.Errorf("%d read buffers taken by a streamed read, want 0", n)
	}
}

// A read in parts that returns bytes other than the checksum it verifies
// ends in an error with code Corrupt, never io.EOF.
func TestReadInPartsVerifies(t *testing.T) {
	t.Parallel()
	f, data := rangedFixture(t, 5*MinReadPartSize, 3)
	ctx := testContext(t)
	out, err := f.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.opts.Bucket), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	r := f.drv.newRangedReader(ctx, aws.String("big"), out, time.Now(), 0, int64(len(data)), driver.Checksum{Algorithm: driver.CRC32C, Sum: crc32cOf(other)})
	defer r.Close()
	got, err := io.ReadAll(r)
	if code := f.drv.ErrorCode(err); code != driver.Corrupt {
		t.Fatalf("read of bytes that do not match: %v (code %v), want Corrupt", err, code)
	}
	if !bytes.Equal(got, data) {
		t.Error("the bytes returned before the error are not the stored ones")
	}
}

// Over a connection that carries 40 MB/s, as one S3 connection carries
// about 90 MB/s, a read with the default probe and speed threshold finds
// its first stream slow and goes on in parts.
func TestReadSlowStreamGoesInParts(t *testing.T) {
	t.Parallel()
	srv := testservers.Endpoints(t)
	tox := toxics.NewServer()
	proxy, err := tox.NewProxy("s3-slow", srv.S3Endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	if _, err := proxy.Add(toxics.Bandwidth(toxics.Downstream, 40_000)); err != nil {
		t.Fatal(err)
	}
	f, data := rangedFixture(t, probe+MinReadPartSize+7, 4)
	o := f.opts
	o.S3Endpoint = proxy.URL()
	slow, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if slow.fastStream != fastStream || slow.probe != probe {
		t.Fatalf("fastStream %v and probe %d, want the defaults", slow.fastStream, slow.probe)
	}
	if got := readBlob(testContext(t), t, slow, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	if with, without := ifMatchGets(f); with != 2 || without != 1 {
		t.Errorf("GETs: %d without If-Match and %d with, want 1 and 2", without, with)
	}
}

package s3dynamo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// inPlaceSize is a payload just over SinglePutMax: four parts of
// MinPartSize (5, 5, 5 and 1 MiB and a bit) uploaded in place.
const inPlaceSize = 3*MinPartSize + 1<<20 + 123

// failingAt is a source whose ReadAt fails from byte from on.
type failingAt struct {
	*bytes.Reader
	from int64
}

func (r *failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= r.from {
		return r.Reader.ReadAt(p, off)
	}
	n, _ := r.Reader.ReadAt(p[:max(r.from-off, 0)], off)
	return n, errBoom
}

// cancelingAt cancels a context once a ReadAt reaches byte at.
type cancelingAt struct {
	*bytes.Reader
	at     int64
	cancel func()
}

func (r *cancelingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.at {
		r.cancel()
	}
	return r.Reader.ReadAt(p, off)
}

// countUploadParts returns how many of reqs are UploadPart requests.
func countUploadParts(reqs []counted) int {
	n := 0
	for _, r := range reqs {
		if _, ok := r.query["partNumber"]; ok && r.method == http.MethodPut {
			n++
		}
	}
	return n
}

// heapAllocs returns the bytes allocated on the heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A payload of known size whose source is an io.ReaderAt and io.Seeker
// (a file) goes up in place: a multipart upload whose parts are read
// where they lie, with no part buffer; it fails, and leaves nothing, as
// a streamed upload does. Not parallel: it measures the heap
// allocations of uploads.
func TestWriteBlobInPlace(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	// Reads in parts would take buffers from the pool that this test
	// checks the uploads leave empty (see newPartPools): read every
	// payload back as one stream, however slow the machine.
	f.drv.fastStream = 0
	data := payload(inPlaceSize, 14)
	const offset = 1000 // the payload starts here in its source
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, append(make([]byte, offset), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	openFile := func(t *testing.T) io.Reader {
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		if _, err := file.Seek(offset, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		return file
	}
	for _, c := range []struct {
		name string
		src  func(t *testing.T, cancel func()) io.Reader
		opts driver.WriteOptions
		// wantErr checks the error of a failed upload; nil: it succeeds.
		wantErr func(t *testing.T, err error)
		// A failed upload created and aborted a multipart upload.
		wantAbort bool
	}{
		{
			name: "file",
			src:  func(t *testing.T, _ func()) io.Reader { return openFile(t) },
			opts: driver.WriteOptions{Checksum: driver.CRC32C},
		},
		{
			name: "bytes.Reader, CRC64NVME",
			src:  func(*testing.T, func()) io.Reader { return bytes.NewReader(data) },
			opts: driver.WriteOptions{Checksum: driver.CRC64NVME},
		},
		{
			name: "file, SHA-256 announced",
			src:  func(t *testing.T, _ func()) io.Reader { return openFile(t) },
			opts: driver.WriteOptions{Checksum: driver.SHA256, Sum: sha(data)},
		},
		{
			name: "another SHA-256 announced",
			src:  func(t *testing.T, _ func()) io.Reader { return openFile(t) },
			opts: driver.WriteOptions{Checksum: driver.SHA256, Sum: sha([]byte("other"))},
			wantErr: func(t *testing.T, err error) {
				wantCode(t, f.drv, err, driver.Corrupt)
			},
			wantAbort: true,
		},
		{
			name: "ReadAt fails mid-way",
			src: func(*testing.T, func()) io.Reader {
				return &failingAt{Reader: bytes.NewReader(data), from: 2*MinPartSize + 100}
			},
			opts: driver.WriteOptions{Checksum: driver.CRC32C},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, errBoom) {
					t.Errorf("WriteBlob error %v, want the source's", err)
				}
			},
			wantAbort: true,
		},
		{
			name: "source shorter than announced",
			src:  func(*testing.T, func()) io.Reader { return bytes.NewReader(data[:inPlaceSize-MinPartSize]) },
			opts: driver.WriteOptions{Checksum: driver.CRC32C},
			wantErr: func(t *testing.T, err error) {
				wantCode(t, f.drv, err, driver.InvalidArgument)
				if !strings.Contains(err.Error(), "short of its announced size") {
					t.Errorf("error %q does not say that the payload is short", err)
				}
			},
			wantAbort: true,
		},
		{
			name: "canceled",
			src: func(_ *testing.T, cancel func()) io.Reader {
				return &cancelingAt{Reader: bytes.NewReader(data), at: 2 * MinPartSize, cancel: cancel}
			},
			opts: driver.WriteOptions{Checksum: driver.CRC32C},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("WriteBlob error %v, want context.Canceled", err)
				}
			},
			wantAbort: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			src := c.src(t, cancel)
			sk := src.(io.Seeker)
			start, _ := sk.Seek(0, io.SeekCurrent)
			opts := c.opts
			opts.ContentType, opts.Size = "application/octet-stream", inPlaceSize
			key := "inplace/" + c.name
			f.wire.reset()
			before := heapAllocs()
			attrs, err := f.drv.WriteBlob(ctx, key, src, &opts)
			allocated := heapAllocs() - before
			sent := f.wire.requests()
			if f.drv.parts.free != nil {
				t.Errorf("the upload took %d part buffers from the pool", len(f.drv.parts.free))
			}
			bg := testContext(t)
			if c.wantErr != nil {
				if err == nil {
					t.Fatal("WriteBlob succeeded")
				}
				t.Logf("error: %v", err)
				c.wantErr(t, err)
				if keys := f.rawKeys(bg); slices.Contains(keys, key) {
					t.Errorf("object left behind: %q", key)
				}
				if ups := f.pendingUploads(bg); len(ups) != 0 {
					t.Errorf("unfinished multipart uploads left behind: %q", ups)
				}
				if created, aborted := abortedUpload(sent); created != c.wantAbort || aborted != c.wantAbort {
					t.Errorf("upload created %v, aborted %v; want %v", created, aborted, c.wantAbort)
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteBlob: %v", err)
			}
			if uploadParts := countUploadParts(sent); uploadParts != 4 {
				t.Errorf("%d UploadPart requests, want 4 (parts of 5, 5, 5 and 1 MiB)", uploadParts)
			}
			if n := len(sent); n != 6 {
				t.Errorf("%d requests, want 6 (create, 4 parts, complete)", n)
			}
			// Far less than one part: nothing of the payload is copied.
			if allocated > MinPartSize/2 {
				t.Errorf("the upload allocated %d bytes; want far less than a part (%d)", allocated, MinPartSize)
			}
			t.Logf("allocated %d bytes for a %d-byte payload", allocated, inPlaceSize)
			if pos, _ := sk.Seek(0, io.SeekCurrent); pos != start+inPlaceSize {
				t.Errorf("source left at %d, want the payload's end, %d", pos, start+inPlaceSize)
			}
			alg := opts.Algorithm()
			if want := alg.Sum(data); attrs.Checksum.Algorithm != alg || !bytes.Equal(attrs.Checksum.Sum, want) {
				t.Errorf("reported checksum %s, want %s", attrs.Checksum, driver.Checksum{Algorithm: alg, Sum: want})
			}
			if !strings.HasSuffix(strings.Trim(attrs.ETag, `"`), "-4") {
				t.Errorf("ETag %s is not that of a 4-part upload", attrs.ETag)
			}
			if got := readBlob(bg, t, f.drv, key, 0, -1); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
			}
			if alg != driver.SHA256 {
				// S3 holds the full-object CRC combined from the parts'.
				info, err := f.drv.StatBlob(bg, key)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(info.Checksum.Sum, attrs.Checksum.Sum) {
					t.Errorf("StatBlob checksum %s, want %s", info.Checksum, attrs.Checksum)
				}
			}
		})
	}
}

// A payload announced larger than S3's largest object fails before any
// request.
func TestWriteBlobInPlaceTooLarge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	_, err := f.drv.WriteBlob(ctx, "huge", bytes.NewReader(nil), &driver.WriteOptions{Size: 6 << 40})
	wantCode(t, f.drv, err, driver.TooLarge)
	if n := len(f.wire.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// Uploads in place use their own defaults unless the options say
// otherwise; explicit options apply to both kinds of upload.
func TestInPlaceDefaults(t *testing.T) {
	for _, c := range []struct {
		opts     Options
		wantSize int64
		wantConc int
	}{
		{Options{}, DefaultFilePartSize, DefaultFileUploadConcurrency},
		{Options{PartSize: 8 << 20}, 8 << 20, DefaultFileUploadConcurrency},
		{Options{UploadConcurrency: 3}, DefaultFilePartSize, 3},
		{Options{PartSize: 64 << 20, UploadConcurrency: 16}, 64 << 20, 16},
	} {
		o := c.opts
		o.Table, o.Bucket = "t", "b"
		d, err := New(&o)
		if err != nil {
			t.Fatal(err)
		}
		if d.inPlace.partSize != c.wantSize || d.inPlace.concurrency != c.wantConc {
			t.Errorf("options %+v: in place %d × %d, want %d × %d", c.opts, d.inPlace.partSize, d.inPlace.concurrency, c.wantSize, c.wantConc)
		}
	}
}

// The portable layer hands a file over as it is, and its progress
// callback hears of the parts read in place from several goroutines,
// never concurrently, in order, to the payload's size.
func TestPutFileInPlaceProgress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 3 })
	ctx := testContext(t)
	store, err := docblob.NewStore(f.drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := payload(inPlaceSize, 15)
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var calls [][2]int64
	var busy atomic.Bool
	progress := func(done, total int64) {
		if !busy.CompareAndSwap(false, true) {
			t.Error("progress callback called concurrently with itself")
		}
		calls = append(calls, [2]int64{done, total})
		busy.Store(false)
	}
	f.wire.reset()
	doc := map[string]any{"pk": "p", "sk": "s", "file": docblob.NewBlob(file, &docblob.BlobOptions{Progress: progress})}
	if err := store.Put(ctx, doc); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n := countUploadParts(f.wire.requests()); n != 4 {
		t.Errorf("%d UploadPart requests, want the 4 of an upload in place", n)
	}
	prev := int64(0)
	for i, c := range calls {
		if c[0] < prev || c[0] > inPlaceSize || c[1] != inPlaceSize {
			t.Errorf("call %d: (%d, %d) after %d bytes; want a count that never decreases, of %d", i, c[0], c[1], prev, inPlaceSize)
		}
		prev = c[0]
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int64{inPlaceSize, inPlaceSize} {
		t.Errorf("calls %v; want the last (%d, %d)", calls, inPlaceSize, inPlaceSize)
	}
	if pos, _ := file.Seek(0, io.SeekCurrent); pos != inPlaceSize {
		t.Errorf("file left at %d, want its end", pos)
	}
}

// partReads counts the reads of each part of a source in place, for
// sources that change after a part's first reads.
type partReads struct {
	part  int64 // the upload's part size
	mu    sync.Mutex
	reads map[int64]int // reads that started at each part's first byte
}

// nth counts a ReadAt at off and returns how many reads its part has had.
func (c *partReads) nth(off int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reads == nil {
		c.reads = map[int64]int{}
	}
	if off%c.part == 0 {
		c.reads[off/c.part]++
	}
	return c.reads[off/c.part]
}

// changingAt is a source in place that gives its bytes on the first
// honest reads of each part and every byte flipped after that, as a file
// rewritten while it is uploaded does.
type changingAt struct {
	*bytes.Reader
	honest int // reads of each part that see the original bytes
	partReads
}

func (r *changingAt) ReadAt(p []byte, off int64) (int, error) {
	nth := r.nth(off)
	n, err := r.Reader.ReadAt(p, off)
	if nth > r.honest {
		for i := range p[:n] {
			p[i] ^= 0xff
		}
	}
	return n, err
}

// An upload in place whose source changes between the reads of a part
// either fails with code Corrupt, leaving nothing behind, or succeeds
// with the checksum of the bytes S3 stored: never with a checksum that
// the stored payload does not have (the SHA-256 was once made from a read
// that nothing compared with what was sent).
func TestWriteBlobInPlaceSourceChanges(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	data := payload(inPlaceSize, 77)
	for _, alg := range []driver.ChecksumAlgorithm{driver.CRC32C, driver.CRC64NVME, driver.SHA256} {
		for _, honest := range []int{1, 2} {
			name := fmt.Sprintf("%s/Honest%d", alg, honest)
			t.Run(name, func(t *testing.T) {
				ctx := testContext(t)
				src := &changingAt{Reader: bytes.NewReader(data), honest: honest, partReads: partReads{part: MinPartSize}}
				key := "changing/" + name
				attrs, err := f.drv.WriteBlob(ctx, key, src, &driver.WriteOptions{ContentType: "application/octet-stream", Size: inPlaceSize, Checksum: alg})
				if err != nil {
					if code := f.drv.ErrorCode(err); code != driver.Corrupt {
						t.Errorf("WriteBlob: code %v (%v), want Corrupt", code, err)
					}
					f.checkNothingLeft(ctx, t, key)
					return
				}
				stored := readBlob(ctx, t, f.drv, key, 0, -1)
				if sum := alg.Sum(stored); !bytes.Equal(sum, attrs.Checksum.Sum) {
					t.Errorf("WriteBlob reported %s %x, but the stored bytes have %x", alg, attrs.Checksum.Sum, sum)
				}
			})
		}
	}
}

// truncatingAt is a source in place that ends at cut for every read of a
// part after its first, as a file truncated while it is uploaded does.
type truncatingAt struct {
	*bytes.Reader
	cut int64
	partReads
}

func (r *truncatingAt) ReadAt(p []byte, off int64) (int, error) {
	if r.nth(off) >= 2 && off+int64(len(p)) > r.cut {
		if off >= r.cut {
			return 0, io.EOF
		}
		n, _ := r.Reader.ReadAt(p[:r.cut-off], off)
		return n, io.EOF
	}
	return r.Reader.ReadAt(p, off)
}

// A source in place truncated between a part's checksum and its request
// fails the upload with InvalidArgument, as one short from the start
// does, not with the Unavailable of the connection error that the
// request's short body makes (which would invite a retry), and leaves
// nothing behind.
func TestWriteBlobInPlaceSourceTruncated(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	data := payload(inPlaceSize, 79)
	for _, alg := range []driver.ChecksumAlgorithm{driver.CRC32C, driver.SHA256} {
		t.Run(string(alg), func(t *testing.T) {
			ctx := testContext(t)
			src := &truncatingAt{Reader: bytes.NewReader(data), cut: 2*MinPartSize + 1234, partReads: partReads{part: MinPartSize}}
			key := "truncated/" + string(alg)
			_, err := f.drv.WriteBlob(ctx, key, src, &driver.WriteOptions{ContentType: "application/octet-stream", Size: inPlaceSize, Checksum: alg})
			if code := f.drv.ErrorCode(err); code != driver.InvalidArgument {
				t.Errorf("WriteBlob: code %v (%v), want InvalidArgument", code, err)
			}
			f.checkNothingLeft(ctx, t, key)
		})
	}
}

// checkNothingLeft checks that a failed upload to key left no object
// there and no multipart upload in the bucket.
func (f *fixture) checkNothingLeft(ctx context.Context, t *testing.T, key string) {
	t.Helper()
	if slices.Contains(f.rawKeys(ctx), key) {
		t.Errorf("a failed upload left an object under %q", key)
	}
	if ups := f.pendingUploads(ctx); len(ups) != 0 {
		t.Errorf("a failed upload left multipart uploads: %q", ups)
	}
}

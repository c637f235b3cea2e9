package docblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// readAtDriver is a memory driver that reads a payload handed over with
// its size, from an io.ReaderAt, as the S3 driver uploads in place: in
// parts, from several goroutines, each part twice (a checksum pass, then
// the send). It records what it was handed.
type readAtDriver struct {
	driver.Driver
	noSeek bool // return without leaving the source at the payload's end

	mu       sync.Mutex
	readerAt bool  // the last WriteBlob's source was an io.ReaderAt
	size     int64 // and its announced size
}

func (d *readAtDriver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	ra, ok := r.(io.ReaderAt)
	d.mu.Lock()
	d.readerAt, d.size = ok, opts.Size
	d.mu.Unlock()
	if !ok || opts.Size < 0 {
		return d.Driver.WriteBlob(ctx, key, r, opts)
	}
	sk := r.(io.Seeker)
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, opts.Size)
	const parts = 4
	var wg sync.WaitGroup
	errs := make([]error, parts)
	for p := range parts {
		from, to := opts.Size*int64(p)/parts, opts.Size*int64(p+1)/parts
		wg.Go(func() {
			for range 2 {
				if _, err := ra.ReadAt(payload[from:to], start+from); err != nil && err != io.EOF {
					errs[p] = err
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if !d.noSeek {
		if _, err := sk.Seek(start+opts.Size, io.SeekStart); err != nil {
			return nil, err
		}
	}
	o := *opts
	return d.Driver.WriteBlob(ctx, key, bytes.NewReader(payload), &o)
}

// A local source (a file, a bytes.Reader, a strings.Reader) is handed to
// the driver as it is, with its size, whatever its size, unless a SHA-256
// must be computed first: then a large one is streamed.
func TestLocalSourceHandedOver(t *testing.T) {
	ctx := context.Background()
	const size = 20 << 20 // over the 16 MiB up to which a SHA-256 is computed first
	data := bytes.Repeat([]byte("in place, "), size/10)
	const offset = 333
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, append(make([]byte, offset), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(t *testing.T) io.Reader {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		return f
	}
	sum := sha256.Sum256(data)
	for _, c := range []struct {
		name     string
		checksum docblob.Checksum
		src      func(t *testing.T) io.Reader
		sha256   []byte // BlobOptions.SHA256
		inPlace  bool
	}{
		{"file", docblob.ChecksumCRC32C, file, nil, true},
		{"bytes.Reader", docblob.ChecksumCRC64NVME, func(*testing.T) io.Reader { return bytes.NewReader(data) }, nil, true},
		{"strings.Reader", docblob.ChecksumCRC32C, func(*testing.T) io.Reader { return strings.NewReader(string(data)) }, nil, true},
		{"file, SHA-256 store", docblob.ChecksumSHA256, file, nil, false},
		{"file, SHA-256 expected", docblob.ChecksumCRC32C, file, sum[:], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			drv := &readAtDriver{Driver: newMem(t)}
			store, err := docblob.NewStore(drv, &docblob.Options{Checksum: c.checksum})
			if err != nil {
				t.Fatal(err)
			}
			l := &progressLog{t: t}
			doc := &progressDoc{PK: "p", SK: "s", Data: docblob.NewBlob(c.src(t), &docblob.BlobOptions{SHA256: c.sha256, Progress: l.f})}
			if err := store.Put(ctx, doc); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if c.inPlace && (!drv.readerAt || drv.size != size) {
				t.Errorf("the driver was handed a source that is an io.ReaderAt %v, of size %d; want one of %d", drv.readerAt, drv.size, size)
			}
			if !c.inPlace && drv.size != -1 {
				t.Errorf("the driver was handed a source of size %d; want a stream", drv.size)
			}
			l.check("upload", size, size)
			if doc.Data.Size() != size {
				t.Errorf("recorded size %d, want %d", doc.Data.Size(), size)
			}
			got, err := doc.Data.ReadAll(ctx) // verifies the recorded checksum
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes (%v) that differ from the %d written", len(got), err, len(data))
			}
		})
	}
}

// A driver that returns without leaving the source at the payload's end
// fails the Put, and nothing is stored.
func TestInPlaceDriverStopsEarly(t *testing.T) {
	drv := &readAtDriver{Driver: newMem(t), noSeek: true}
	store, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 20<<20)
	err = store.Put(ctx, &progressDoc{PK: "p", SK: "s", Data: docblob.NewBlob(bytes.NewReader(data), nil)})
	if err == nil || !strings.Contains(err.Error(), "before reading the payload to its end") {
		t.Fatalf("Put = %v, want the driver's early return reported", err)
	}
	page, err := drv.ListBlobs(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range page.Blobs {
		if !strings.HasSuffix(b.Key, ".docblob-owner") {
			t.Errorf("payload left behind: %s", b.Key)
		}
	}
}

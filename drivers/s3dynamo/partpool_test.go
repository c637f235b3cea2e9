package s3dynamo

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/docblob/docblob/driver"
)

// Reads in parts take their buffers from the pool of streamed uploads
// when their parts fit in its buffers, which then keeps enough for
// either; larger read parts have a pool of their own.
func TestPartPools(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                     string
		partSize, readPartSize   int64
		uploadConc, readConc     int
		shared                   bool
		keepUploads, keepReads   int
		uploadSize, readPoolSize int64
	}{
		{"defaults", 0, 0, 0, 0, true, 6, 6, DefaultPartSize, DefaultPartSize},
		{"read_parts_equal", 8 << 20, 8 << 20, 2, 6, true, 6, 6, 8 << 20, 8 << 20},
		{"uploads_keep_more", 0, 0, 7, 3, true, 8, 8, DefaultPartSize, DefaultPartSize},
		{"read_parts_larger", 0, 8 << 20, 0, 0, false, 5, 6, DefaultPartSize, 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := New(&Options{Table: "t", Bucket: "b", AWS: &aws.Config{Region: "us-east-1"},
				S3Endpoint: "http://127.0.0.1:1", DynamoDBEndpoint: "http://127.0.0.1:1",
				PartSize: tc.partSize, ReadPartSize: tc.readPartSize,
				UploadConcurrency: tc.uploadConc, ReadConcurrency: tc.readConc})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := d.parts == d.readParts; got != tc.shared {
				t.Fatalf("one pool for uploads and reads: %v, want %v", got, tc.shared)
			}
			if d.parts.keep != tc.keepUploads || d.readParts.keep != tc.keepReads {
				t.Errorf("pools keep %d and %d buffers, want %d and %d", d.parts.keep, d.readParts.keep, tc.keepUploads, tc.keepReads)
			}
			if d.parts.size != tc.uploadSize || d.readParts.size != tc.readPoolSize {
				t.Errorf("buffers of %d and %d bytes, want %d and %d", d.parts.size, d.readParts.size, tc.uploadSize, tc.readPoolSize)
			}
		})
	}
}

// uploadConc and readConc are the concurrencies of sharedPoolFixture.
const uploadConc, readConc = 2, 4

// sharedPoolFixture is a fixture whose streamed uploads send uploadConc
// parts at once and whose reads past a first 1 MiB go on in parts of
// 1 MiB, readConc at once, however fast the stream: both take buffers
// from one pool.
func sharedPoolFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, func(o *Options) {
		o.UploadConcurrency = uploadConc
		o.ReadPartSize, o.ReadConcurrency = MinReadPartSize, readConc
	})
	f.drv.fastStream = math.Inf(1)
	f.drv.probe = MinReadPartSize
	return f
}

// A streamed upload and then a read in parts use one set of buffers: the
// read takes the ones the upload left in the pool, and afterwards the
// driver keeps no more than the larger of the two needs.
func TestUploadThenReadInPartsShareBuffers(t *testing.T) {
	t.Parallel()
	f := sharedPoolFixture(t)
	ctx := testContext(t)
	data := payload(3*MinPartSize+7, 11)
	if _, err := f.drv.WriteBlob(ctx, "big", struct{ io.Reader }{bytes.NewReader(data)}, &driver.WriteOptions{ContentType: "application/octet-stream", Size: -1}); err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	afterUpload := slices.Clone(f.drv.parts.free)
	if len(afterUpload) != uploadConc+1 {
		t.Fatalf("%d buffers kept after a streamed upload of 4 parts, want %d", len(afterUpload), uploadConc+1)
	}
	f.wire.reset()
	if got := readBlob(ctx, t, f.drv, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("the read differs from the payload")
	}
	if with, _ := ifMatchGets(f); with == 0 {
		t.Fatal("the read did not go on in parts")
	}
	after := f.drv.readParts.free
	if len(after) > max(uploadConc+1, readConc) {
		t.Errorf("%d buffers kept after the read, want at most %d", len(after), max(uploadConc+1, readConc))
	}
	for _, b := range afterUpload {
		if !slices.Contains(after, b) {
			t.Error("a buffer the upload left is no longer kept: the read did not reuse it")
		}
	}
}

// Streamed uploads and reads in parts running at once on one driver take
// buffers from the same pool: none is handed to two at a time, so every
// payload is stored and read back whole.
func TestUploadsAndReadsInPartsAtOnce(t *testing.T) {
	t.Parallel()
	const workers, rounds = 3, 2
	f := sharedPoolFixture(t)
	ctx := testContext(t)
	stored := make([][]byte, workers)
	for w := range workers {
		stored[w] = payload(2*MinPartSize+w*4099, uint64(100+w))
		if _, err := f.drv.WriteBlob(ctx, fmt.Sprintf("read/%d", w), bytes.NewReader(stored[w]), &driver.WriteOptions{ContentType: "application/octet-stream", Size: int64(len(stored[w]))}); err != nil {
			t.Fatalf("WriteBlob: %v", err)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(2)
		go func() { // uploads, streamed through part buffers
			defer wg.Done()
			for r := range rounds {
				data := payload(3*MinPartSize+r*1000+w, uint64(10*w+r))
				key := fmt.Sprintf("up/%d/%d", w, r)
				if _, err := f.drv.WriteBlob(ctx, key, struct{ io.Reader }{bytes.NewReader(data)}, &driver.WriteOptions{ContentType: "application/octet-stream", Size: -1}); err != nil {
					t.Errorf("WriteBlob %s: %v", key, err)
					return
				}
				if got := readBlob(ctx, t, f.drv, key, 0, -1); !bytes.Equal(got, data) {
					t.Errorf("%s read back differs", key)
				}
			}
		}()
		go func() { // reads in parts of what was stored before
			defer wg.Done()
			for range rounds {
				if got := readBlob(ctx, t, f.drv, fmt.Sprintf("read/%d", w), 0, -1); !bytes.Equal(got, stored[w]) {
					t.Errorf("read/%d differs", w)
				}
			}
		}()
	}
	wg.Wait()
	if n, keep := len(f.drv.parts.free), max(uploadConc+1, readConc); n > keep {
		t.Errorf("%d buffers kept, want at most %d", n, keep)
	}
}

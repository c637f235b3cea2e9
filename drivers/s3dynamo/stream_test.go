package s3dynamo

import (
	"bytes"
	"encoding/hex"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// heapPeak samples the live heap until stopped and reports its peak above
// the level when it started.
type heapPeak struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       sync.WaitGroup
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{})}
	h.base.Store(heapBytes())
	h.done.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if b := heapBytes(); b > h.peak.Load() {
				h.peak.Store(b)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// above returns the peak live heap above the starting level, in bytes.
func (h *heapPeak) above() uint64 {
	close(h.stop)
	h.done.Wait()
	if p, b := h.peak.Load(), h.base.Load(); p > b {
		return p - b
	}
	return 0
}

// A 64 MiB payload streams up (multipart) and down through the Store with
// the driver's default part size and concurrency, holding far less than the
// payload in memory.
func TestStreamLargePayload(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB each way; skipped with -short")
	}
	const size = 64 << 20
	f := newFixture(t, nil)
	ctx := testContext(t)
	store, err := docblob.NewStore(f.drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		PK   string        `docstore:"pk"`
		SK   string        `docstore:"sk"`
		File *docblob.Blob `docstore:"file"`
	}
	src := io.LimitReader(&zeroesThenCounter{}, size)
	want := driver.CRC32C.New() // the default checksum, a full-object CRC combined from the parts'
	in := &doc{PK: "big", SK: "1", File: docblob.NewBlob(io.TeeReader(src, want), nil)}

	up := startHeapPeak()
	start := time.Now()
	if err := store.Put(ctx, in); err != nil {
		t.Fatalf("Put: %v", err)
	}
	upHeap, upTime := up.above(), time.Since(start)
	if alg, sum := in.File.Checksum(); alg != docblob.ChecksumCRC32C || sum != hex.EncodeToString(want.Sum(nil)) || in.File.Size() != size {
		t.Fatalf("stored %d bytes with %s %s, want crc32c %x", in.File.Size(), alg, sum, want.Sum(nil))
	}

	down := startHeapPeak()
	start = time.Now()
	r, err := in.File.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r) // verifies the SHA-256 at EOF
	r.Close()
	if err != nil || n != size {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	downHeap, downTime := down.above(), time.Since(start)

	t.Logf("64 MiB up: %v, peak heap +%.1f MiB; down: %v, peak heap +%.1f MiB (part size %d MiB, concurrency %d)",
		upTime.Round(time.Millisecond), float64(upHeap)/(1<<20), downTime.Round(time.Millisecond), float64(downHeap)/(1<<20),
		f.drv.opts.PartSize>>20, f.drv.opts.UploadConcurrency)
	limit, bound := uint64(size/2), "half the payload"
	if raceEnabled {
		// The race detector's sync.Pool discards buffers at random; the
		// upload must still not hold the whole payload.
		limit, bound = size, "the payload (race detector on)"
	}
	if upHeap > limit || downHeap > limit {
		t.Errorf("peak heap +%d B up, +%d B down; want under %s (%d B)", upHeap, downHeap, bound, limit)
	}
}

// zeroesThenCounter produces bytes that are not all the same, cheaply.
type zeroesThenCounter struct{ n uint64 }

func (z *zeroesThenCounter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(z.n >> 10)
		z.n++
	}
	return len(p), nil
}

// A streamed upload takes its part buffers from the driver's pool: once a
// first upload has warmed it, a second allocates at most one part buffer
// (a sync.Pool keeps one buffer per P where other Ps cannot take it; with
// two Ps, one buffer can be out of reach), where without the pool it
// allocates one per part.
func TestPartBuffersReused(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	ctx := testContext(t)
	data := payload(4*MinPartSize+100, 9)
	upload := func(key string) {
		t.Helper()
		if _, err := f.drv.WriteBlob(ctx, key, io.MultiReader(bytes.NewReader(data)), &driver.WriteOptions{Size: -1}); err != nil {
			t.Fatalf("WriteBlob %s: %v", key, err)
		}
	}
	// No garbage collection, which would empty the pool, until the end,
	// and two Ps, so that at most one buffer sits in another P's slot.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	upload("warm")
	allocs := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := allocs()
	upload("reused")
	if got := allocs() - before; got >= 2*MinPartSize {
		t.Errorf("the second upload allocated %d bytes, at least two parts (%d): its buffers were not reused", got, 2*MinPartSize)
	}
	if got := readBlob(ctx, t, f.drv, "reused", 0, -1); !bytes.Equal(got, data) {
		t.Error("read back differs")
	}
}

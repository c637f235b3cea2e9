package filestore

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
)

// The benchmarks run with fsync (the default) and with NoSync, which shows
// what the file system costs beside the syncs.

func benchModes(b *testing.B, f func(b *testing.B, d *Driver)) {
	for _, mode := range []struct {
		name string
		opts *Options
	}{{"sync", nil}, {"nosync", &Options{NoSync: true}}} {
		b.Run(mode.name, func(b *testing.B) { f(b, newTestDriver(b, mode.opts)) })
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}}

func BenchmarkWriteBlob(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			benchModes(b, func(b *testing.B, d *Driver) {
				ctx := context.Background()
				data := make([]byte, size.n)
				r := bytes.NewReader(data)
				opts := &driver.WriteOptions{Size: int64(size.n)}
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.Reset(data)
					if _, err := d.WriteBlob(ctx, "bench/"+strconv.Itoa(i), r, opts); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

func BenchmarkOpenBlob(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			d := newTestDriver(b, nil)
			ctx := context.Background()
			if _, err := d.WriteBlob(ctx, "bench/x", bytes.NewReader(make([]byte, size.n)), nil); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				rc, err := d.OpenBlob(ctx, "bench/x", 0, -1, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

func benchDoc(k driver.Key) *driver.Document {
	return &driver.Document{Key: k, Revision: "rev-1", Fields: map[string]any{
		"title": "March invoice", "amount": 12.5, "count": int64(3),
		"pdf": map[string]any{"key": "prefix/acme/2026-001/pdf/01abcdefghijklmnopqrstuvwx", "size": int64(123456),
			"contentType": "application/pdf", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	}}
}

func BenchmarkPutDocument(b *testing.B) {
	benchModes(b, func(b *testing.B, d *Driver) {
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := d.PutDocument(ctx, benchDoc(key("acme", strconv.Itoa(i%100))), driver.Condition{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkGetDocument(b *testing.B) {
	d := newTestDriver(b, nil)
	ctx := context.Background()
	k := key("acme", "2026-001")
	if _, err := d.PutDocument(ctx, benchDoc(k), driver.Condition{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.GetDocument(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStore measures filestore through the portable Store, the same
// benchmark memstore runs, for side-by-side figures.
func BenchmarkStore(b *testing.B) {
	conformance.Benchmark(b, func(b *testing.B) driver.Driver {
		d, err := New(&Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return d
	})
}

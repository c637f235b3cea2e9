package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// Benchmark measures a driver through the portable Store: Put (replacing
// one document's attachment: a payload write, a document write and the
// old payload's delete), Get (metadata only) and Open (streaming and
// verifying a whole payload), with 1 KiB and 1 MiB payloads. newDriver
// returns a driver over fresh storage; the benchmark closes it.
//
// Run it for several drivers in one command to compare them side by side:
//
//	go test -run '^$' -bench . -benchmem ./drivers/memstore ./drivers/filestore
func Benchmark(b *testing.B, newDriver func(b *testing.B) driver.Driver) {
	ctx := context.Background()
	newStore := func(b *testing.B) *docblob.Store {
		s, err := docblob.NewStore(newDriver(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	for _, size := range []int{1 << 10, 1 << 20} {
		name := fmt.Sprintf("%dKiB", size>>10)
		if size >= 1<<20 {
			name = fmt.Sprintf("%dMiB", size>>20)
		}
		payload := bytes.Repeat([]byte("docblob "), size/8)
		b.Run("Put/"+name, func(b *testing.B) {
			s := newStore(b)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				doc := &record{PK: "bench", SK: "doc", Title: "t", File: docblob.NewBlob(bytes.NewReader(payload), nil)}
				if err := s.Put(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Open/"+name, func(b *testing.B) {
			s := newStore(b)
			doc := &record{PK: "bench", SK: "doc", File: docblob.NewBlobBytes(payload, nil)}
			if err := s.Put(ctx, doc); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := doc.File.Open(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
	b.Run("Get", func(b *testing.B) {
		s := newStore(b)
		if err := s.Put(ctx, &record{PK: "bench", SK: "doc", Title: "t", File: docblob.NewBlobBytes([]byte("x"), nil)}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			doc := &record{PK: "bench", SK: "doc"}
			if err := s.Get(ctx, doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

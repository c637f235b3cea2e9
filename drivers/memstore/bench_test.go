package memstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/memstore"
)

type benchDoc struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	Note string        `docstore:"note"`
	File *docblob.Blob `docstore:"file"`
}

var benchSizes = []int{1 << 10, 1 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func newBenchStore(b *testing.B) *docblob.Store {
	b.Helper()
	s, err := docblob.NewStore(memstore.New(nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPut replaces one document's attachment: one payload write, one
// document write, one payload delete per operation.
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := newBenchStore(b)
			payload := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				doc := &benchDoc{PK: "bench", SK: "doc", Note: "n", File: docblob.NewBlob(bytes.NewReader(payload), nil)}
				if err := s.Put(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet reads a document's metadata (no payload).
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := newBenchStore(b)
	if err := s.Put(ctx, &benchDoc{PK: "bench", SK: "doc", Note: "n", File: docblob.NewBlobBytes([]byte("x"), nil)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		doc := &benchDoc{PK: "bench", SK: "doc"}
		if err := s.Get(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen streams and verifies a whole payload.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := newBenchStore(b)
			doc := &benchDoc{PK: "bench", SK: "doc", File: docblob.NewBlobBytes(bytes.Repeat([]byte("x"), size), nil)}
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
}

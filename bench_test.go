package docblob_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/memstore"
)

type benchInvoice struct {
	Customer string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	Amount   int64         `docstore:"amount"`
	Paid     bool          `docstore:"paid"`
	Rate     float64       `docstore:"rate"`
	Issued   time.Time     `docstore:"issued"`
	Note     any           `docstore:"note"`
	PDF      *docblob.Blob `docstore:"pdf"`
	Revision any           `docstore:"DocstoreRevision"`
}

// BenchmarkGet compares a Get into a flat struct on its struct plan's fast
// path with the same Get through the general codec, on mem://, side by
// side: the fast path must keep earning its code.
func BenchmarkGet(b *testing.B) {
	for _, path := range []string{"plan", "general"} {
		b.Run(path, func(b *testing.B) {
			ctx := context.Background()
			s, err := docblob.Open(ctx, "mem://")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if path == "general" {
				docblob.GeneralPathOnly(s, &benchInvoice{})
			}
			inv := &benchInvoice{Customer: "acme", ID: "2026-001", Title: "March", Amount: 12345, Paid: true, Rate: 0.2,
				Issued: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Note: "net 30",
				PDF: docblob.NewBlobBytes(bytes.Repeat([]byte("x"), 1024), &docblob.BlobOptions{Name: "march.pdf"})}
			if err := s.Put(ctx, inv); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				got := &benchInvoice{Customer: "acme", ID: "2026-001"}
				if err := s.Get(ctx, got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

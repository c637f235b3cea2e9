package docblob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/memstore"
)

type Invoice struct {
	Customer string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	PDF      *docblob.Blob `docstore:"pdf"`
	Revision any           `docstore:"DocstoreRevision"`
}

func Example() {
	ctx := context.Background()
	store, err := docblob.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	pdf := strings.NewReader("%PDF-1.7 march invoice")
	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March",
		PDF: docblob.NewBlob(pdf, &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, inv); err != nil {
		log.Fatal(err)
	}

	got := &Invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Title, got.PDF.Name(), got.PDF.Size(), got.PDF.ContentType())

	r, err := got.PDF.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	io.Copy(os.Stdout, r)
	fmt.Println()

	if err := store.Delete(ctx, got); err != nil {
		log.Fatal(err)
	}
	err = store.Get(ctx, got)
	fmt.Println(errors.Is(err, docblob.NotFound))
	// Output:
	// March march.pdf 22 application/pdf
	// %PDF-1.7 march invoice
	// true
}

func ExampleStore_Create() {
	ctx := context.Background()
	store, _ := docblob.Open(ctx, "mem://")
	defer store.Close()

	inv := &Invoice{Customer: "acme", ID: "2026-002"}
	fmt.Println(store.Create(ctx, inv))
	err := store.Create(ctx, &Invoice{Customer: "acme", ID: "2026-002"})
	fmt.Println(docblob.Code(err))
	// Output:
	// <nil>
	// already exists
}

func ExampleStore_Put_revision() {
	ctx := context.Background()
	store, _ := docblob.Open(ctx, "mem://")
	defer store.Close()
	store.Put(ctx, &Invoice{Customer: "acme", ID: "1", Title: "draft"})

	// Two editors read the same version.
	a, b := &Invoice{Customer: "acme", ID: "1"}, &Invoice{Customer: "acme", ID: "1"}
	store.Get(ctx, a)
	store.Get(ctx, b)

	a.Title = "final"
	fmt.Println(store.Put(ctx, a))
	b.Title = "lost update"
	err := store.Put(ctx, b) // b's revision is stale
	fmt.Println(errors.Is(err, docblob.FailedPrecondition))
	// Output:
	// <nil>
	// true
}

func ExampleStore_Query() {
	ctx := context.Background()
	store, _ := docblob.Open(ctx, "mem://")
	defer store.Close()
	for _, id := range []string{"2026-01", "2026-02", "2026-03", "2027-01"} {
		store.Put(ctx, &Invoice{Customer: "acme", ID: id})
	}

	q := &docblob.Query{Partition: "acme", Sort: docblob.SortPrefix("2026-"), Descending: true}
	for inv, err := range docblob.All[Invoice](ctx, store, q) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(inv.ID)
	}
	// Output:
	// 2026-03
	// 2026-02
	// 2026-01
}

func ExampleIterator_PageToken() {
	ctx := context.Background()
	store, _ := docblob.Open(ctx, "mem://")
	defer store.Close()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		store.Put(ctx, &Invoice{Customer: "acme", ID: id})
	}

	token := ""
	for page := 1; ; page++ {
		it := store.Query(ctx, &docblob.Query{Partition: "acme", Limit: 2, PageToken: token})
		var ids []string
		for {
			var inv Invoice
			if err := it.Next(&inv); err == io.EOF {
				break
			} else if err != nil {
				log.Fatal(err)
			}
			ids = append(ids, inv.ID)
		}
		fmt.Println(page, ids)
		if token = it.PageToken(); token == "" {
			break
		}
	}
	// Output:
	// 1 [a b]
	// 2 [c d]
	// 3 [e]
}

func ExampleBlob_NewRangeReader() {
	ctx := context.Background()
	store, _ := docblob.Open(ctx, "mem://")
	defer store.Close()
	inv := &Invoice{Customer: "acme", ID: "1", PDF: docblob.NewBlobBytes([]byte("0123456789"), nil)}
	store.Put(ctx, inv)

	r, _ := inv.PDF.NewRangeReader(ctx, 3, 4)
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
	// Output: 3456
}

func ExampleOpen_inline() {
	ctx := context.Background()
	// Payloads of up to 4 KiB stay inside the document: one request, not two.
	store, _ := docblob.Open(ctx, "mem://?inline_threshold=4096")
	defer store.Close()
	inv := &Invoice{Customer: "acme", ID: "1", PDF: docblob.NewBlobBytes([]byte(`{"total": 42}`), nil)}
	store.Put(ctx, inv)
	fmt.Println(inv.PDF.Inline(), inv.PDF.Key() == "")
	// Output: true true
}

package gocloud_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/gocloud" // registers gocloud://
	_ "gocloud.dev/blob/memblob"                   // registers mem:// for blobs
)

// Example opens a store over a gocloud.dev pair from a URL: payloads in
// memblob, documents in memdocstore. The blob and docstore parameters are
// gocloud.dev URLs, escaped; any bucket and collection gocloud.dev opens
// will do (s3://..., dynamodb://TABLE?partition_key=pk&sort_key=sk&revision_field=DocblobCAS).
func Example() {
	ctx := context.Background()
	store, err := docblob.Open(ctx, "gocloud://invoices?blob="+url.QueryEscape("mem://")+"&docstore="+url.QueryEscape("mem://"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	type Invoice struct {
		Customer string        `docstore:"pk"`
		ID       string        `docstore:"sk"`
		Title    string        `docstore:"title"`
		PDF      *docblob.Blob `docstore:"pdf"`
	}
	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March",
		PDF: docblob.NewBlobBytes([]byte("%PDF-1.7 ..."), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, inv); err != nil {
		log.Fatal(err)
	}
	got := &Invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		log.Fatal(err)
	}
	data, err := got.PDF.ReadAll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Title, got.PDF.Name(), got.PDF.ContentType(), string(data))
	// Output: March march.pdf application/pdf %PDF-1.7 ...
}

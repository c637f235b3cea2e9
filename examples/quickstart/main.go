// Command quickstart shows docblob's round trip: it saves a document with
// an attachment, reads it back, streams the payload, deletes it, and prints
// each step. It needs no server: by default it runs on the in-memory store.
// Pass another store URL with -store.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -store mem://
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/memstore"
)

// Invoice is a document with one attachment.
type Invoice struct {
	Customer string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	PDF      *docblob.Blob `docstore:"pdf"`
	Revision any           `docstore:"DocstoreRevision"`
}

func main() {
	storeURL := flag.String("store", "mem://", "store URL")
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background(), *storeURL); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, storeURL string) error {
	store, err := docblob.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Printf("opened %s\n", storeURL)

	payload := "%PDF-1.7\n" + strings.Repeat("March invoice line\n", 1000)
	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March",
		PDF: docblob.NewBlob(strings.NewReader(payload), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, inv); err != nil {
		return err
	}
	fmt.Printf("put    %s/%s with %s (%d bytes) at %s\n", inv.Customer, inv.ID, inv.PDF.Name(), inv.PDF.Size(), inv.PDF.Key())

	got := &Invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		return err
	}
	fmt.Printf("get    %q: %s, %s, %d bytes, sha256 %s…\n", got.Title, got.PDF.Name(), got.PDF.ContentType(), got.PDF.Size(), got.PDF.SHA256()[:16])

	r, err := got.PDF.Open(ctx)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil {
		return err
	}
	verified := hex.EncodeToString(h.Sum(nil)) == got.PDF.SHA256()
	fmt.Printf("read   %d bytes streamed, checksum verified: %v\n", n, verified)

	if err := store.Delete(ctx, got); err != nil {
		return err
	}
	err = store.Get(ctx, &Invoice{Customer: "acme", ID: "2026-001"})
	fmt.Printf("delete done; get again: not found = %v\n", errors.Is(err, docblob.NotFound))
	if !verified || !errors.Is(err, docblob.NotFound) {
		return errors.New("quickstart: the round trip did not behave as expected")
	}
	return nil
}

// Command quickstart shows docblob's round trip: it saves a document with
// an attachment, reads it back, streams the payload, deletes it, and prints
// each step. It needs no server: by default it uses a filestore directory,
// docblob/quickstart under the user's cache directory (created if
// missing), where each run also leaves a small note that the next runs
// list, to show that the data persists. Pass another store with -store.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -store mem://
//	go run ./examples/quickstart -store file:///tmp/docblob-demo
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/filestore"
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

// Note is what each run leaves behind.
type Note struct {
	Kind string        `docstore:"pk"`
	At   string        `docstore:"sk"`
	Text *docblob.Blob `docstore:"text"`
}

func main() {
	storeURL := flag.String("store", "", "store URL (default: a directory under the user's cache directory)")
	flag.Parse()
	log.SetFlags(0)
	if *storeURL == "" {
		dir, err := defaultDir()
		if err != nil {
			log.Fatal(err)
		}
		*storeURL = (&url.URL{Scheme: "file", Path: dir}).String()
	}
	if err := run(context.Background(), *storeURL, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// defaultDir is docblob/quickstart under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux).
func defaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "docblob", "quickstart"), nil
}

func run(ctx context.Context, storeURL string, w io.Writer) error {
	store, err := docblob.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(w, "opened %s\n", storeURL)

	payload := "%PDF-1.7\n" + strings.Repeat("March invoice line\n", 1000)
	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March",
		PDF: docblob.NewBlob(strings.NewReader(payload), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, inv); err != nil {
		return err
	}
	fmt.Fprintf(w, "put    %s/%s with %s (%d bytes) at %s\n", inv.Customer, inv.ID, inv.PDF.Name(), inv.PDF.Size(), inv.PDF.Key())

	got := &Invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		return err
	}
	alg, sum := got.PDF.Checksum()
	fmt.Fprintf(w, "get    %q: %s, %s, %d bytes, %s %s\n", got.Title, got.PDF.Name(), got.PDF.ContentType(), got.PDF.Size(), alg, sum)

	r, err := got.PDF.Open(ctx)
	if err != nil {
		return err
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli)) // the store's default checksum, CRC32C
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil {
		return err
	}
	verified := alg == docblob.ChecksumCRC32C && hex.EncodeToString(h.Sum(nil)) == sum
	fmt.Fprintf(w, "read   %d bytes streamed, checksum verified: %v\n", n, verified)

	if err := store.Delete(ctx, got); err != nil {
		return err
	}
	err = store.Get(ctx, &Invoice{Customer: "acme", ID: "2026-001"})
	fmt.Fprintf(w, "delete done; get again: not found = %v\n", errors.Is(err, docblob.NotFound))
	if !verified || !errors.Is(err, docblob.NotFound) {
		return errors.New("quickstart: the round trip did not behave as expected")
	}
	return notes(ctx, store, w)
}

// notes lists the notes of earlier runs, then leaves one for the next.
func notes(ctx context.Context, store *docblob.Store, w io.Writer) error {
	n := 0
	for note, err := range docblob.All[Note](ctx, store, &docblob.Query{Partition: "note"}) {
		if err != nil {
			return err
		}
		text, err := note.Text.ReadAll(ctx)
		if err != nil {
			return err
		}
		n++
		if n <= 3 {
			fmt.Fprintf(w, "earlier run: %s\n", text)
		}
	}
	now := time.Now().UTC()
	note := &Note{Kind: "note", At: now.Format(time.RFC3339Nano),
		Text: docblob.NewBlobBytes([]byte("run at "+now.Format(time.RFC1123)), nil)}
	if err := store.Put(ctx, note); err != nil {
		return err
	}
	fmt.Fprintf(w, "notes  %d from earlier runs; left one for the next run\n", n)
	return nil
}

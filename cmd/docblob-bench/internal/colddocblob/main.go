// Command colddocblob is docblob-bench's cold start with docblob: open an
// s3dynamo store from a URL, then the first Get of a document, or the
// first Put of one with a 1 KiB attachment. See the cold section of
// docblob-bench.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/cmd/docblob-bench/internal/coldstart"
	_ "github.com/docblob/docblob/drivers/s3dynamo" // registers s3dynamo://
)

// doc is the benchmark's document.
type doc struct {
	PK    string        `docstore:"pk"`
	SK    string        `docstore:"sk"`
	Title string        `docstore:"title"`
	File  *docblob.Blob `docstore:"file"`
}

func main() {
	start := time.Now()
	ctx := context.Background()
	var store *docblob.Store
	open := func(s coldstart.Spec) (err error) {
		store, err = docblob.Open(ctx, s.URL)
		return err
	}
	op := func(s coldstart.Spec) error {
		switch s.Op {
		case "get":
			d := &doc{PK: s.PK, SK: s.SK}
			if err := store.Get(ctx, d); err != nil {
				return err
			}
			if d.File == nil || d.File.Size() != 1<<10 {
				return fmt.Errorf("unexpected document %+v", d)
			}
			return nil
		case "put":
			return store.Put(ctx, &doc{PK: s.PK, SK: s.SK, Title: "cold start",
				File: docblob.NewBlob(bytes.NewReader(make([]byte, 1<<10)), &docblob.BlobOptions{Name: "cold.bin"})})
		}
		return fmt.Errorf("unknown operation %q", s.Op)
	}
	os.Exit(coldstart.Run(start, open, op))
}

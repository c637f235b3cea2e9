package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"

	"github.com/docblob/docblob"
)

// benchDoc is the document docblob stores: a title and one attachment.
type benchDoc struct {
	PK    string        `docstore:"pk"`
	SK    string        `docstore:"sk"`
	Title string        `docstore:"title"`
	File  *docblob.Blob `docstore:"file"`
}

// item is one document going through put, get, open and delete.
type item struct {
	sk   string
	blob *docblob.Blob // docblob: the attachment that get returned
	key  string        // baseline: the object key that get read
	size int64         // the payload size that get read
}

// contender does the four operations one way.
type contender interface {
	name() string
	put(ctx context.Context, it *item, payload []byte) error
	get(ctx context.Context, it *item) error
	open(ctx context.Context, it *item) (int64, error)
	del(ctx context.Context, it *item) error
}

// docblobContender uses a docblob store the way its documentation shows.
type docblobContender struct {
	label  string
	store  *docblob.Store
	pk     string
	stream bool // hide the payload's io.Seeker, as for a request body
}

func (c *docblobContender) name() string { return c.label }

func (c *docblobContender) put(ctx context.Context, it *item, payload []byte) error {
	var r io.Reader = bytes.NewReader(payload)
	if c.stream {
		r = struct{ io.Reader }{r}
	}
	doc := &benchDoc{PK: c.pk, SK: it.sk, Title: "benchmark document",
		File: docblob.NewBlob(r, &docblob.BlobOptions{Name: "payload.bin"})}
	return c.store.Put(ctx, doc)
}

func (c *docblobContender) get(ctx context.Context, it *item) error {
	doc := &benchDoc{PK: c.pk, SK: it.sk}
	if err := c.store.Get(ctx, doc); err != nil {
		return err
	}
	if doc.File == nil {
		return fmt.Errorf("document %s has no attachment", it.sk)
	}
	it.blob, it.size = doc.File, doc.File.Size()
	return nil
}

func (c *docblobContender) open(ctx context.Context, it *item) (int64, error) {
	r, err := it.blob.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return drain(r, it.size)
}

func (c *docblobContender) del(ctx context.Context, it *item) error {
	return c.store.Delete(ctx, &benchDoc{PK: c.pk, SK: it.sk})
}

// writerOnly hides io.Discard's ReaderFrom, so that both contenders are
// drained through the same 32 KiB buffer.
type writerOnly struct{ io.Writer }

// drain reads r to EOF and checks that it held want bytes.
func drain(r io.Reader, want int64) (int64, error) {
	n, err := io.Copy(writerOnly{io.Discard}, r)
	if err == nil && n != want {
		err = fmt.Errorf("read %d bytes, want %d", n, want)
	}
	return n, err
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID returns a random 26-character id, like docblob's.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return idEncoding.EncodeToString(b[:])
}

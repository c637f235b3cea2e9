package docblob_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/memstore"
)

// TestSniffedContentType checks the media type a Put records when the
// caller gives none: the bytes' when they say more than
// application/octet-stream, else the name's extension from docblob's
// fixed table, in any case, and never from the machine's MIME tables
// (which on many Linux machines know .deb, and which AWS Lambda lacks).
func TestSniffedContentType(t *testing.T) {
	ctx := context.Background()
	store, err := docblob.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opaque := []byte{0, 1, 2, 3, 0xfe, 0xff}
	cases := []struct {
		name string
		data []byte
		file string
		want string
	}{
		{"BytesWinOverName", []byte("%PDF-1.7\n"), "notes.txt", "application/pdf"},
		{"TextBytes", []byte("hello"), "", "text/plain; charset=utf-8"},
		{"NoName", opaque, "", "application/octet-stream"},
		{"NoExtension", opaque, "README", "application/octet-stream"},
		{"Extension", opaque, "march.parquet", "application/vnd.apache.parquet"},
		{"ExtensionAnyCase", opaque, "Report.DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"LastExtension", opaque, "logs.tar.gz", "application/gzip"},
		{"UnknownExtension", opaque, "tool_1.0_amd64.deb", "application/octet-stream"},
		{"DirectoryDotIgnored", opaque, "v1.2/payload", "application/octet-stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := &Invoice{Customer: "acme", ID: "sniff-" + c.name,
				PDF: docblob.NewBlob(bytes.NewReader(c.data), &docblob.BlobOptions{Name: c.file})}
			if err := store.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
			got := &Invoice{Customer: "acme", ID: doc.ID}
			if err := store.Get(ctx, got); err != nil {
				t.Fatal(err)
			}
			if ct := got.PDF.ContentType(); ct != c.want {
				t.Errorf("recorded %q, want %q", ct, c.want)
			}
		})
	}
}

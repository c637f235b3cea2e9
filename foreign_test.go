package docblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

type foreignRecord struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	File *docblob.Blob `docstore:"file"`
}

// TestLyingSize reads attachments whose recorded size, written by another
// tool, is far from the payload's: reads fail with Corrupt, never panic or
// allocate what the item claims.
func TestLyingSize(t *testing.T) {
	ctx := context.Background()
	payload := []byte("hello")
	sum := sha256.Sum256(payload)
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"Huge", 1 << 62},
		{"TiB", 1 << 40},
		{"MaxInt64", 1<<63 - 1},
		{"Short", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drv := memstore.New(nil)
			s, err := docblob.NewStore(drv, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			key := s.Namespace() + "p/s/file/06h2j16bq7f4pvfrlfltihan7c"
			if _, err := drv.WriteBlob(ctx, key, bytes.NewReader(payload), &driver.WriteOptions{Size: -1}); err != nil {
				t.Fatal(err)
			}
			att := map[string]any{"docblob": int64(1), "key": key, "size": tc.size, "sha256": hex.EncodeToString(sum[:]), "content_type": "text/plain"}
			if _, err := drv.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p", Sort: "s"}, Revision: "r", Fields: map[string]any{"file": att}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
			got := &foreignRecord{PK: "p", SK: "s"}
			if err := s.Get(ctx, got); err != nil {
				t.Fatal(err)
			}
			if _, err := got.File.ReadAll(ctx); docblob.Code(err) != docblob.Corrupt {
				t.Errorf("ReadAll: %v, want code Corrupt", err)
			}
			if _, err := got.File.CopyTo(ctx, io.Discard); docblob.Code(err) != docblob.Corrupt {
				t.Errorf("CopyTo: %v, want code Corrupt", err)
			}
			r, err := got.File.NewRangeReader(ctx, 1, 1<<62)
			if err != nil {
				t.Fatalf("NewRangeReader: %v", err)
			}
			defer r.Close()
			if _, err := io.ReadAll(r); err == nil && tc.size > int64(len(payload)) {
				t.Error("a range past the payload's real end read without error")
			}
		})
	}
}

// badReader breaks the io.Reader contract after a few good reads.
type badReader struct {
	n     int // the count its bad Read returns, relative to len(p) if rel
	rel   bool
	reads int
}

func (b *badReader) Read(p []byte) (int, error) {
	b.reads++
	if b.reads < 3 {
		clear(p)
		return len(p), nil
	}
	if b.rel {
		return len(p) + b.n, nil
	}
	return b.n, nil
}

// TestBrokenReader: a payload reader that returns a count outside
// [0, len(p)] fails the Put with InvalidArgument naming the contract,
// and nothing is stored.
func TestBrokenReader(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		r    *badReader
	}{
		{"TooMany", &badReader{n: 1, rel: true}},
		{"Negative", &badReader{n: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drv := memstore.New(nil)
			s, err := docblob.NewStore(drv, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Put(ctx, &foreignRecord{PK: "p", SK: "s", File: docblob.NewBlob(tc.r, nil)})
			if docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), "io.Reader contract") {
				t.Fatalf("Put: %v, want InvalidArgument naming the io.Reader contract", err)
			}
			page, err := drv.ListBlobs(ctx, s.Namespace(), "")
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Blobs {
				if !strings.HasSuffix(b.Key, ".docblob-owner") {
					t.Errorf("payload %q left behind", b.Key)
				}
			}
		})
	}
}

// TestNotAnAttachment: a *Blob field whose stored value is not an
// attachment (another tool wrote a string there) fails Get with
// InvalidArgument instead of yielding an empty Blob.
func TestNotAnAttachment(t *testing.T) {
	ctx := context.Background()
	for _, v := range []any{"a string", int64(3), map[string]any{"plain": "map"}, []any{"list"}} {
		drv := memstore.New(nil)
		s, err := docblob.NewStore(drv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drv.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p", Sort: "s"}, Revision: "r", Fields: map[string]any{"file": v}}, driver.Condition{}); err != nil {
			t.Fatal(err)
		}
		got := &foreignRecord{PK: "p", SK: "s"}
		if err := s.Get(ctx, got); docblob.Code(err) != docblob.InvalidArgument {
			t.Errorf("Get of a *Blob field holding %T: %v (field %+v), want InvalidArgument", v, err, got.File)
		}
		s.Close()
	}
}

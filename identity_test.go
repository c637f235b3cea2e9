package docblob_test

import (
	"context"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/memstore"
)

// TestKeysThatPrintAlike: documents ("a/b", "c") and ("a", "b/c") are two
// documents, and a blob of one copied into the other is copied.
func TestKeysThatPrintAlike(t *testing.T) {
	ctx := context.Background()
	s, err := docblob.NewStore(memstore.New(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &foreignRecord{PK: "a/b", SK: "c", File: docblob.NewBlobBytes([]byte("payload of a/b c"), nil)}
	if err := s.Put(ctx, src); err != nil {
		t.Fatal(err)
	}
	got := &foreignRecord{PK: "a/b", SK: "c"}
	if err := s.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	dst := &foreignRecord{PK: "a", SK: "b/c", File: got.File}
	if err := s.Put(ctx, dst); err != nil {
		t.Fatalf("copying to a key that prints alike: %v", err)
	}
	if dst.File.Key() == got.File.Key() {
		t.Fatalf("the copy shares the payload key %q", got.File.Key())
	}
	if err := s.Delete(ctx, &foreignRecord{PK: "a/b", SK: "c"}); err != nil {
		t.Fatal(err)
	}
	after := &foreignRecord{PK: "a", SK: "b/c"}
	if err := s.Get(ctx, after); err != nil {
		t.Fatal(err)
	}
	if data, err := after.File.ReadAll(ctx); err != nil || string(data) != "payload of a/b c" {
		t.Fatalf("the copy after deleting the source: %q, %v", data, err)
	}
}

package memtest_test

// This file is the example of memtest in use: a small service of a user's,
// and the unit tests they would write for it, including its error handling.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/memtest"
)

// Receipt is the user's document type.
type Receipt struct {
	Shop  string        `docstore:"pk"`
	ID    string        `docstore:"sk"`
	Total int           `docstore:"total"`
	Scan  *docblob.Blob `docstore:"scan"`
}

// ReceiptService is the user's code under test.
type ReceiptService struct{ store *docblob.Store }

// ErrDuplicate is what the service returns for a receipt filed twice.
var ErrDuplicate = errors.New("receipt already filed")

// File stores a scanned receipt once.
func (s *ReceiptService) File(ctx context.Context, shop, id string, total int, scan []byte) error {
	r := &Receipt{Shop: shop, ID: id, Total: total,
		Scan: docblob.NewBlob(bytes.NewReader(scan), &docblob.BlobOptions{Name: id + ".jpg"})}
	err := s.store.Create(ctx, r)
	if errors.Is(err, docblob.AlreadyExists) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("filing receipt %s: %w", id, err)
	}
	return nil
}

func TestReceiptServiceFiles(t *testing.T) {
	store := memtest.New(t)
	svc := &ReceiptService{store: store}
	ctx := context.Background()

	if err := svc.File(ctx, "bakery", "r1", 450, []byte("jpeg bytes")); err != nil {
		t.Fatal(err)
	}
	got := &Receipt{Shop: "bakery", ID: "r1"}
	if err := store.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	data, err := got.Scan.ReadAll(ctx)
	if err != nil || string(data) != "jpeg bytes" || got.Scan.Name() != "r1.jpg" {
		t.Fatalf("stored scan: %q, %v", data, err)
	}
	if err := svc.File(ctx, "bakery", "r1", 450, []byte("again")); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("filing twice: %v, want ErrDuplicate", err)
	}
	memtest.AssertConsistent(t, store) // the duplicate left no payload behind
	if n := len(memtest.Payloads(t, store)); n != 1 {
		t.Fatalf("%d payloads stored, want 1", n)
	}
}

func TestReceiptServiceStoreDown(t *testing.T) {
	store := memtest.New(t)
	svc := &ReceiptService{store: store}
	memtest.FailNext(store, memtest.PutDocument, docblob.PermissionDenied)

	err := svc.File(context.Background(), "bakery", "r2", 100, []byte("scan"))
	if !errors.Is(err, docblob.PermissionDenied) {
		t.Fatalf("File: %v, want the store's PermissionDenied", err)
	}
	memtest.AssertEmpty(t, store) // the uploaded scan was cleaned up
}

func TestReceiptServiceConnectionLost(t *testing.T) {
	// A lost connection is an ambiguous failure: in production the write
	// may still land, so the scan is left for Sweep, and memtest shows
	// what Check would report.
	store := memtest.New(t)
	svc := &ReceiptService{store: store}
	memtest.FailNext(store, memtest.PutDocument, errors.New("connection reset by peer"))

	if err := svc.File(context.Background(), "bakery", "r3", 100, []byte("scan")); err == nil {
		t.Fatal("File succeeded despite the lost connection")
	}
	memtest.AssertNoBrokenReferences(t, store) // no document points nowhere
	if orphans := memtest.Orphans(t, store); len(orphans) != 1 {
		t.Fatalf("orphans %q, want the scan, left for Sweep", orphans)
	}
}

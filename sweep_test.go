package docblob_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/spy"
)

// agedDriver reports payloads as stored age earlier than they were, so
// tests can make payloads old without waiting.
type agedDriver struct {
	*spy.Driver
	age time.Duration
}

func (a *agedDriver) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	page, err := a.Driver.ListBlobs(ctx, prefix, token)
	if err == nil {
		for i := range page.Blobs {
			page.Blobs[i].ModTime = page.Blobs[i].ModTime.Add(-a.age)
		}
	}
	return page, err
}

// StatBlob reports the payload aged, as ListBlobs does.
func (a *agedDriver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	info, err := a.Driver.StatBlob(ctx, key)
	if err == nil {
		info.ModTime = info.ModTime.Add(-a.age)
	}
	return info, err
}

func newSweepStore(t *testing.T) (*docblob.Store, *agedDriver, *memstore.Driver) {
	t.Helper()
	mem := newMem(t)
	aged := &agedDriver{Driver: spy.New(mem)}
	s, err := docblob.NewStore(aged, &docblob.Options{OnCleanupError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, aged, mem
}

// replacePayload replaces the payload under key behind the store's back,
// through the driver.
func replacePayload(t *testing.T, d driver.Driver, key, data string) {
	t.Helper()
	ctx := context.Background()
	if err := d.DeleteBlob(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteBlob(ctx, key, strings.NewReader(data), &driver.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	s, aged, mem := newSweepStore(t)
	// Three documents with payloads, then an orphan from a failed clean-up.
	for _, id := range []string{"1", "2", "3"} {
		if err := s.Put(ctx, &Invoice{Customer: "c", ID: id, PDF: docblob.NewBlobBytes([]byte(id), nil)}); err != nil {
			t.Fatal(err)
		}
	}
	aged.FailNext(spy.DeleteBlob, 1, spy.Fault{Err: errors.New("boom")})
	if err := s.Put(ctx, &Invoice{Customer: "c", ID: "1", PDF: docblob.NewBlobBytes([]byte("new"), nil)}); err != nil {
		t.Fatal(err)
	}
	// An object that is not a docblob payload.
	if _, err := mem.WriteBlob(ctx, "someone-elses/file.txt", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}

	t.Run("YoungOrphanSpared", func(t *testing.T) {
		res, err := s.Sweep(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted != 0 || res.Young != 4 || res.Foreign != 1 {
			t.Errorf("result %+v", res)
		}
	})
	aged.age = 25 * time.Hour
	t.Run("DryRun", func(t *testing.T) {
		res, err := s.Sweep(ctx, &docblob.SweepOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Orphans != 1 || res.Deleted != 0 || res.Referenced != 3 {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("Deletes", func(t *testing.T) {
		res, err := s.Sweep(ctx, &docblob.SweepOptions{BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Orphans != 1 || res.Deleted != 1 || res.Referenced != 3 || res.Foreign != 1 || res.Payloads != 5 {
			t.Errorf("result %+v", res)
		}
		for f, err := range s.Check(ctx, nil) {
			t.Errorf("after the sweep: %v %v", f, err)
		}
	})
	t.Run("GraceTooShort", func(t *testing.T) {
		_, err := s.Sweep(ctx, &docblob.SweepOptions{GracePeriod: time.Minute})
		if docblob.Code(err) != docblob.InvalidArgument {
			t.Errorf("Sweep with a one-minute grace: %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	s, aged, mem := newSweepStore(t)
	for _, id := range []string{"ok", "dangling", "corrupt", "resized"} {
		if err := s.Put(ctx, &Invoice{Customer: "c", ID: id, PDF: docblob.NewBlobBytes([]byte("payload "+id), nil)}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) *docblob.Blob {
		inv := &Invoice{Customer: "c", ID: id}
		if err := s.Get(ctx, inv); err != nil {
			t.Fatal(err)
		}
		return inv.PDF
	}
	mem.DeleteBlob(ctx, get("dangling").Key())
	replacePayload(t, mem, get("corrupt").Key(), "PAYLOAD corrupt")
	replacePayload(t, mem, get("resized").Key(), "short")
	aged.FailNext(spy.DeleteBlob, 1, spy.Fault{Err: errors.New("boom")})
	s.Put(ctx, &Invoice{Customer: "c", ID: "ok", PDF: docblob.NewBlobBytes([]byte("v2"), nil)})

	count := func(opts *docblob.CheckOptions) map[docblob.FindingKind]int {
		got := map[docblob.FindingKind]int{}
		for f, err := range s.Check(ctx, opts) {
			if err != nil {
				t.Fatal(err)
			}
			got[f.Kind]++
		}
		return got
	}
	for _, batch := range []int{1, 100} {
		got := count(&docblob.CheckOptions{BatchSize: batch})
		want := map[docblob.FindingKind]int{docblob.DanglingReference: 1, docblob.SizeMismatch: 1, docblob.OrphanPayload: 1}
		if len(got) != len(want) || got[docblob.DanglingReference] != 1 || got[docblob.SizeMismatch] != 1 || got[docblob.OrphanPayload] != 1 {
			t.Errorf("batch %d: findings %v, want %v", batch, got, want)
		}
	}
	got := count(&docblob.CheckOptions{VerifyChecksums: true})
	if got[docblob.ChecksumMismatch] != 1 {
		t.Errorf("with checksums: %v", got)
	}
	// Stopping early is allowed.
	for range s.Check(ctx, nil) {
		break
	}
}

// TestSweepHashedKeys checks the fallback for payloads whose keys hold a
// hashed key part (a long partition or sort key), which cannot name their
// document: they are checked against a scan of the documents, and only
// the unreferenced ones are deleted, for every BatchSize.
func TestSweepHashedKeys(t *testing.T) {
	long := strings.Repeat("long/part ", 20)
	for _, tc := range []struct {
		name      string
		customer  string
		id        string
		batchSize int
	}{
		{"LongPartition/batch=1", long, "1", 1},
		{"LongPartition/batch=100", long, "1", 100},
		{"LongSort/batch=1", "c", long, 1},
		{"LongSort/batch=100", "c", long, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, aged, _ := newSweepStore(t)
			for _, id := range []string{"a", "b"} { // plain keys too
				if err := s.Put(ctx, &Invoice{Customer: "c", ID: id, PDF: docblob.NewBlobBytes([]byte(id), nil)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Put(ctx, &Invoice{Customer: tc.customer, ID: tc.id, PDF: docblob.NewBlobBytes([]byte("old"), nil)}); err != nil {
				t.Fatal(err)
			}
			aged.FailNext(spy.DeleteBlob, 1, spy.Fault{Err: errors.New("boom")})
			if err := s.Put(ctx, &Invoice{Customer: tc.customer, ID: tc.id, PDF: docblob.NewBlobBytes([]byte("new"), nil)}); err != nil {
				t.Fatal(err)
			}
			aged.age = 25 * time.Hour
			res, err := s.Sweep(ctx, &docblob.SweepOptions{BatchSize: tc.batchSize})
			if err != nil {
				t.Fatal(err)
			}
			if res.Orphans != 1 || res.Deleted != 1 || res.Referenced != 3 {
				t.Errorf("result %+v, want the one orphan deleted and 3 kept", res)
			}
			for f, err := range s.Check(ctx, &docblob.CheckOptions{BatchSize: tc.batchSize}) {
				t.Errorf("after the sweep: %v %v", f, err)
			}
		})
	}
}

package docblob_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// TestSweepResume: a sweep interrupted after its first page of payloads
// resumes from the token its Progress callback reported, without listing
// that page again, and together the two runs delete every orphan.
func TestSweepResume(t *testing.T) {
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	drv := newMem(t)
	s, err := docblob.NewStore(drv, &docblob.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 2500 // three listing pages of the memory driver
	for i := range n {
		doc := &receipt{User: fmt.Sprintf("u%02d", i%40), ID: fmt.Sprint(i), Scan: docblob.NewBlobBytes([]byte("payload"), nil)}
		if err := s.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // deleted behind the store's back: its payload is an orphan
			if _, err := drv.DeleteDocument(ctx, driver.Key{Partition: doc.User, Sort: doc.ID}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now.Add(int64(48 * time.Hour))

	stop := errors.New("interrupted")
	sctx, cancel := context.WithCancelCause(ctx)
	var resume string
	first, err := s.Sweep(sctx, &docblob.SweepOptions{Progress: func(r docblob.SweepResult) {
		if r.Resume != "" && resume == "" {
			resume = r.Resume
			cancel(stop)
		}
	}})
	if err == nil || resume == "" {
		t.Fatalf("interrupted sweep: %+v, %v, resume token %q", first, err, resume)
	}
	second, err := s.Sweep(ctx, &docblob.SweepOptions{Resume: resume, Progress: func(docblob.SweepResult) {}})
	if err != nil {
		t.Fatal(err)
	}
	if second.Payloads >= n {
		t.Errorf("the resumed sweep listed %d payloads, want fewer than all %d", second.Payloads, n)
	}
	for f, err := range s.Check(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("after the resumed sweep: %v", f)
	}
	if _, err := s.Sweep(ctx, &docblob.SweepOptions{Resume: "sw1.garbage"}); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("a malformed resume token: %v", err)
	}
}

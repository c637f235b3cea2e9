package gocloud_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"gocloud.dev/blob/memblob"
)

// A Put that loses every race to writers in another process fails with
// Unavailable, marked as not applied, and leaves no payload behind, even
// where failed writes might otherwise be applied later: two stores share
// one collection, each allowed a single round, and the driver claims no
// SettledOnReturn.
func TestLostRacesLeaveNoPayloads(t *testing.T) {
	ctx := context.Background()
	coll, err := gocloud.MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	stores := make([]*docblob.Store, 2)
	for i := range stores {
		d, err := gocloud.New(bucket, coll, &gocloud.Options{Retries: gocloud.RetriesNone, MaxWriteRounds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if stores[i], err = docblob.NewStore(d, nil); err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	type record struct {
		PK    string `docstore:"pk"`
		SK    string `docstore:"sk"`
		Title string
		File  *docblob.Blob
	}
	var mu sync.Mutex
	var lost, won int
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for r := range 50 {
				title := fmt.Sprintf("writer %d round %d", w, r)
				err := stores[w%2].Put(ctx, &record{PK: "p", SK: "s", Title: title, File: docblob.NewBlobBytes([]byte(title), nil)})
				mu.Lock()
				switch {
				case err == nil:
					won++
				case docblob.Code(err) == docblob.Unavailable && errors.Is(err, driver.ErrNotApplied):
					lost++
				default:
					t.Errorf("%s: %v, want success or Unavailable marked not applied", title, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d writes won, %d lost every round", won, lost)
	if lost == 0 {
		t.Skip("no write lost its race, so there was nothing to clean up (the machine ran the writers one at a time)")
	}
	res, err := stores[0].Sweep(ctx, &docblob.SweepOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Payloads - res.Foreign; n != 1 {
		t.Errorf("%d payloads stored after the writes, want 1, the stored document's", n)
	}
}

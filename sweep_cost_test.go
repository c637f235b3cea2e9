package docblob_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// costDriver ages payloads as agedDriver does and counts the documents
// that queries return, so that every document read is counted: single
// reads (GetDocument), batched ones (keys given to GetDocuments) and
// scanned ones.
type costDriver struct {
	agedDriver
	scanned atomic.Int64
	found   atomic.Int64
}

func (c *costDriver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	page, err := c.agedDriver.QueryDocuments(ctx, q)
	if err == nil {
		c.scanned.Add(int64(len(page.Documents)))
	}
	return page, err
}

// GetDocuments counts the documents found.
func (c *costDriver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	docs, errs := c.agedDriver.GetDocuments(ctx, keys)
	for _, d := range docs {
		if d != nil {
			c.found.Add(1)
		}
	}
	return docs, errs
}

// reads returns the number of documents read: scanned, or found by
// GetDocument or GetDocuments.
func (c *costDriver) reads() int {
	return int(c.scanned.Load()+c.found.Load()) + c.Counts()[spy.GetDocument]
}

// lookups returns the number of keys looked up (found or not).
func (c *costDriver) lookups() int { return c.Keys(spy.GetDocuments) + c.Counts()[spy.GetDocument] }

func (c *costDriver) reset() { c.Reset(); c.scanned.Store(0); c.found.Store(0) }

// memListPage is memstore's ListBlobs page size.
const memListPage = 1000

// TestSweepCheckCostIsLinear checks that Sweep and Check read each
// document at most twice and list each payload once, whatever BatchSize:
// a store of n documents in n/40 partitions, each with one payload, a
// tenth of the documents deleted behind the store's back (their payloads
// orphans), swept and checked with BatchSize 100, 1,000 and 100,000.
func TestSweepCheckCostIsLinear(t *testing.T) {
	sizes := []int{4_000, 40_000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		t.Run(fmt.Sprintf("docs=%d", n), func(t *testing.T) {
			ctx := context.Background()
			mem := newMem(t)
			cd := &costDriver{agedDriver: agedDriver{Driver: spy.New(mem)}}
			s, err := docblob.NewStore(cd, &docblob.Options{OnCleanupError: func(error) {}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			partitions := n / 40
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 16 {
						doc := map[string]any{"pk": fmt.Sprintf("p%04d", i%partitions), "sk": fmt.Sprintf("doc %06d", i),
							"file": docblob.NewBlobBytes([]byte("payload"), nil)}
						if err := s.Put(ctx, doc); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i := 0; i < n; i += 10 { // expired behind the store's back
				if _, err := mem.DeleteDocument(ctx, driver.Key{Partition: fmt.Sprintf("p%04d", i%partitions), Sort: fmt.Sprintf("doc %06d", i)}, driver.Condition{}); err != nil {
					t.Fatal(err)
				}
			}
			orphans := n / 10
			docs := n - orphans
			maxPages := n/memListPage + partitions + 1
			for _, bs := range []int{100, 1_000, 100_000} {
				t.Run(fmt.Sprintf("batch=%d", bs), func(t *testing.T) {
					cd.age = 0
					cd.reset()
					var findings int
					for f, err := range s.Check(ctx, &docblob.CheckOptions{BatchSize: bs}) {
						if err != nil {
							t.Fatal(err)
						}
						if f.Kind != docblob.OrphanPayload {
							t.Fatalf("Check: %v", f)
						}
						findings++
					}
					reads, pages, lookups := cd.reads(), cd.Counts()[spy.ListBlobs], cd.lookups()
					t.Logf("Check: %d documents, %d payloads: %d documents read (%.2f per document), %d keys looked up, %d ListBlobs pages, %d GetDocuments calls, %d StatBlob calls",
						docs, n, reads, float64(reads)/float64(docs), lookups, pages, cd.Counts()[spy.GetDocuments], cd.Counts()[spy.StatBlob])
					if lookups > n {
						t.Errorf("Check looked up %d keys, over one per payload (%d)", lookups, n)
					}
					if findings != orphans {
						t.Errorf("Check found %d orphans, want %d", findings, orphans)
					}
					if reads > 2*docs {
						t.Errorf("Check read %d documents, over twice the %d stored", reads, docs)
					}
					if pages > maxPages {
						t.Errorf("Check listed %d pages, over %d", pages, maxPages)
					}

					cd.age = 48 * time.Hour
					cd.reset()
					res, err := s.Sweep(ctx, &docblob.SweepOptions{BatchSize: bs, DryRun: true})
					if err != nil {
						t.Fatal(err)
					}
					reads, pages, lookups = cd.reads(), cd.Counts()[spy.ListBlobs], cd.lookups()
					t.Logf("Sweep: %d documents read (%.2f per document), %d keys looked up, %d ListBlobs pages, %d GetDocuments calls; result %+v",
						reads, float64(reads)/float64(docs), lookups, pages, cd.Counts()[spy.GetDocuments], *res)
					if lookups > n {
						t.Errorf("Sweep looked up %d keys, over one per payload (%d)", lookups, n)
					}
					if res.Orphans != orphans || res.Referenced != docs {
						t.Errorf("Sweep: %+v, want %d orphans and %d referenced", *res, orphans, docs)
					}
					if reads > 2*docs || res.Documents != lookups {
						t.Errorf("Sweep read %d documents (reporting %d), over twice the %d stored", reads, res.Documents, docs)
					}
					if pages > maxPages {
						t.Errorf("Sweep listed %d pages, over %d", pages, maxPages)
					}
				})
			}
		})
	}
}

package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// shiftedDriver makes payloads look older than they are by shift, so that
// a sweep's grace period ends soon after a payload is stored (or has ended
// already, for a sweep after the writers stopped).
type shiftedDriver struct {
	*spy.Driver
	shift time.Duration
}

func (s shiftedDriver) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	page, err := s.Driver.ListBlobs(ctx, prefix, token)
	if err == nil {
		for i := range page.Blobs {
			page.Blobs[i].ModTime = page.Blobs[i].ModTime.Add(-s.shift)
		}
	}
	return page, err
}

// StatBlob shifts the payload's ModTime as ListBlobs does.
func (s shiftedDriver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	info, err := s.Driver.StatBlob(ctx, key)
	if err == nil {
		info.ModTime = info.ModTime.Add(-s.shift)
	}
	return info, err
}

// testHammer runs 32 goroutines of mixed puts, replaces, deletes, reads and
// sweeps on a few overlapping documents, with and without revisions. The
// sweeps run with a grace period that, seen from the store, ends three
// seconds after a payload is stored, while writers must commit within two
// (CommitDeadline and WriteTimeout of one second each): this tests the
// sweep's safety argument under real concurrency. A harness that
// implements WriteDeadliner scales the three: writers get its deadline
// twice, sweeps a margin of three times it. Afterwards the storage must
// be consistent and every document's payloads must match their checksums.
func testHammer(t *testing.T, newHarness HarnessMaker) {
	const workers = 32
	opsPerWorker := 25
	if testing.Short() {
		opsPerWorker = 10
	}
	e := newEnv(t, newHarness, nil)
	drv, err := e.h.MakeDriver(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Second
	if wd, ok := e.h.(WriteDeadliner); ok && wd.WriteDeadline() > deadline {
		deadline = wd.WriteDeadline()
		t.Logf("the harness gives each write %v (WriteDeadliner)", deadline)
	}
	const grace = time.Hour
	store, err := docblob.NewStore(shiftedDriver{spy.New(drv), grace - 3*deadline}, &docblob.Options{
		CommitDeadline: deadline,
		WriteTimeout:   deadline,
		OnCleanupError: func(error) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	keys := []string{"k0", "k1", "k2", "k3"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(what string) {
		mu.Lock()
		counts[what]++
		mu.Unlock()
	}
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x4a33e7))
			for i := range opsPerWorker {
				k := keys[rng.IntN(len(keys))]
				ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
				what, err := hammerOp(ctx, store, rng, k, fmt.Sprintf("w%d-%d", w, i))
				cancel()
				switch {
				case err == nil:
					count(what)
				case docblob.Code(err) == docblob.FailedPrecondition || docblob.Code(err) == docblob.AlreadyExists || docblob.Code(err) == docblob.NotFound:
					count(what + " (lost race)")
				case what == "commit too slow" || docblob.Code(err) == docblob.Unavailable:
					count("unavailable")
				default:
					t.Errorf("worker %d %s on %s: %v", w, what, k, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("operations: %v", counts)

	// Orphans of failed clean-ups are the sweep's.
	wantConsistent(e.ctx, t, store, "after the hammer", true)
	for _, k := range keys {
		doc := &record{PK: "hammer", SK: k}
		err := store.Get(e.ctx, doc)
		if docblob.Code(err) == docblob.NotFound {
			continue
		}
		must(t, err, "Get")
		if doc.File != nil {
			if got := readAll(e, doc.File); string(got) != doc.Title {
				t.Errorf("document %s: payload %q, title %q (written together)", k, got, doc.Title)
			}
		}
	}
	// A last sweep with everything old removes what failed clean-ups left.
	time.Sleep(3 * deadline)
	if _, err := store.Sweep(e.ctx, &docblob.SweepOptions{GracePeriod: grace}); err != nil {
		t.Fatal(err)
	}
	wantConsistent(e.ctx, t, store, "after the last sweep", false)
}

// hammerOp makes one random operation on document k.
func hammerOp(ctx context.Context, store *docblob.Store, rng *rand.Rand, k, tag string) (string, error) {
	title := "payload " + tag + " " + string(make([]byte, rng.IntN(3000)))
	switch rng.IntN(7) {
	case 0, 1:
		return "put", store.Put(ctx, &record{PK: "hammer", SK: k, Title: title, File: docblob.NewBlobBytes([]byte(title), nil)})
	case 2:
		doc := &record{PK: "hammer", SK: k}
		if err := store.Get(ctx, doc); err != nil {
			return "get+put", err
		}
		doc.Title, doc.File = title, docblob.NewBlobBytes([]byte(title), nil)
		return "put with revision", store.Put(ctx, doc)
	case 3:
		return "create", store.Create(ctx, &record{PK: "hammer", SK: k, Title: title, File: docblob.NewBlobBytes([]byte(title), nil)})
	case 4:
		if rng.IntN(2) == 0 {
			return "delete", store.Delete(ctx, &record{PK: "hammer", SK: k})
		}
		doc := &record{PK: "hammer", SK: k}
		if err := store.Get(ctx, doc); err != nil {
			return "get+delete", err
		}
		return "delete with revision", store.Delete(ctx, doc)
	case 5:
		doc := &record{PK: "hammer", SK: k}
		if err := store.Get(ctx, doc); err != nil {
			return "read", err
		}
		if doc.File == nil {
			return "read", nil
		}
		data, err := doc.File.ReadAll(ctx)
		if docblob.Code(err) == docblob.NotFound {
			return "read", nil // replaced since the Get: allowed
		}
		if err == nil && string(data) != doc.Title {
			return "read", fmt.Errorf("payload %.20q does not match title %.20q", data, doc.Title)
		}
		return "read", err
	default:
		_, err := store.Sweep(ctx, &docblob.SweepOptions{GracePeriod: time.Hour})
		return "sweep", err
	}
}

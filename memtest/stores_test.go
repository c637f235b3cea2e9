package memtest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/filestore"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/memtest"
)

// TestHelpersOnOtherStores runs the inspection helpers and assertions on
// stores that memtest did not make: they pass on consistent storage and
// fail on each problem that the store's Check reports, on a memory store
// and on a directory (drivers/filestore).
func TestHelpersOnOtherStores(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		store, err := docblob.Open(context.Background(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		exerciseHelpers(t, store)
	})
	t.Run("filestore", func(t *testing.T) {
		drv, err := filestore.New(&filestore.Options{Dir: t.TempDir(), NoSync: true})
		if err != nil {
			t.Fatalf("filestore: %v", err)
		}
		store, err := docblob.NewStore(drv, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		exerciseHelpers(t, store)
	})
}

func exerciseHelpers(t *testing.T, store *docblob.Store) {
	ctx := context.Background()
	memtest.AssertEmpty(t, store)
	memtest.AssertConsistent(t, store)
	for _, id := range []string{"1", "2"} {
		if err := store.Put(ctx, &Receipt{Shop: "s", ID: id, Scan: docblob.NewBlobBytes([]byte("scan "+id), nil)}); err != nil {
			t.Fatal(err)
		}
	}
	memtest.AssertConsistent(t, store)
	if docs := memtest.Documents(t, store); len(docs) != 2 || docs[0].Key.Sort != "1" || docs[1].Key.Sort != "2" {
		t.Fatalf("Documents: %v", docs)
	}
	payloads := memtest.Payloads(t, store)
	if len(payloads) != 2 {
		t.Fatalf("Payloads: %v", payloads)
	}
	if o := memtest.Orphans(t, store); len(o) != 0 {
		t.Fatalf("Orphans: %q", o)
	}

	// Break the storage behind the store's back: an orphan (document 1
	// deleted without its payload) and a dangling reference (document 2's
	// payload deleted).
	var d driver.Driver
	if !store.As(&d) {
		t.Fatal("the store does not expose its driver")
	}
	got1 := &Receipt{Shop: "s", ID: "1"}
	got2 := &Receipt{Shop: "s", ID: "2"}
	if err := store.Get(ctx, got1); err != nil {
		t.Fatal(err)
	}
	if err := store.Get(ctx, got2); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeleteDocument(ctx, driver.Key{Partition: "s", Sort: "1"}, driver.Condition{Kind: driver.Always}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteBlob(ctx, got2.Scan.Key()); err != nil {
		t.Fatal(err)
	}
	if o := memtest.Orphans(t, store); len(o) != 1 || o[0] != got1.Scan.Key() {
		t.Errorf("Orphans: %q, want %q", o, got1.Scan.Key())
	}
	// The assertions need only Errorf and FailNow (memtest.TestingT), so
	// a recorder stands in for the test.
	r := &recorder{}
	memtest.AssertConsistent(r, store)
	if len(r.errors) != 2 || !strings.Contains(r.errors[0], docblob.DanglingReference.String()) || !strings.Contains(r.errors[1], docblob.OrphanPayload.String()) {
		t.Errorf("AssertConsistent reported %q, want the dangling reference and the orphan", r.errors)
	}
	r = &recorder{}
	memtest.AssertNoBrokenReferences(r, store)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], docblob.DanglingReference.String()) {
		t.Errorf("AssertNoBrokenReferences reported %q, want the dangling reference", r.errors)
	}
	r = &recorder{}
	memtest.AssertEmpty(r, store)
	if len(r.errors) != 2 {
		t.Errorf("AssertEmpty reported %q, want a document and a payload", r.errors)
	}

	// What needs memtest's own stack fails the test.
	for name, fn := range map[string]func(t memtest.TestingT){
		"FaultsOf": func(t memtest.TestingT) { memtest.FaultsOf(t, store) },
		"ClockOf":  func(t memtest.TestingT) { memtest.ClockOf(t, store) },
		"Server":   func(t memtest.TestingT) { memtest.Server(t, store) },
	} {
		if msg := fatalOf(func() { fn(&fakeTB{TB: t}) }); !strings.Contains(msg, "memtest.New") {
			t.Errorf("%s on another store: Fatalf(%q), want one naming memtest.New", name, msg)
		}
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "memtest.New") {
				t.Errorf("FailNext on another store: panic %v", r)
			}
		}()
		memtest.FailNext(store, memtest.PutDocument, docblob.Unavailable)
	}()
}

// recorder is a memtest.TestingT of another test framework: it records
// failures, and its FailNow stops the test as fakeTB's does.
type recorder struct {
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) FailNow() { panic(fatal("FailNow after " + strings.Join(r.errors, "; "))) }

func TestConfigClock(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := memtest.NewClock(start)
	store := memtest.NewWithConfig(t, &memtest.Config{Clock: clock})
	if memtest.ClockOf(t, store) != clock {
		t.Fatal("ClockOf does not return Config.Clock")
	}
	r := &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("scan"), nil)}
	if err := store.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !r.Scan.Created().Equal(start) {
		t.Errorf("the blob was created at %v, want the clock's %v", r.Scan.Created(), start)
	}
	// The driver dates payloads with the same clock: a day later they are
	// old enough for Sweep.
	memtest.FailNext(store, memtest.PutDocument, docblob.Unavailable)
	if err := store.Put(ctx, &Receipt{Shop: "s", ID: "2", Scan: docblob.NewBlobBytes([]byte("lost"), nil)}); err == nil {
		t.Fatal("Put succeeded despite the fault")
	}
	if n := len(memtest.Orphans(t, store)); n != 1 {
		t.Fatalf("%d orphans, want 1", n)
	}
	clock.Set(start.Add(24*time.Hour + time.Second))
	res, err := store.Sweep(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || res.Referenced != 1 {
		t.Errorf("sweep: %+v", res)
	}
	memtest.AssertConsistent(t, store)
}

func TestConfigNowRefused(t *testing.T) {
	for _, cfg := range []*memtest.Config{
		{Store: docblob.Options{Now: time.Now}},
		{Memory: memstore.Options{Now: time.Now}},
	} {
		if msg := fatalOf(func() { memtest.NewWithConfig(&fakeTB{TB: t}, cfg) }); !strings.Contains(msg, "Config.Clock") {
			t.Errorf("Fatalf(%q), want one naming Config.Clock", msg)
		}
	}
}

func TestClockConcurrent(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	c := memtest.NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(start.Add(800 * time.Second)) {
		t.Errorf("Now = %v, want %v", got, start.Add(800*time.Second))
	}
	if got := c.Advance(-time.Hour); !got.Equal(start.Add(800*time.Second - time.Hour)) {
		t.Errorf("Advance(-1h) = %v", got)
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Errorf("after Set, Now = %v", c.Now())
	}
}

func TestNewClockStartsNow(t *testing.T) {
	before := time.Now()
	store := memtest.New(t)
	now := memtest.ClockOf(t, store).Now()
	if now.Before(before.Add(-time.Second)) || now.After(time.Now()) {
		t.Errorf("the clock starts at %v, want about %v", now, before)
	}
	time.Sleep(time.Millisecond)
	if !memtest.ClockOf(t, store).Now().Equal(now) {
		t.Error("the clock moved by itself")
	}
}

package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/docblob/docblob/internal/spy"
)

// OwnershipDocsEnv names the environment variable that sets how many
// documents each store of Ownership/SharedBlobStorage writes (default 30).
const OwnershipDocsEnv = "DOCBLOB_OWNERSHIP_DOCS"

func ownershipDocs(t *testing.T) int {
	if v := os.Getenv(OwnershipDocsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q is not a positive count", OwnershipDocsEnv, v)
		}
		return n
	}
	return 30
}

// testOwnership checks the ownership and trust rules: stores sharing blob
// storage never touch each other's payloads, a namespace owned by another
// collection is refused, attachment-shaped data never acts as a
// reference, a reader-backed Blob cannot fill two fields, direct uploads
// are create-only and bounded, and signed URLs never serve active content
// inline.
func testOwnership(t *testing.T, newHarness HarnessMaker) {
	t.Run("SharedBlobStorage", func(t *testing.T) { testSharedBlobStorage(t, newHarness) })
	t.Run("MarkerConflict", func(t *testing.T) { testMarkerConflict(t, newHarness) })
	t.Run("ForgedReference", func(t *testing.T) { testForgedReference(t, newHarness) })
	t.Run("SameBlobTwoFields", func(t *testing.T) { testSameBlobTwoFields(t, newHarness) })
	t.Run("Uploads", func(t *testing.T) { testOwnershipUploads(t, newHarness) })
	t.Run("Serving", func(t *testing.T) { testServing(t, newHarness) })
}

// pkRecord is a document of a collection keyed by a partition key only.
type pkRecord struct {
	PK   string        `docstore:"pk"`
	File *docblob.Blob `docstore:"file"`
}

// collectionDriver makes a driver of collection c, closed when the test
// ends unless a store takes it over.
func (e *env) collectionDriver(c Collection) driver.Driver {
	e.t.Helper()
	d, err := e.h.MakeCollectionDriver(e.ctx, c)
	if err != nil {
		e.t.Fatalf("making a driver of collection %q: %v", c.Name, err)
	}
	return d
}

// recordingDriver makes payloads look old enough for any sweep (as
// shiftedDriver does) and records the key of every DeleteBlob call, faulted
// or not.
type recordingDriver struct {
	shiftedDriver
	mu      sync.Mutex
	deletes []string
}

func (r *recordingDriver) DeleteBlob(ctx context.Context, key string) error {
	r.mu.Lock()
	r.deletes = append(r.deletes, key)
	r.mu.Unlock()
	return r.shiftedDriver.DeleteBlob(ctx, key)
}

func (r *recordingDriver) DeleteBlobs(ctx context.Context, keys []string) []error {
	r.mu.Lock()
	r.deletes = append(r.deletes, keys...)
	r.mu.Unlock()
	return r.shiftedDriver.DeleteBlobs(ctx, keys)
}

func (r *recordingDriver) deleted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deletes)
}

// sharedStore is one of the stores of SharedBlobStorage.
type sharedStore struct {
	name     string
	coll     *Collection // nil for the harness's default collection
	prefix   string
	store    *docblob.Store
	raw      driver.Driver
	keys     []driver.Key
	data     map[driver.Key][]byte
	orphans  map[string]bool // payload keys whose document was removed behind the store's back
	payloads map[string]bool // every payload key the store wrote
}

// testSharedBlobStorage runs five stores over one blob storage: the
// harness's default collection without prefix, another collection keyed by
// partition only, two more collections under the nested prefixes "x/"
// and "x/y/", and one more with the same prefix, key schema and document
// keys as the first. Each writes documents with payloads and gets orphans (its
// documents removed behind its back). Sweeping each store in turn, with
// injected DeleteBlob failures for the first, deletes exactly its own
// orphans and asks to delete nothing else; Check on each reports exactly
// its own orphans; every other document reads back intact.
func testSharedBlobStorage(t *testing.T, newHarness HarnessMaker) {
	n := ownershipDocs(t)
	e := newEnv(t, newHarness, nil)
	stores := []*sharedStore{
		{name: "A", store: e.store, raw: e.rawDriver()},
		{name: "B", coll: &Collection{Name: "other", NoSortKey: true}},
		{name: "C", coll: &Collection{Name: "third"}, prefix: "x/"},
		{name: "D", coll: &Collection{Name: "fourth"}, prefix: "x/y/"},
		// E has A's prefix, key schema and document keys: only the
		// collection tells their payloads apart.
		{name: "E", coll: &Collection{Name: "fifth"}},
	}
	for _, s := range stores {
		if s.coll == nil {
			continue
		}
		st, err := docblob.NewStore(e.collectionDriver(*s.coll), &docblob.Options{BlobPrefix: s.prefix})
		must(t, err, "NewStore "+s.name)
		s.store = st
		t.Cleanup(func() { st.Close() })
		s.raw = e.collectionDriver(*s.coll)
		t.Cleanup(func() { s.raw.Close() })
	}
	for i, s := range stores {
		for _, o := range stores[:i] {
			if ns, ons := s.store.Namespace(), o.store.Namespace(); strings.HasPrefix(ns, ons) || strings.HasPrefix(ons, ns) {
				t.Errorf("namespaces %q (%s) and %q (%s) nest", ns, s.name, ons, o.name)
			}
		}
	}
	// When the test ends, remove the other collections' documents and
	// payloads, so that the storage check sees the default collection
	// only.
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		for _, s := range stores[1:] {
			for i, k := range s.keys {
				if i%4 == 0 {
					continue // orphaned
				}
				if err := s.store.Delete(e.ctx, s.doc(k, nil)); err != nil && docblob.Code(err) != docblob.NotFound {
					t.Errorf("cleaning up %s: %v", s.name, err)
				}
			}
			s.sweep(t, e, false)
		}
	})

	// Write n documents with a payload in each store, concurrently.
	for si, s := range stores {
		s.data = map[driver.Key][]byte{}
		s.orphans = map[string]bool{}
		s.payloads = map[string]bool{}
		for i := range n {
			k := driver.Key{Partition: "own", Sort: fmt.Sprintf("%05d", i)}
			if s.coll != nil && s.coll.NoSortKey {
				k = driver.Key{Partition: fmt.Sprintf("own-%05d", i)}
			}
			s.keys = append(s.keys, k)
			s.data[k] = patternBytes(uint64(si*1_000_000+i), int64(100+i%200))
		}
	}
	var mu sync.Mutex
	var tasks []func() error
	for _, s := range stores {
		for _, k := range s.keys {
			tasks = append(tasks, func() error {
				doc := s.doc(k, docblob.NewBlobBytes(s.data[k], nil))
				if err := s.store.Put(e.ctx, doc); err != nil {
					return fmt.Errorf("%s: Put %v: %w", s.name, k, err)
				}
				key := s.blobOf(doc).Key()
				if !strings.HasPrefix(key, s.store.Namespace()) {
					return fmt.Errorf("%s: payload key %q outside the store's namespace %q", s.name, key, s.store.Namespace())
				}
				mu.Lock()
				s.payloads[key] = true
				mu.Unlock()
				return nil
			})
		}
	}
	must(t, parallel(tasks), "writing the documents")
	// Orphan every fourth payload: remove its document behind the store's
	// back.
	for _, s := range stores {
		for i, k := range s.keys {
			if i%4 != 0 {
				continue
			}
			prev, err := s.raw.DeleteDocument(e.ctx, k, driver.Condition{})
			must(t, err, s.name+": raw DeleteDocument")
			if prev == nil {
				t.Fatalf("%s: document %v was not stored", s.name, k)
			}
			for _, key := range attach.Keys(prev.Fields) {
				s.orphans[key] = true
			}
		}
		if want := (n + 3) / 4; len(s.orphans) != want {
			t.Fatalf("%s: %d orphans made, want %d", s.name, len(s.orphans), want)
		}
	}

	// Check on each store reports exactly its own orphans.
	for _, s := range stores {
		s.wantCheck(t, e, s.orphans)
	}
	// Sweep each store in turn: A with injected DeleteBlob failures until
	// it has deleted all its orphans, then the others.
	for i, s := range stores {
		before := e.objects()
		deleted := s.sweep(t, e, i == 0)
		after := e.objects()
		var gone []string
		for key := range before {
			if _, ok := after[key]; !ok {
				gone = append(gone, key)
			}
		}
		slices.Sort(gone)
		if want := sortedKeys(s.orphans); !slices.Equal(gone, want) {
			t.Errorf("sweeping %s removed %d objects, want its %d orphans exactly:\n removed %s\n want    %s", s.name, len(gone), len(want), abbrev(gone), abbrev(want))
		}
		var foreign []string
		for _, key := range deleted {
			if !s.orphans[key] {
				foreign = append(foreign, key)
			}
		}
		if len(foreign) > 0 {
			t.Errorf("sweeping %s asked to delete %d payloads that are not its orphans, such as %q", s.name, len(foreign), foreign[:min(len(foreign), 3)])
		}
		// Every remaining document of every store reads back intact, and
		// the swept store's Check reports nothing; the others still report
		// their own orphans.
		for j, o := range stores {
			o.wantIntact(t, e)
			if j <= i {
				o.wantCheck(t, e, nil)
			} else {
				o.wantCheck(t, e, o.orphans)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// abbrev formats keys, at most 5 of them.
func abbrev(keys []string) string {
	if len(keys) <= 5 {
		return fmt.Sprintf("%q", keys)
	}
	return fmt.Sprintf("%q and %d more", keys[:5], len(keys)-5)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// doc returns a document of the store with key k and attachment b.
func (s *sharedStore) doc(k driver.Key, b *docblob.Blob) any {
	if s.coll != nil && s.coll.NoSortKey {
		return &pkRecord{PK: k.Partition, File: b}
	}
	return &record{PK: k.Partition, SK: k.Sort, File: b}
}

func (s *sharedStore) blobOf(doc any) *docblob.Blob {
	switch d := doc.(type) {
	case *pkRecord:
		return d.File
	case *record:
		return d.File
	}
	panic(fmt.Sprintf("unexpected document %T", doc))
}

// wantIntact reads back every document of the store that was not
// orphaned, payload included.
func (s *sharedStore) wantIntact(t *testing.T, e *env) {
	t.Helper()
	var tasks []func() error
	for i, k := range s.keys {
		if i%4 == 0 {
			continue
		}
		tasks = append(tasks, func() error {
			doc := s.doc(k, nil)
			if err := s.store.Get(e.ctx, doc); err != nil {
				return fmt.Errorf("getting %v: %w", k, err)
			}
			b := s.blobOf(doc)
			if b == nil {
				return fmt.Errorf("document %v lost its attachment", k)
			}
			data, err := b.ReadAll(e.ctx)
			if err != nil || !bytes.Equal(data, s.data[k]) {
				return fmt.Errorf("document %v: payload reads %d bytes, %v; want its %d bytes", k, len(data), err, len(s.data[k]))
			}
			return nil
		})
	}
	if err := parallel(tasks); err != nil {
		t.Errorf("%s: %v", s.name, err)
	}
}

// parallel runs the tasks on 8 goroutines and returns the first error.
func parallel(tasks []func() error) error {
	var mu sync.Mutex
	var first error
	work := make(chan func() error)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for f := range work {
				if err := f(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range tasks {
		work <- f
	}
	close(work)
	wg.Wait()
	return first
}

// wantCheck runs Check on the store and wants exactly the orphans given,
// all inside the store's namespace, and no other finding.
func (s *sharedStore) wantCheck(t *testing.T, e *env, orphans map[string]bool) {
	t.Helper()
	var got []string
	for f, err := range s.store.Check(e.ctx, nil) {
		if err != nil {
			t.Errorf("%s: Check: %v", s.name, err)
			return
		}
		if !strings.HasPrefix(f.PayloadKey, s.store.Namespace()) {
			t.Errorf("%s: Check reports %v, about a payload outside the store's namespace %q", s.name, f, s.store.Namespace())
		}
		if f.Kind != docblob.OrphanPayload {
			t.Errorf("%s: Check reports %v", s.name, f)
			continue
		}
		got = append(got, f.PayloadKey)
	}
	slices.Sort(got)
	if want := sortedKeys(orphans); !slices.Equal(got, want) {
		t.Errorf("%s: Check reports %d orphans, want %d:\n got  %s\n want %s", s.name, len(got), len(want), abbrev(got), abbrev(want))
	}
}

// sweep sweeps the store through a store over the same collection and
// prefix that sees every payload as old, and returns the keys it asked
// the driver to delete. With faults, a third of the DeleteBlob calls fail
// (half of those after deleting), and it sweeps again until a sweep
// fails no deletion.
func (s *sharedStore) sweep(t *testing.T, e *env, faults bool) []string {
	t.Helper()
	var drv driver.Driver
	if s.coll == nil {
		d, err := e.h.MakeDriver(e.ctx)
		must(t, err, "MakeDriver")
		drv = d
	} else {
		drv = e.collectionDriver(*s.coll)
	}
	sp := spy.New(drv)
	rec := &recordingDriver{shiftedDriver: shiftedDriver{sp, 48 * time.Hour}}
	aged, err := docblob.NewStore(rec, &docblob.Options{BlobPrefix: s.prefix, OnCleanupError: func(error) {}})
	if err != nil {
		drv.Close()
		t.Fatalf("NewStore: %v", err)
	}
	defer aged.Close()
	if aged.Namespace() != s.store.Namespace() {
		t.Fatalf("%s: a second store over the collection has namespace %q, the first %q", s.name, aged.Namespace(), s.store.Namespace())
	}
	if faults {
		var calls int
		var mu sync.Mutex
		sp.SetHook(func(op spy.Op) *spy.Fault {
			if op != spy.DeleteBlob {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			calls++
			switch calls % 6 {
			case 1:
				return &spy.Fault{Err: driver.PermissionDenied}
			case 4:
				return &spy.Fault{Err: errors.New("connection reset by peer"), Applied: true}
			}
			return nil
		})
	}
	for round := 0; ; round++ {
		res, err := aged.Sweep(e.ctx, nil)
		if err != nil {
			t.Fatalf("%s: Sweep: %v", s.name, err)
		}
		if res.Failed == 0 {
			break
		}
		if round == 0 && !faults {
			t.Errorf("%s: Sweep failed %d deletions without injected faults", s.name, res.Failed)
		}
		if round > 20 {
			t.Fatalf("%s: sweeps keep failing deletions: %+v", s.name, res)
		}
		sp.SetHook(nil) // the next sweep deletes what is left
	}
	return rec.deleted()
}

// impostorDriver reports its driver's collection under another collection
// id, as a table of the same name in another account or region would.
type impostorDriver struct {
	driver.Driver
}

// impostor wraps d as an impostorDriver.
func impostor(d driver.Driver) driver.Driver {
	return impostorDriver{d}
}

func (d impostorDriver) Info() driver.Info {
	info := d.Driver.Info()
	id := info.CollectionID
	if id == "" {
		id = info.Collection
	}
	info.CollectionID = id + "/impostor"
	return info
}

// testMarkerConflict checks that a store whose namespace's owner marker
// names another collection refuses every operation that would use the
// namespace, writing nothing; and that the first store to claim a fresh
// namespace keeps it.
func testMarkerConflict(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	kept := &record{PK: "mc", SK: "owner", File: docblob.NewBlobBytes([]byte("the owner's payload"), nil)}
	must(t, e.store.Put(e.ctx, kept), "Put through the owner")

	// refused checks that store (whose namespace another collection
	// owns) refuses everything, and that nothing was written.
	refused := func(t *testing.T, store *docblob.Store, raw driver.Driver, partition string) {
		t.Helper()
		countDocs := func() int {
			docs, err := listDocuments(e.ctx, raw)
			must(t, err, "listing documents")
			return len(docs)
		}
		objects, docs := e.objects(), countDocs()
		wantCode(t, store.ClaimNamespace(e.ctx), docblob.FailedPrecondition, "ClaimNamespace")
		wantCode(t, store.Put(e.ctx, &record{PK: partition, SK: "1", File: docblob.NewBlobBytes([]byte("intruder"), nil)}), docblob.FailedPrecondition, "Put with a payload")
		wantCode(t, store.Put(e.ctx, &record{PK: partition, SK: "2", File: docblob.NewBlob(strings.NewReader("intruder stream"), nil)}), docblob.FailedPrecondition, "Put with a streamed payload")
		if _, err := store.NewUpload(e.ctx, &record{PK: partition, SK: "3"}, "file", nil); docblob.Code(err) != docblob.Unimplemented {
			wantCode(t, err, docblob.FailedPrecondition, "NewUpload")
		}
		_, err := store.Sweep(e.ctx, nil)
		wantCode(t, err, docblob.FailedPrecondition, "Sweep")
		var checkErr error
		for f, err := range store.Check(e.ctx, nil) {
			if err != nil {
				checkErr = err
				break
			}
			t.Errorf("Check reports %v before failing", f)
		}
		wantCode(t, checkErr, docblob.FailedPrecondition, "Check")
		if after := e.objects(); !maps.Equal(after, objects) {
			t.Errorf("the refused store changed the blob storage:\n before %v\n after  %v", objects, after)
		}
		if after := countDocs(); after != docs {
			t.Errorf("the refused store changed the documents: %d, before %d", after, docs)
		}
	}

	t.Run("ClaimedByOwner", func(t *testing.T) {
		drv, err := e.h.MakeDriver(e.ctx)
		must(t, err, "MakeDriver")
		impostor, err := docblob.NewStore(impostor(drv), nil)
		if err != nil {
			drv.Close()
			t.Fatalf("NewStore: %v", err)
		}
		defer impostor.Close()
		if impostor.Namespace() != e.store.Namespace() {
			t.Fatalf("namespaces %q and %q differ; the impostor must report the same collection", impostor.Namespace(), e.store.Namespace())
		}
		refused(t, impostor, e.rawDriver(), "mc-impostor")
		// The owner is unaffected.
		got := &record{PK: "mc", SK: "owner"}
		must(t, e.store.Get(e.ctx, got), "Get through the owner")
		if string(readAll(e, got.File)) != "the owner's payload" {
			t.Error("the owner's payload changed")
		}
		again := &record{PK: "mc", SK: "owner2", File: docblob.NewBlobBytes([]byte("more"), nil)}
		must(t, e.store.Put(e.ctx, again), "Put through the owner after the impostor")
		must(t, e.store.Delete(e.ctx, again), "Delete through the owner")
	})
	t.Run("FirstClaimWins", func(t *testing.T) {
		// In a fresh collection, the impostor claims first; the genuine
		// store is then refused.
		c := Collection{Name: "marker"}
		first, err := docblob.NewStore(impostor(e.collectionDriver(c)), nil)
		must(t, err, "NewStore")
		defer first.Close()
		must(t, first.ClaimNamespace(e.ctx), "ClaimNamespace of the first store")
		must(t, first.ClaimNamespace(e.ctx), "ClaimNamespace again")
		second, err := docblob.NewStore(e.collectionDriver(c), nil)
		must(t, err, "NewStore")
		defer second.Close()
		raw := e.collectionDriver(c)
		defer raw.Close()
		refused(t, second, raw, "mc-second")
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		// Stores of one collection starting at once (a deployment's
		// instances after a release) all claim a fresh namespace: each
		// succeeds, whichever created the marker.
		c := Collection{Name: "claims"}
		stores := make([]*docblob.Store, 8)
		for i := range stores {
			s, err := docblob.NewStore(e.collectionDriver(c), nil)
			must(t, err, "NewStore")
			defer s.Close()
			stores[i] = s
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				if err := s.ClaimNamespace(e.ctx); err != nil {
					t.Errorf("store %d: ClaimNamespace: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
	})
}

// forgedDoc is an attacker's document whose map fields hold copies of
// another document's attachment map.
type forgedDoc struct {
	PK    string         `docstore:"pk"`
	SK    string         `docstore:"sk"`
	File  map[string]any `docstore:"file"`
	Other any            `docstore:"other"`
}

// testForgedReference checks that attachment maps copied from a victim
// document into other documents (through Put as maps, through Put in
// struct fields of map type, and written by another tool through the
// driver) are data: they read back as maps, never as *Blob; replacing and
// deleting them never deletes the victim's payload; Check reports them as
// foreign references and Sweep leaves the victim alone. A map naming a
// payload of another field of the same document is not honoured either.
func testForgedReference(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	raw := e.rawDriver()
	victimData := []byte("%PDF-1.7 the victim's payload")
	victim := &record{PK: "victim", SK: "10", Title: "v", File: docblob.NewBlobBytes(victimData, &docblob.BlobOptions{Name: "v.pdf"})}
	must(t, e.store.Put(e.ctx, victim), "Put victim")
	victimKey := victim.File.Key()
	vdoc, err := raw.GetDocument(e.ctx, driver.Key{Partition: "victim", Sort: "10"})
	must(t, err, "raw GetDocument of the victim")
	vmap, ok := vdoc.Fields["file"].(map[string]any)
	if !ok || !attach.Is(vmap) {
		t.Fatalf("the victim's field is stored as %T, want an attachment map", vdoc.Fields["file"])
	}
	forged := func() map[string]any { return maps.Clone(vmap) }
	wantVictim := func(t *testing.T, when string) {
		t.Helper()
		got := &record{PK: "victim", SK: "10"}
		if err := e.store.Get(e.ctx, got); err != nil {
			t.Fatalf("%s: Get victim: %v", when, err)
		}
		if got.File == nil || got.File.Key() != victimKey {
			t.Fatalf("%s: the victim's attachment changed: %v", when, got.File)
		}
		data, err := got.File.ReadAll(e.ctx)
		if err != nil || !bytes.Equal(data, victimData) {
			t.Fatalf("%s: the victim's payload reads %q, %v", when, data, err)
		}
	}
	// isForged reports whether v is a plain map copy of the victim's
	// attachment map.
	isForged := func(v any) bool {
		m, ok := v.(map[string]any)
		return ok && m[attach.AttrKey] == victimKey
	}

	// The victim's own attachment map, given back as a map, is refused:
	// a reference enters a document only as a *docblob.Blob.
	wantCode(t, e.store.Put(e.ctx, map[string]any{"pk": "victim", "sk": "10", "title": "v", "file": forged()}), docblob.InvalidArgument,
		"Put of a map whose field is the attachment map that field would honour")
	wantVictim(t, "after the refused Put")

	// The attacker's documents, and which of their fields hold a forged
	// map once stored.
	stored := map[driver.Key][]string{}
	// The first attacker's key, victim/1, is a prefix of the victim's.
	mapKey := driver.Key{Partition: "victim", Sort: "1"}
	err = e.store.Put(e.ctx, map[string]any{"pk": mapKey.Partition, "sk": mapKey.Sort, "file": forged(), "title": "forged"})
	switch docblob.Code(err) {
	case docblob.OK:
		stored[mapKey] = []string{"file"}
	case docblob.InvalidArgument:
	default:
		t.Fatalf("Put of a map document with a forged field: %v, want success (stored as data) or InvalidArgument", err)
	}
	structKey := driver.Key{Partition: "attacker", Sort: "struct"}
	err = e.store.Put(e.ctx, &forgedDoc{PK: structKey.Partition, SK: structKey.Sort, File: forged(), Other: forged()})
	switch docblob.Code(err) {
	case docblob.OK:
		stored[structKey] = []string{"file", "other"}
	case docblob.InvalidArgument:
	default:
		t.Fatalf("Put of a struct with forged map fields: %v, want success (stored as data) or InvalidArgument", err)
	}
	rawKey := driver.Key{Partition: "attacker", Sort: "raw"}
	// Another tool writes no revision.
	_, err = raw.PutDocument(e.ctx, &driver.Document{Key: rawKey, Fields: map[string]any{"file": forged(), "title": "written by another tool"}}, driver.Condition{})
	must(t, err, "raw PutDocument of a forged document")
	stored[rawKey] = []string{"file"}
	t.Logf("forged documents stored as data: %v", stored)
	// Check reports forged documents left behind (by a subtest run alone)
	// as foreign references: remove them before the env's storage check.
	t.Cleanup(func() {
		for k := range stored {
			raw.DeleteDocument(context.WithoutCancel(e.ctx), k, driver.Condition{})
		}
	})
	wantVictim(t, "after the forgeries")

	t.Run("Get", func(t *testing.T) {
		for k, fields := range stored {
			m := map[string]any{"pk": k.Partition, "sk": k.Sort}
			must(t, e.store.Get(e.ctx, m), "Get into a map")
			for _, f := range fields {
				if !isForged(m[f]) {
					t.Errorf("document %v field %q reads as %T into a map, want the plain map", k, f, m[f])
				}
			}
			fd := &forgedDoc{PK: k.Partition, SK: k.Sort}
			must(t, e.store.Get(e.ctx, fd), "Get into a struct with map fields")
			if !isForged(fd.File) {
				t.Errorf("document %v field file reads as %v into a map field", k, fd.File)
			}
			if slices.Contains(fields, "other") && !isForged(fd.Other) {
				t.Errorf("document %v field other reads as %T into an any field, want the plain map", k, fd.Other)
			}
			wantCode(t, e.store.Get(e.ctx, &record{PK: k.Partition, SK: k.Sort}), docblob.InvalidArgument, fmt.Sprintf("Get of %v into a *docblob.Blob field", k))
		}
	})
	t.Run("CheckAndSweep", func(t *testing.T) {
		want := map[string]bool{}
		for k, fields := range stored {
			for _, f := range fields {
				want[k.Partition+"/"+k.Sort+"/"+f] = true
			}
		}
		got := map[string]bool{}
		for f, err := range e.store.Check(e.ctx, nil) {
			must(t, err, "Check")
			if f.Kind != docblob.ForeignReference {
				t.Errorf("Check reports %v", f)
				continue
			}
			got[f.Partition+"/"+f.Sort+"/"+f.Field] = true
		}
		if !maps.Equal(got, want) {
			t.Errorf("Check reports foreign references %v, want %v", sortedKeys(got), sortedKeys(want))
		}
		sweepAged(t, e, 0)
		wantVictim(t, "after a sweep")
	})
	t.Run("ReplaceAndDelete", func(t *testing.T) {
		for k := range stored {
			saved, err := raw.GetDocument(e.ctx, k)
			must(t, err, "raw GetDocument")
			// Replace the forged document with one without the forged
			// fields, then with one with a real attachment.
			must(t, e.store.Put(e.ctx, map[string]any{"pk": k.Partition, "sk": k.Sort, "title": "replaced"}), "Put replacing a forged document")
			wantVictim(t, fmt.Sprintf("after replacing %v", k))
			own := &record{PK: k.Partition, SK: k.Sort, File: docblob.NewBlobBytes([]byte("the attacker's own"), nil)}
			must(t, e.store.Put(e.ctx, own), "Put with an attachment")
			saved.Revision = rawRevision() // every write has a revision of its own
			_, err = raw.PutDocument(e.ctx, saved, driver.Condition{})
			must(t, err, "raw PutDocument restoring the forged document")
			wantVictim(t, fmt.Sprintf("after restoring %v", k))
			// The restore orphaned the attacker's own payload: sweep it.
			sweepAged(t, e, 1)
			wantVictim(t, "after a sweep")
			must(t, e.store.Delete(e.ctx, &record{PK: k.Partition, SK: k.Sort}), "Delete of a forged document")
			wantVictim(t, fmt.Sprintf("after deleting %v", k))
		}
		// A forged field replaced by an attachment, through the map that
		// Get returned.
		_, err := raw.PutDocument(e.ctx, &driver.Document{Key: rawKey, Fields: map[string]any{"file": forged()}}, driver.Condition{})
		must(t, err, "raw PutDocument")
		m := map[string]any{"pk": rawKey.Partition, "sk": rawKey.Sort}
		must(t, e.store.Get(e.ctx, m), "Get into a map")
		m["file"] = docblob.NewBlobBytes([]byte("replacing the forged field"), nil)
		must(t, e.store.Put(e.ctx, m), "Put replacing the forged field with an attachment")
		wantVictim(t, "after replacing the forged field")
		must(t, e.store.Delete(e.ctx, m), "Delete")
		wantVictim(t, "at the end")
		sweepAged(t, e, 0)
		wantVictim(t, "after the last sweep")
	})
	t.Run("OtherField", func(t *testing.T) {
		// A map naming the payload of another field of the same document
		// is not honoured.
		in := &multi{PK: "victim2", SK: "1", A: docblob.NewBlobBytes([]byte("payload of a"), nil), B: docblob.NewBlobBytes([]byte("payload of b"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		aKey := in.A.Key()
		k := driver.Key{Partition: "victim2", Sort: "1"}
		doc, err := raw.GetDocument(e.ctx, k)
		must(t, err, "raw GetDocument")
		doc.Fields["c"] = maps.Clone(doc.Fields["a"].(map[string]any))
		doc.Revision = rawRevision()
		_, err = raw.PutDocument(e.ctx, doc, driver.Condition{})
		must(t, err, "raw PutDocument adding field c")
		wantCode(t, e.store.Get(e.ctx, &multi{PK: "victim2", SK: "1"}), docblob.InvalidArgument, "Get with the forged field c into a *docblob.Blob field")
		m := map[string]any{"pk": "victim2", "sk": "1"}
		must(t, e.store.Get(e.ctx, m), "Get into a map")
		if c, ok := m["c"].(map[string]any); !ok || c[attach.AttrKey] != aKey {
			t.Errorf("field c reads as %T into a map, want the plain map", m["c"])
		}
		if _, ok := m["a"].(*docblob.Blob); !ok {
			t.Errorf("field a reads as %T, want *docblob.Blob", m["a"])
		}
		// Without field a, its payload is an orphan: c does not keep it.
		delete(doc.Fields, "a")
		doc.Revision = rawRevision()
		_, err = raw.PutDocument(e.ctx, doc, driver.Condition{})
		must(t, err, "raw PutDocument removing field a")
		kinds := map[string]docblob.FindingKind{}
		for f, err := range e.store.Check(e.ctx, nil) {
			must(t, err, "Check")
			kinds[f.Field+":"+f.PayloadKey] = f.Kind
		}
		want := map[string]docblob.FindingKind{"c:": docblob.ForeignReference, ":" + aKey: docblob.OrphanPayload}
		if !maps.Equal(kinds, want) {
			t.Errorf("Check reports %v, want %v", kinds, want)
		}
		if deleted := sweepAged(t, e, 1); !slices.Equal(deleted, []string{aKey}) {
			t.Errorf("sweep deleted %q, want the payload of a, %q", deleted, aKey)
		}
		got := &multi{PK: "victim2", SK: "1"}
		m = map[string]any{"pk": "victim2", "sk": "1"}
		must(t, e.store.Get(e.ctx, m), "Get into a map")
		b, ok := m["b"].(*docblob.Blob)
		if !ok {
			t.Fatalf("field b reads as %T", m["b"])
		}
		if string(readAll(e, b)) != "payload of b" {
			t.Error("field b's payload changed")
		}
		must(t, e.store.Delete(e.ctx, got), "Delete")
		wantVictim(t, "at the end")
	})
}

// rawRevision returns a new revision for a document written through a
// driver: revisions are unique per write (see driver.Driver.PutDocument).
func rawRevision() string {
	return fmt.Sprintf("raw-%d-%d", time.Now().UnixNano(), rawRevisions.Add(1))
}

var rawRevisions atomic.Int64

// sweepAged sweeps the env's storage through a store that sees every
// payload as old, wants it to delete want payloads, and returns the keys it
// deleted.
func sweepAged(t *testing.T, e *env, want int) []string {
	t.Helper()
	drv, err := e.h.MakeDriver(e.ctx)
	must(t, err, "MakeDriver")
	rec := &recordingDriver{shiftedDriver: shiftedDriver{spy.New(drv), 48 * time.Hour}}
	aged, err := docblob.NewStore(rec, &docblob.Options{OnCleanupError: func(error) {}})
	if err != nil {
		drv.Close()
		t.Fatalf("NewStore: %v", err)
	}
	defer aged.Close()
	res, err := aged.Sweep(e.ctx, nil)
	must(t, err, "Sweep")
	if res.Deleted != want || res.Failed != 0 {
		t.Errorf("sweep: %+v, want %d deleted", res, want)
	}
	return rec.deleted()
}

// testSameBlobTwoFields checks that a new Blob over a reader cannot fill
// two fields (its reader can be read once), while bytes and stored blobs
// can.
func testSameBlobTwoFields(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	b := docblob.NewBlob(strings.NewReader("read once"), nil)
	wantCode(t, e.store.Put(e.ctx, &multi{PK: "same", SK: "reader", A: b, C: b}), docblob.InvalidArgument, "Put of one reader Blob in two fields")
	e.wantPayloads(0)
	e.wantDocuments(0)
	wantCode(t, e.store.Get(e.ctx, &multi{PK: "same", SK: "reader"}), docblob.NotFound, "Get after the refused Put")

	data := []byte("bytes twice")
	bb := docblob.NewBlobBytes(data, nil)
	in := &multi{PK: "same", SK: "bytes", A: bb, B: bb}
	must(t, e.store.Put(e.ctx, in), "Put of one bytes Blob in two fields")
	got := &multi{PK: "same", SK: "bytes"}
	must(t, e.store.Get(e.ctx, got), "Get")
	if got.A == nil || got.B == nil || got.A.Key() == got.B.Key() {
		t.Fatalf("fields a and b: %v and %v, want two payloads", got.A, got.B)
	}
	for _, f := range []*docblob.Blob{got.A, got.B} {
		if string(readAll(e, f)) != string(data) {
			t.Error("a field does not read back the bytes")
		}
	}
	e.wantPayloads(2)
	// A stored blob in two fields of another document is copied twice.
	cp := &multi{PK: "same", SK: "copies", A: got.A, B: got.A}
	must(t, e.store.Put(e.ctx, cp), "Put of one stored Blob in two fields")
	again := &multi{PK: "same", SK: "copies"}
	must(t, e.store.Get(e.ctx, again), "Get")
	if again.A == nil || again.B == nil || again.A.Key() == again.B.Key() || again.A.Key() == got.A.Key() {
		t.Fatalf("copies: %v and %v", again.A, again.B)
	}
	for _, f := range []*docblob.Blob{again.A, again.B} {
		if string(readAll(e, f)) != string(data) {
			t.Error("a copy does not read back the bytes")
		}
	}
	must(t, e.store.Delete(e.ctx, got), "Delete")
	must(t, e.store.Delete(e.ctx, again), "Delete")
	e.wantPayloads(0)
}

// testOwnershipUploads checks that direct uploads are create-only, keep
// their payload when a commit fails, and are bounded in size.
func testOwnershipUploads(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	doc := &record{PK: "up", SK: "1", Title: "v1"}
	if _, err := e.store.NewUpload(e.ctx, doc, "file", nil); docblob.Code(err) == docblob.Unimplemented {
		t.Skipf("the driver does not sign URLs, so it has no direct uploads: %v", err)
	}
	must(t, e.store.Put(e.ctx, doc), "Put v1")
	stale := doc.Revision
	doc.Title = "v2"
	must(t, e.store.Put(e.ctx, doc), "Put v2")
	leftovers := 0 // uploads accepted by the URL and never committed, or deleted

	payload := []byte("directly uploaded bytes")
	up, err := e.store.NewUpload(e.ctx, doc, "file", &docblob.UploadOptions{Name: "d.txt"})
	must(t, err, "NewUpload")
	if up.Header.Get("If-None-Match") != "*" {
		t.Errorf("upload header %v, want If-None-Match: *", up.Header)
	}
	before := e.payloads()
	status, body, _ := fetch(t, up.Method, up.URL, up.Header, payload)
	if status/100 != 2 {
		t.Fatalf("upload: %d %q", status, body)
	}
	var upKey string
	for k, size := range e.payloads() {
		if _, ok := before[k]; !ok {
			if upKey != "" || size != int64(len(payload)) {
				t.Fatalf("the upload stored %q (%d bytes) and %q", k, size, upKey)
			}
			upKey = k
		}
	}
	if upKey == "" {
		t.Fatal("the upload stored nothing")
	}

	t.Run("StaleCommitKeepsUpload", func(t *testing.T) {
		commit := &record{PK: "up", SK: "1", Title: "v3", File: up.Blob, Revision: stale}
		wantCode(t, e.store.Put(e.ctx, commit), docblob.FailedPrecondition, "Put with a stale revision")
		if size, ok := e.payloads()[upKey]; !ok || size != int64(len(payload)) {
			t.Fatalf("the failed commit removed or changed the upload (%d bytes, present %v)", size, ok)
		}
		fresh := &record{PK: "up", SK: "1"}
		must(t, e.store.Get(e.ctx, fresh), "Get")
		commit.Revision = fresh.Revision
		must(t, e.store.Put(e.ctx, commit), "Put retried with the fresh revision")
		got := &record{PK: "up", SK: "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.Title != "v3" || got.File == nil || got.File.Key() != upKey || string(readAll(e, got.File)) != string(payload) {
			t.Fatalf("the committed upload: %+v", got)
		}
	})
	t.Run("SecondPutRefused", func(t *testing.T) {
		other := bytes.Repeat([]byte("X"), len(payload))
		status, body, _ := fetch(t, up.Method, up.URL, up.Header, other)
		if status/100 != 4 {
			t.Errorf("a second PUT to the upload URL: %d %q, want 412 or another 4xx", status, body)
		}
		h := up.Header.Clone()
		h.Del("If-None-Match")
		status, body, _ = fetch(t, up.Method, up.URL, h, other)
		if status/100 != 4 {
			t.Errorf("a second PUT without If-None-Match: %d %q, want a 4xx", status, body)
		}
		got := &record{PK: "up", SK: "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.File == nil || string(readAll(e, got.File)) != string(payload) {
			t.Fatal("the committed payload changed after a second PUT")
		}
		if size := e.payloads()[upKey]; size != int64(len(payload)) {
			t.Fatalf("the committed payload has %d bytes after a second PUT", size)
		}
	})
	// sized uploads body to a fresh upload URL of document sk with opts,
	// then commits it, and reports whether the URL accepted the body and
	// the commit's error.
	sized := func(t *testing.T, sk string, opts *docblob.UploadOptions, body []byte) (accepted bool, err error) {
		t.Helper()
		d := &record{PK: "up", SK: sk}
		up, err := e.store.NewUpload(e.ctx, d, "file", opts)
		must(t, err, "NewUpload")
		status, _, _ := fetch(t, up.Method, up.URL, up.Header, body)
		accepted = status/100 == 2
		if !accepted && status/100 != 4 {
			t.Errorf("upload of %d bytes: status %d, want 2xx or 4xx", len(body), status)
		}
		d.File = up.Blob
		err = e.store.Put(e.ctx, d)
		if err == nil {
			got := &record{PK: "up", SK: sk}
			must(t, e.store.Get(e.ctx, got), "Get")
			if got.File == nil || got.File.Size() != int64(len(body)) || string(readAll(e, got.File)) != string(body) {
				t.Errorf("committed upload: %v", got.File)
			}
			must(t, e.store.Delete(e.ctx, got), "Delete")
			// Delete leaves a direct upload whose URL is still valid to
			// the sweep: deleting it would free its key for the URL.
			leftovers++
		}
		return accepted, err
	}
	t.Run("Size", func(t *testing.T) {
		const n = 10
		if _, err := sized(t, "size-ok", &docblob.UploadOptions{Size: n}, bytes.Repeat([]byte("s"), n)); err != nil {
			t.Errorf("commit of an upload of exactly Size bytes: %v", err)
		}
		accepted, err := sized(t, "size-over", &docblob.UploadOptions{Size: n}, bytes.Repeat([]byte("s"), n+1))
		if err == nil {
			t.Errorf("an upload of %d bytes to a URL signed for %d was committed", n+1, n)
		}
		if accepted {
			leftovers++
		}
		t.Logf("an upload over its Size: accepted by the URL %v; commit: %v", accepted, err)
		wantCode(t, e.store.Get(e.ctx, &record{PK: "up", SK: "size-over"}), docblob.NotFound, "Get after the refused commit")
	})
	t.Run("MaxSize", func(t *testing.T) {
		const n = 10
		if _, err := sized(t, "max-ok", &docblob.UploadOptions{MaxSize: n}, bytes.Repeat([]byte("m"), n)); err != nil {
			t.Errorf("commit of an upload of MaxSize bytes: %v", err)
		}
		accepted, err := sized(t, "max-over", &docblob.UploadOptions{MaxSize: n}, bytes.Repeat([]byte("m"), n+1))
		switch {
		case accepted:
			leftovers++
			wantCode(t, err, docblob.TooLarge, "commit of an upload over MaxSize")
		case err == nil:
			t.Errorf("an upload of %d bytes refused by the URL was committed", n+1)
		}
		t.Logf("an upload over its MaxSize: accepted by the URL %v; commit: %v", accepted, err)
		wantCode(t, e.store.Get(e.ctx, &record{PK: "up", SK: "max-over"}), docblob.NotFound, "Get after the refused commit")
	})
	// Uploads that were accepted but never committed, or whose document
	// was deleted, are orphans for the sweep, which leaves the committed
	// one alone.
	sweepAged(t, e, leftovers)
	got := &record{PK: "up", SK: "1"}
	must(t, e.store.Get(e.ctx, got), "Get")
	if got.File == nil || string(readAll(e, got.File)) != string(payload) {
		t.Error("the committed upload did not survive the sweep")
	}
}

// testServing checks that signed URLs download active content (HTML, also
// when named or declared as a PDF; SVG) rather than render it, refuse an
// inline disposition for it, and leave displayable types alone.
func testServing(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	html := []byte("<!DOCTYPE html><script>alert(1)</script>")
	var pngBuf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	must(t, png.Encode(&pngBuf, img), "encoding a PNG")
	cases := []struct {
		name   string
		data   []byte
		opts   *docblob.BlobOptions
		active bool
	}{
		{"HTMLNamedPDF", html, &docblob.BlobOptions{Name: "cv.pdf"}, true},
		{"HTMLDeclaredPDF", html, &docblob.BlobOptions{ContentType: "application/pdf"}, true},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), &docblob.BlobOptions{ContentType: "image/svg+xml", Name: "a.svg"}, true},
		{"Unknown", []byte("\x00\x01\x02 binary"), nil, true},
		{"PNG", pngBuf.Bytes(), &docblob.BlobOptions{Name: "p.png"}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &record{PK: "serve", SK: strconv.Itoa(i), File: docblob.NewBlobBytes(c.data, c.opts)}
			must(t, e.store.Put(e.ctx, in), "Put")
			got := &record{PK: "serve", SK: strconv.Itoa(i)}
			must(t, e.store.Get(e.ctx, got), "Get")
			u, err := got.File.SignedURL(e.ctx, nil)
			if docblob.Code(err) == docblob.Unimplemented {
				t.Skipf("the driver does not sign URLs: %v", err)
			}
			must(t, err, "SignedURL")
			status, body, h := fetch(t, http.MethodGet, u, nil, nil)
			if status != 200 || !bytes.Equal(body, c.data) {
				t.Fatalf("GET: %d %q", status, body)
			}
			cd := strings.ToLower(h.Get("Content-Disposition"))
			if c.active != strings.HasPrefix(cd, "attachment") {
				t.Errorf("recorded type %q served with Content-Type %q and Content-Disposition %q; want attachment: %v",
					got.File.ContentType(), h.Get("Content-Type"), h.Get("Content-Disposition"), c.active)
			}
			if c.active && got.File.ContentType() == "application/pdf" {
				t.Errorf("active content recorded as %q", got.File.ContentType())
			}
			_, err = got.File.SignedURL(e.ctx, &docblob.SignedURLOptions{ContentDisposition: "inline"})
			if c.active {
				wantCode(t, err, docblob.InvalidArgument, "SignedURL with an inline disposition")
				// Asking for a displayable type does not make it safe.
				u, err := got.File.SignedURL(e.ctx, &docblob.SignedURLOptions{ContentType: "application/pdf"})
				must(t, err, "SignedURL with a content type override")
				if _, _, h := fetch(t, http.MethodGet, u, nil, nil); !strings.HasPrefix(strings.ToLower(h.Get("Content-Disposition")), "attachment") {
					t.Errorf("with a PDF content type override, served with Content-Disposition %q", h.Get("Content-Disposition"))
				}
				_, err = got.File.SignedURL(e.ctx, &docblob.SignedURLOptions{ContentDisposition: "inline", AllowActiveContent: true})
				must(t, err, "SignedURL inline with AllowActiveContent")
			} else {
				must(t, err, "SignedURL inline of a displayable type")
			}
		})
	}
}

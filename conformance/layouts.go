package conformance

import (
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layouts are the key layouts other than MakeDriver's ("pk" and "sk")
// that the suite asks MakeCollectionDriver for.
var layouts = []struct {
	name string
	c    Collection
}{
	{"PartitionOnly", Collection{Name: "layout-pk", NoSortKey: true}},
	{"CustomNames", Collection{Name: "layout-custom", PartitionKey: "tenant", SortKey: "id"}},
	{"CustomPartitionOnly", Collection{Name: "layout-custom-pk", PartitionKey: "tenant", NoSortKey: true}},
}

// layoutDriver returns a driver of collection c, after checking that it
// has c's key layout. The caller closes it.
func (e *env) layoutDriver(c Collection) driver.Driver {
	e.t.Helper()
	d, err := e.h.MakeCollectionDriver(e.ctx, c)
	require.NoError(e.t, err, "MakeCollectionDriver(%+v)", c)
	pk, sk := c.Keys()
	if info := d.Info(); info.PartitionKey != pk || info.SortKey != sk {
		d.Close()
		e.t.Fatalf("MakeCollectionDriver(%+v) returned a driver with key attributes %q and %q, want %q and %q", c, info.PartitionKey, info.SortKey, pk, sk)
	}
	return d
}

// testDriver runs TestDriver on a driver of MakeDriver and on drivers of
// the other key layouts, reporting each deviation it finds as an error.
func testDriver(t *testing.T, newHarness HarnessMaker) {
	run := func(t *testing.T, e *env, d driver.Driver) {
		err := TestDriver(e.ctx, d)
		if errs, ok := err.(interface{ Unwrap() []error }); ok {
			for _, err := range errs.Unwrap() {
				t.Error(err)
			}
		} else if err != nil {
			t.Error(err)
		}
	}
	t.Run("Default", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		run(t, e, e.rawDriver())
	})
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			e := newEnv(t, newHarness, nil)
			d := e.layoutDriver(l.c)
			defer d.Close()
			run(t, e, d)
		})
	}
}

// testLayouts runs the store's basic operations (Put, Get, Query, Delete,
// with an attachment and a revision) on collections of each key layout,
// with documents as maps keyed by the layout's attribute names.
func testLayouts(t *testing.T, newHarness HarnessMaker) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			e := newEnv(t, newHarness, nil)
			d := e.layoutDriver(l.c)
			store, err := docblob.NewStore(d, nil)
			if err != nil {
				d.Close()
				t.Fatalf("NewStore: %v", err)
			}
			t.Cleanup(func() { store.Close() })
			pk, sk := l.c.Keys()
			// key returns the document key of partition p and sort key s
			// (ignored without sort keys) as map fields.
			key := func(p, s string) map[string]any {
				m := map[string]any{pk: p}
				if sk != "" {
					m[sk] = s
				}
				return m
			}
			with := func(m map[string]any, fields map[string]any) map[string]any {
				for k, v := range fields {
					m[k] = v
				}
				return m
			}
			// The documents: three in partition "acme" with sort keys,
			// or three partitions of their own.
			names := []string{"001", "002", "003"}
			docKey := func(name string) map[string]any {
				if sk == "" {
					return key("acme-"+name, "")
				}
				return key("acme", name)
			}

			t.Run("Put", func(t *testing.T) {
				for _, n := range names {
					doc := with(docKey(n), map[string]any{"title": "t" + n, "file": docblob.NewBlobBytes([]byte("payload "+n), nil)})
					require.NoError(t, store.Put(e.ctx, doc), "Put %v", doc)
				}
				if pk != "pk" {
					wantCode(t, store.Put(e.ctx, &record{PK: "acme", SK: "x"}), docblob.InvalidArgument, "Put of a document keyed \"pk\" and \"sk\"")
				}
			})
			t.Run("Get", func(t *testing.T) {
				for _, n := range names {
					got := docKey(n)
					require.NoError(t, store.Get(e.ctx, got), "Get %v", docKey(n))
					assert.Equal(t, "t"+n, got["title"])
					b, ok := got["file"].(*docblob.Blob)
					require.True(t, ok, "field file is %T, want *docblob.Blob", got["file"])
					data, err := b.ReadAll(e.ctx)
					require.NoError(t, err, "ReadAll")
					assert.Equal(t, "payload "+n, string(data))
				}
				wantCode(t, store.Get(e.ctx, docKey("004")), docblob.NotFound, "Get of a missing document")
			})
			t.Run("Revision", func(t *testing.T) {
				a, b := docKey("001"), docKey("001")
				require.NoError(t, store.Get(e.ctx, a), "Get")
				require.NoError(t, store.Get(e.ctx, b), "Get")
				a["title"] = "a"
				require.NoError(t, store.Put(e.ctx, a), "Put")
				b["title"] = "b"
				wantCode(t, store.Put(e.ctx, b), docblob.FailedPrecondition, "Put with a stale revision")
			})
			t.Run("Query", func(t *testing.T) {
				var got []string
				if sk == "" {
					for _, n := range names {
						for m, err := range docblob.All[map[string]any](e.ctx, store, &docblob.Query{Partition: "acme-" + n}) {
							require.NoError(t, err, "Query")
							got = append(got, (*m)[pk].(string))
						}
					}
					assert.Equal(t, []string{"acme-001", "acme-002", "acme-003"}, got)
					return
				}
				for m, err := range docblob.All[map[string]any](e.ctx, store, &docblob.Query{Partition: "acme", Descending: true}) {
					require.NoError(t, err, "Query")
					got = append(got, (*m)[sk].(string))
				}
				assert.Equal(t, []string{"003", "002", "001"}, got, "Query of partition acme, descending")
				got = nil
				for m, err := range docblob.All[map[string]any](e.ctx, store, &docblob.Query{Partition: "acme", Sort: docblob.SortGreater("001")}) {
					require.NoError(t, err, "Query")
					got = append(got, (*m)[sk].(string))
				}
				assert.Equal(t, []string{"002", "003"}, got, "Query of partition acme, sort key greater than 001")
			})
			t.Run("Delete", func(t *testing.T) {
				for _, n := range names {
					require.NoError(t, store.Delete(e.ctx, docKey(n)), "Delete")
					wantCode(t, store.Get(e.ctx, docKey(n)), docblob.NotFound, "Get after Delete")
				}
				for f, err := range store.Check(e.ctx, nil) {
					require.NoError(t, err, "Check")
					t.Errorf("after deleting every document: Check reports %v", f)
				}
				payloads, err := listBlobs(e.ctx, e.rawDriver(), store.Namespace())
				require.NoError(t, err, "ListBlobs")
				for k := range payloads {
					if !attach.IsOwnerMarker(k) {
						t.Errorf("after deleting every document, payload %q is still stored", k)
					}
				}
			})
		})
	}
}

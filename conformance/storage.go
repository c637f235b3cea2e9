package conformance

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite checks storage with Store.Check, the checker users run in
// production: every test ends with a check of the env's store (see newEnv).
// The listings below only count what is stored, through a raw driver.

// findings returns what store.Check reports, in a stable order.
func findings(ctx context.Context, t testing.TB, store *docblob.Store) []docblob.Finding {
	t.Helper()
	var out []docblob.Finding
	for f, err := range store.Check(ctx, nil) {
		require.NoError(t, err, "Check")
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b docblob.Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.Partition, b.Partition), strings.Compare(a.Sort, b.Sort),
			strings.Compare(a.Field, b.Field), strings.Compare(a.PayloadKey, b.PayloadKey))
	})
	return out
}

// wantConsistent fails the test for each finding of store.Check, except
// orphans if allowOrphans is set (failed clean-ups leave those to Sweep).
func wantConsistent(ctx context.Context, t testing.TB, store *docblob.Store, when string, allowOrphans bool) {
	t.Helper()
	for _, f := range findings(ctx, t, store) {
		if !allowOrphans || f.Kind != docblob.OrphanPayload {
			t.Errorf("%s: Check reports %v", when, f)
		}
	}
}

// checkStorage fails the test for each finding of the env's store's Check:
// a document referencing a missing or wrongly sized payload, a malformed
// or foreign attachment, a payload no document references.
func (e *env) checkStorage() {
	e.t.Helper()
	wantConsistent(e.ctx, e.t, e.store, "at the end of the test", false)
}

// listDocuments returns every document that d stores.
func listDocuments(ctx context.Context, d driver.Driver) ([]*driver.Document, error) {
	var docs []*driver.Document
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(ctx, q)
		if err != nil {
			return nil, err
		}
		docs = append(docs, page.Documents...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			return docs, nil
		}
	}
}

// listBlobs returns the size of every object under prefix that d stores,
// by key, owner markers included.
func listBlobs(ctx context.Context, d driver.Driver, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	token := ""
	for {
		page, err := d.ListBlobs(ctx, prefix, token)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Blobs {
			out[b.Key] = b.Size
		}
		if token = page.NextPageToken; token == "" {
			return out, nil
		}
	}
}

// documents returns every stored document, read through a raw driver.
func (e *env) documents() []*driver.Document {
	e.t.Helper()
	docs, err := listDocuments(e.ctx, e.rawDriver())
	require.NoError(e.t, err, "listing documents")
	return docs
}

// payloads returns the size of every payload in the store's namespace, by
// key (not the namespace's owner marker).
func (e *env) payloads() map[string]int64 {
	e.t.Helper()
	p, err := listBlobs(e.ctx, e.rawDriver(), e.store.Namespace())
	require.NoError(e.t, err, "listing payloads")
	maps.DeleteFunc(p, func(key string, _ int64) bool { return attach.IsOwnerMarker(key) })
	return p
}

// objects lists every object of the blob storage, owner markers included,
// with its size.
func (e *env) objects() map[string]int64 {
	e.t.Helper()
	p, err := listBlobs(e.ctx, e.rawDriver(), "")
	require.NoError(e.t, err, "listing payloads")
	return p
}

// wantPayloads fails the test unless exactly n payloads are stored.
func (e *env) wantPayloads(n int) {
	e.t.Helper()
	assert.Len(e.t, e.payloads(), n, "payloads stored")
}

// wantDocuments fails the test unless exactly n documents are stored.
func (e *env) wantDocuments(n int) {
	e.t.Helper()
	assert.Len(e.t, e.documents(), n, "documents stored")
}

package conformance

import (
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/docblob/docblob"
	"github.com/stretchr/testify/assert"
)

// queryKeys returns the sort keys an iterator yields.
func queryKeys(e *env, q *docblob.Query) []string {
	e.t.Helper()
	var keys []string
	for doc, err := range docblob.All[record](e.ctx, e.store, q) {
		must(e.t, err, "query")
		keys = append(keys, doc.SK)
	}
	return keys
}

func testQuery(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	all := []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-03a", "2026-04", "2027-01"}
	for _, sk := range all {
		must(t, e.store.Put(e.ctx, &record{PK: "acme", SK: sk, Title: "t" + sk}), "Put")
	}
	// Another partition that no query of "acme" may return.
	must(t, e.store.Put(e.ctx, &record{PK: "acme2", SK: "2026-01"}), "Put")
	must(t, e.store.Put(e.ctx, &record{PK: "other", SK: "2026-01", File: docblob.NewBlobBytes([]byte("x"), nil)}), "Put")

	for _, tc := range []struct {
		name string
		sort docblob.SortCondition
		want []string
	}{
		{"All", docblob.SortCondition{}, all},
		{"Equal", docblob.SortEqual("2026-03"), []string{"2026-03"}},
		{"EqualMissing", docblob.SortEqual("2026-05"), nil},
		{"Prefix", docblob.SortPrefix("2026-"), all[1:6]},
		{"PrefixExact", docblob.SortPrefix("2026-03"), []string{"2026-03", "2026-03a"}},
		{"Between", docblob.SortBetween("2026-02", "2026-04"), all[2:6]},
		{"Less", docblob.SortLess("2026-02"), all[:2]},
		{"LessOrEqual", docblob.SortLessOrEqual("2026-02"), all[:3]},
		{"Greater", docblob.SortGreater("2026-03a"), all[5:]},
		{"GreaterOrEqual", docblob.SortGreaterOrEqual("2026-03a"), all[4:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, queryKeys(e, &docblob.Query{Partition: "acme", Sort: tc.sort}), "ascending")
			want := slices.Clone(tc.want)
			slices.Reverse(want)
			assert.Equal(t, want, queryKeys(e, &docblob.Query{Partition: "acme", Sort: tc.sort, Descending: true}), "descending")
		})
	}
	t.Run("Pagination", func(t *testing.T) {
		for _, desc := range []bool{false, true} {
			for _, pageSize := range []int{1, 2, 3, 7, 8} {
				t.Run(fmt.Sprintf("desc=%v/size=%d", desc, pageSize), func(t *testing.T) {
					var got []string
					token := ""
					for pages := 0; ; pages++ {
						if pages > len(all)+1 {
							t.Fatal("pagination does not end")
						}
						it := e.store.Query(e.ctx, &docblob.Query{Partition: "acme", Descending: desc, Limit: pageSize, PageToken: token})
						n := 0
						for {
							var r record
							err := it.Next(&r)
							if err == io.EOF {
								break
							}
							must(t, err, "Next")
							got = append(got, r.SK)
							n++
						}
						if n > pageSize {
							t.Fatalf("page of %d documents, limit %d", n, pageSize)
						}
						token = it.PageToken()
						if token == "" {
							break
						}
					}
					want := slices.Clone(all)
					if desc {
						slices.Reverse(want)
					}
					assert.Equal(t, want, got, "the pages' documents")
				})
			}
		}
	})
	t.Run("StopEarly", func(t *testing.T) {
		n := 0
		for _, err := range docblob.All[record](e.ctx, e.store, &docblob.Query{Partition: "acme"}) {
			must(t, err, "query")
			n++
			if n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("iterated %d documents", n)
		}
	})
	t.Run("Maps", func(t *testing.T) {
		var titles []string
		for m, err := range docblob.All[map[string]any](e.ctx, e.store, &docblob.Query{Partition: "acme", Sort: docblob.SortEqual("2026-01")}) {
			must(t, err, "query")
			titles = append(titles, fmt.Sprint((*m)["title"]))
		}
		assert.Equal(t, []string{"t2026-01"}, titles)
	})
	t.Run("Attachments", func(t *testing.T) {
		for doc, err := range docblob.All[record](e.ctx, e.store, &docblob.Query{Partition: "other"}) {
			must(t, err, "query")
			if doc.File == nil || string(readAll(e, doc.File)) != "x" {
				t.Errorf("queried document's attachment: %+v", doc)
			}
		}
	})
	t.Run("EmptyPartition", func(t *testing.T) {
		assert.Empty(t, queryKeys(e, &docblob.Query{Partition: "nobody"}))
	})
	t.Run("BadQueries", func(t *testing.T) {
		for name, q := range map[string]*docblob.Query{
			"NoPartition":   {},
			"NegativeLimit": {Partition: "acme", Limit: -1},
			"BadToken":      {Partition: "acme", PageToken: "%%%"},
		} {
			err := e.store.Query(e.ctx, q).Next(&record{})
			wantCode(t, err, docblob.InvalidArgument, name)
		}
	})
}

// testQueryResume: a page token names the last document returned by key,
// so resuming is exact whatever was inserted or deleted in between, in
// both directions and under every sort condition; a token is refused for
// another query.
func testQueryResume(t *testing.T, newHarness HarnessMaker) {
	for _, tc := range []struct {
		name string
		sort docblob.SortCondition
	}{
		{"All", docblob.SortCondition{}},
		{"Prefix", docblob.SortPrefix("0")},
		{"Between", docblob.SortBetween("01", "08")},
		{"GreaterOrEqual", docblob.SortGreaterOrEqual("00")},
		{"LessOrEqual", docblob.SortLessOrEqual("09")},
	} {
		for _, desc := range []bool{false, true} {
			name := tc.name
			if desc {
				name += "/Descending"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, newHarness, nil)
				for i := range 10 {
					must(t, e.store.Put(e.ctx, &record{PK: "resume", SK: fmt.Sprintf("%02d", i)}), "Put")
				}
				q := &docblob.Query{Partition: "resume", Sort: tc.sort, Descending: desc, Limit: 3}
				it := e.store.Query(e.ctx, q)
				var first []string
				for {
					var r record
					if err := it.Next(&r); err == io.EOF {
						break
					} else {
						must(t, err, "Next")
					}
					first = append(first, r.SK)
				}
				token := it.PageToken()
				if len(first) != 3 || token == "" {
					t.Fatalf("first page %v, token %q", first, token)
				}
				// Delete the last document returned and the one after it,
				// insert one between them, and one before the page.
				last := first[2]
				n := 0
				fmt.Sscanf(last, "%d", &n)
				next := fmt.Sprintf("%02d", n+1)
				if desc {
					next = fmt.Sprintf("%02d", n-1)
				}
				must(t, e.store.Delete(e.ctx, &record{PK: "resume", SK: last}), "Delete")
				must(t, e.store.Delete(e.ctx, &record{PK: "resume", SK: next}), "Delete")
				between := last + "5" // sorts after last, before next (ascending)
				if desc {
					between = next + "5"
				}
				must(t, e.store.Put(e.ctx, &record{PK: "resume", SK: between}), "Put")
				must(t, e.store.Put(e.ctx, &record{PK: "resume", SK: first[0] + "0"}), "Put")

				var rest []string
				for doc, err := range docblob.All[record](e.ctx, e.store, &docblob.Query{Partition: "resume", Sort: tc.sort, Descending: desc, PageToken: token}) {
					must(t, err, "resumed query")
					rest = append(rest, doc.SK)
				}
				var want []string
				for doc, err := range docblob.All[record](e.ctx, e.store, &docblob.Query{Partition: "resume", Sort: tc.sort, Descending: desc}) {
					must(t, err, "query")
					if (!desc && doc.SK > last) || (desc && doc.SK < last) {
						want = append(want, doc.SK)
					}
				}
				assert.Equal(t, want, rest, "resumed after %q", last)
				other := &docblob.Query{Partition: "resume", Sort: docblob.SortEqual("03"), PageToken: token}
				wantCode(t, e.store.Query(e.ctx, other).Next(&record{}), docblob.InvalidArgument, "token of another query")
			})
		}
	}
}

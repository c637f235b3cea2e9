package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

// TestQueryPagesLikeDynamoDB checks that a page that stops at the
// query's Limit has a NextPageToken even when no document follows, as
// DynamoDB returns a LastEvaluatedKey, and that the page it leads to is
// empty and last; and that a page without a Limit has a token only when
// documents follow.
func TestQueryPagesLikeDynamoDB(t *testing.T) {
	ctx := context.Background()
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(p, s string) {
		t.Helper()
		if _, err := d.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: p, Sort: s}, Fields: map[string]any{"v": s}}, driver.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		put("p", s)
	}
	put("q", "a")
	put("q", "b")
	cases := []struct {
		name  string
		query driver.Query
		pages []string // the sort keys of each page, "p/a" for scans
	}{
		{"limit divides the results", driver.Query{Partition: "p", Limit: 2}, []string{"a b", "c d", ""}},
		{"limit does not divide the results", driver.Query{Partition: "p", Limit: 3}, []string{"a b c", "d"}},
		{"limit equals the results", driver.Query{Partition: "p", Limit: 4}, []string{"a b c d", ""}},
		{"limit above the results", driver.Query{Partition: "p", Limit: 5}, []string{"a b c d"}},
		{"no limit", driver.Query{Partition: "p"}, []string{"a b c d"}},
		{"descending", driver.Query{Partition: "p", Limit: 2, Descending: true}, []string{"d c", "b a", ""}},
		{"sort condition", driver.Query{Partition: "p", Sort: driver.SortLess, Value: "c", Limit: 2}, []string{"a b", ""}},
		{"sort condition, descending", driver.Query{Partition: "p", Sort: driver.SortGreater, Value: "b", Limit: 2, Descending: true}, []string{"d c", ""}},
		{"start after", driver.Query{Partition: "p", StartAfter: "b", Limit: 2}, []string{"c d", ""}},
		{"start after the last", driver.Query{Partition: "p", StartAfter: "d", Limit: 2}, []string{""}},
		{"missing partition", driver.Query{Partition: "none", Limit: 2}, []string{""}},
		{"scan, limit divides the results", driver.Query{Limit: 3}, []string{"p/a p/b p/c", "p/d q/a q/b", ""}},
		{"scan, limit does not divide the results", driver.Query{Limit: 4}, []string{"p/a p/b p/c p/d", "q/a q/b"}},
		{"scan, limit at a partition's end", driver.Query{Limit: 2}, []string{"p/a p/b", "p/c p/d", "q/a q/b", ""}},
		{"scan, no limit", driver.Query{}, []string{"p/a p/b p/c p/d q/a q/b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := c.query
			var pages []string
			for len(pages) <= len(c.pages) {
				page, err := d.QueryDocuments(ctx, &q)
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, doc := range page.Documents {
					if q.Partition == "" {
						keys = append(keys, doc.Key.Partition+"/"+doc.Key.Sort)
					} else {
						keys = append(keys, doc.Key.Sort)
					}
				}
				pages = append(pages, strings.Join(keys, " "))
				if page.NextPageToken == "" {
					break
				}
				q.PageToken = page.NextPageToken
			}
			if !slices.Equal(pages, c.pages) {
				t.Errorf("pages %q, want %q", pages, c.pages)
			}
		})
	}
}

// TestQueryDefaultPageSize checks that a query without a Limit stops at
// defaultPageSize with a token only if documents follow: DynamoDB stops
// such a query at 1 MB of data, not at a count.
func TestQueryDefaultPageSize(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{defaultPageSize, defaultPageSize + 1} {
		d, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := d.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p", Sort: fmt.Sprintf("%05d", i)}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []driver.Query{{Partition: "p"}, {}} {
			page, err := d.QueryDocuments(ctx, &q)
			if err != nil {
				t.Fatal(err)
			}
			if more := n > defaultPageSize; len(page.Documents) != defaultPageSize || (page.NextPageToken != "") != more {
				t.Errorf("%d documents, query %+v: a page of %d, token %q; want %d, a token: %v", n, q, len(page.Documents), page.NextPageToken, defaultPageSize, more)
			}
		}
	}
}

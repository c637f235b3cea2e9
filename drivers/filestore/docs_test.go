package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docblob/docblob/driver"
)

// withDir returns a copy of opts (which may be nil) with Dir set to dir.
func withDir(dir string, opts *Options) *Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Dir = dir
	return &o
}

func newTestDriver(t testing.TB, opts *Options) *Driver {
	t.Helper()
	d, err := New(withDir(t.TempDir(), opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func wantCode(t *testing.T, what string, err error, code driver.ErrorCode) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Errorf("%s: error %v has code %v, want %v", what, err, got, code)
	}
}

func key(pk, sk string) driver.Key { return driver.Key{Partition: pk, Sort: sk} }

func put(t *testing.T, d *Driver, k driver.Key, rev string, fields map[string]any) {
	t.Helper()
	if _, err := d.PutDocument(context.Background(), &driver.Document{Key: k, Revision: rev, Fields: fields}, driver.Condition{}); err != nil {
		t.Fatalf("put %v: %v", k, err)
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	k := key("Acme Corp/Ü", "2026/001")
	doc := &driver.Document{Key: k, Revision: "r1", Fields: dynamoDBValidTypes()}
	prev, err := d.PutDocument(ctx, doc, driver.Condition{Kind: driver.MustNotExist})
	if err != nil || prev != nil {
		t.Fatalf("put: %v, %v", prev, err)
	}
	doc.Fields["str"] = "changed after the call" // the driver must not retain doc
	got, err := d.GetDocument(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != k || got.Revision != "r1" {
		t.Fatalf("got %+v", got)
	}
	checkFieldsExact(t, got.Fields, dynamoDBValidTypes())

	_, err = d.GetDocument(ctx, key("Acme Corp/Ü", "2026/002"))
	wantCode(t, "get missing", err, driver.NotFound)
	_, err = d.GetDocument(ctx, key("acme corp/ü", "2026/001"))
	wantCode(t, "get other case", err, driver.NotFound)
}

func TestConditionsAndPrevious(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	k := key("p", "s")
	doc := func(rev, v string) *driver.Document {
		return &driver.Document{Key: k, Revision: rev, Fields: map[string]any{"v": v}}
	}
	_, err := d.PutDocument(ctx, doc("r1", "one"), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r0"})
	wantCode(t, "match on missing", err, driver.FailedPrecondition)
	if _, err := d.PutDocument(ctx, doc("r1", "one"), driver.Condition{Kind: driver.MustNotExist}); err != nil {
		t.Fatal(err)
	}
	_, err = d.PutDocument(ctx, doc("r2", "two"), driver.Condition{Kind: driver.MustNotExist})
	wantCode(t, "create existing", err, driver.AlreadyExists)
	_, err = d.PutDocument(ctx, doc("r2", "two"), driver.Condition{Kind: driver.MustMatchRevision, Revision: "wrong"})
	wantCode(t, "wrong revision", err, driver.FailedPrecondition)
	prev, err := d.PutDocument(ctx, doc("r2", "two"), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	if err != nil || prev == nil || prev.Revision != "r1" || prev.Fields["v"] != "one" {
		t.Fatalf("match: prev %+v, %v", prev, err)
	}
	prev, err = d.PutDocument(ctx, doc("r3", "three"), driver.Condition{})
	if err != nil || prev.Revision != "r2" {
		t.Fatalf("always: prev %+v, %v", prev, err)
	}
	_, err = d.DeleteDocument(ctx, k, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r2"})
	wantCode(t, "delete wrong revision", err, driver.FailedPrecondition)
	_, err = d.DeleteDocument(ctx, k, driver.Condition{Kind: driver.MustNotExist})
	wantCode(t, "delete MustNotExist existing", err, driver.AlreadyExists)
	prev, err = d.DeleteDocument(ctx, k, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r3"})
	if err != nil || prev == nil || prev.Fields["v"] != "three" {
		t.Fatalf("delete: %+v, %v", prev, err)
	}
	prev, err = d.DeleteDocument(ctx, k, driver.Condition{})
	if err != nil || prev != nil {
		t.Fatalf("delete missing: %+v, %v", prev, err)
	}
	_, err = d.DeleteDocument(ctx, k, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r3"})
	wantCode(t, "delete missing with revision", err, driver.FailedPrecondition)
	// The partition's directory went with its last document.
	if ents, _ := d.readDir(docsDir); len(ents) != 0 {
		t.Errorf("docs/ still holds %v", ents)
	}
}

func TestContextDoneWritesNothing(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.PutDocument(ctx, &driver.Document{Key: key("p", "s")}, driver.Condition{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put: %v", err)
	}
	if _, err := d.WriteBlob(ctx, "k", strings.NewReader("x"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("write blob: %v", err)
	}
	if _, err := d.GetDocument(context.Background(), key("p", "s")); errorCode(err) != driver.NotFound {
		t.Fatalf("document written with a done context: %v", err)
	}
	assertNoTemp(t, d)
}

func TestInvalidKeysAndLimits(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, &Options{MaxDocumentBytes: 1000})
	for _, k := range []driver.Key{key("", "s"), key("p", ""), key("\xff", "s"), key("p", "\xfe")} {
		_, err := d.PutDocument(ctx, &driver.Document{Key: k}, driver.Condition{})
		wantCode(t, fmt.Sprintf("put %q", k), err, driver.InvalidArgument)
		_, err = d.GetDocument(ctx, k)
		wantCode(t, fmt.Sprintf("get %q", k), err, driver.InvalidArgument)
	}
	_, err := d.PutDocument(ctx, &driver.Document{Key: key(strings.Repeat("p", MaxPartitionKeyBytes+1), "s")}, driver.Condition{})
	wantCode(t, "long partition key", err, driver.TooLarge)
	_, err = d.PutDocument(ctx, &driver.Document{Key: key("p", strings.Repeat("s", MaxSortKeyBytes+1))}, driver.Condition{})
	wantCode(t, "long sort key", err, driver.TooLarge)
	_, err = d.PutDocument(ctx, &driver.Document{Key: key("p", "s"), Fields: map[string]any{"big": strings.Repeat("x", 1000)}}, driver.Condition{})
	wantCode(t, "big document", err, driver.TooLarge)
	_, err = d.PutDocument(ctx, &driver.Document{Key: key("p", "s"), Fields: map[string]any{"bad": 3}}, driver.Condition{})
	wantCode(t, "bad field type", err, driver.InvalidArgument)
	_, err = d.PutDocument(ctx, &driver.Document{Key: key("p", "s")}, driver.Condition{Kind: 99})
	wantCode(t, "bad condition", err, driver.InvalidArgument)
	assertNoTemp(t, d)

	// Keys at the limits, of the worst kind for the encoding, work.
	long := key(strings.Repeat("€", MaxPartitionKeyBytes/3), strings.Repeat("\x01", MaxSortKeyBytes))
	big := newTestDriver(t, nil)
	put(t, big, long, "r", nil)
	if got, err := big.GetDocument(ctx, long); err != nil || got.Key != long {
		t.Fatalf("long key: %v", err)
	}
	page, err := big.QueryDocuments(ctx, &driver.Query{Partition: long.Partition})
	if err != nil || len(page.Documents) != 1 || page.Documents[0].Key != long {
		t.Fatalf("query long key: %v %v", page, err)
	}
}

func TestNoSortKey(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, &Options{NoSortKey: true, PartitionKey: "id"})
	if info := d.Info(); info.SortKey != "" || info.PartitionKey != "id" {
		t.Fatalf("info %+v", info)
	}
	put(t, d, key("a", ""), "r", map[string]any{"x": int64(1)})
	put(t, d, key("b", ""), "r", nil)
	_, err := d.PutDocument(ctx, &driver.Document{Key: key("a", "s")}, driver.Condition{})
	wantCode(t, "sort key on a table without", err, driver.InvalidArgument)
	got, err := d.GetDocument(ctx, key("a", ""))
	if err != nil || got.Fields["x"] != int64(1) {
		t.Fatalf("get: %v %v", got, err)
	}
	page, err := d.QueryDocuments(ctx, &driver.Query{})
	if err != nil || len(page.Documents) != 2 {
		t.Fatalf("scan: %v %v", page, err)
	}
	if _, err := New(&Options{Dir: t.TempDir(), NoSortKey: true, SortKey: "sk"}); errorCode(err) != driver.InvalidArgument {
		t.Errorf("NoSortKey with SortKey: %v", err)
	}
}

// TestNewNeedsDir checks that New refuses options without a directory,
// with a *driver.Error of code InvalidArgument.
func TestNewNeedsDir(t *testing.T) {
	for _, opts := range []*Options{nil, {}, {NoSync: true}} {
		_, err := New(opts)
		var de *driver.Error
		if !errors.As(err, &de) || de.Code != driver.InvalidArgument {
			t.Errorf("New(%+v): %v, want a *driver.Error with code InvalidArgument", opts, err)
		}
	}
}

func TestQueries(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	// Sort keys chosen so that byte order differs from naive orders
	// (directory order, case-folded order, order of encoded names).
	sks := []string{"a", "A", "a!", "a/", "a/b", "a0", "ab", "b", "Z", "é", "\x01", "~", strings.Repeat("m", 500), strings.Repeat("m", 499) + "n"}
	for i, sk := range sks {
		put(t, d, key("p", sk), "r", map[string]any{"i": int64(i)})
	}
	put(t, d, key("p2", "a"), "r", nil)
	put(t, d, key("P", "a"), "r", nil)
	sorted := slices.Sorted(slices.Values(sks))

	type tc struct {
		q    driver.Query
		want []string
	}
	filter := func(f func(string) bool) []string {
		var out []string
		for _, s := range sorted {
			if f(s) {
				out = append(out, s)
			}
		}
		return out
	}
	cases := []tc{
		{driver.Query{}, sorted},
		{driver.Query{Sort: driver.SortEqual, Value: "a/"}, []string{"a/"}},
		{driver.Query{Sort: driver.SortEqual, Value: "nope"}, nil},
		{driver.Query{Sort: driver.SortPrefix, Value: "a"}, filter(func(s string) bool { return strings.HasPrefix(s, "a") })},
		{driver.Query{Sort: driver.SortBetween, Value: "a/", Value2: "b"}, filter(func(s string) bool { return s >= "a/" && s <= "b" })},
		{driver.Query{Sort: driver.SortLess, Value: "a0"}, filter(func(s string) bool { return s < "a0" })},
		{driver.Query{Sort: driver.SortLessOrEqual, Value: "a0"}, filter(func(s string) bool { return s <= "a0" })},
		{driver.Query{Sort: driver.SortGreater, Value: "a0"}, filter(func(s string) bool { return s > "a0" })},
		{driver.Query{Sort: driver.SortGreaterOrEqual, Value: "a0"}, filter(func(s string) bool { return s >= "a0" })},
	}
	for _, c := range cases {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 1, 3, 100} {
				q := c.q
				q.Partition, q.Descending, q.Limit = "p", desc, limit
				want := slices.Clone(c.want)
				if desc {
					slices.Reverse(want)
				}
				got := queryAll(t, d, &q)
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("query %+v:\n got %q\nwant %q", q, got, want)
				}
			}
		}
	}
	// A scan sees every document once.
	var all []string
	for _, limit := range []int{0, 1, 4} {
		all = nil
		q := &driver.Query{Limit: limit}
		for {
			page, err := d.QueryDocuments(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range page.Documents {
				all = append(all, doc.Key.Partition+"|"+doc.Key.Sort)
			}
			if page.NextPageToken == "" {
				break
			}
			q.PageToken = page.NextPageToken
		}
		uniq := slices.Compact(slices.Sorted(slices.Values(all)))
		if len(all) != len(sks)+2 || len(uniq) != len(all) {
			t.Errorf("scan with limit %d: %d documents, %d distinct, want %d", limit, len(all), len(uniq), len(sks)+2)
		}
	}
	_, err := d.QueryDocuments(ctx, &driver.Query{Sort: driver.SortEqual, Value: "a"})
	wantCode(t, "scan with a sort condition", err, driver.InvalidArgument)
	for _, tok := range []string{"garbage!", "eA", encodeToken('s', []byte("p")), encodeToken('b', []byte("p"))} {
		_, err = d.QueryDocuments(ctx, &driver.Query{Partition: "p", PageToken: tok})
		wantCode(t, "bad token "+tok, err, driver.InvalidArgument)
	}
}

func queryAll(t *testing.T, d *Driver, q *driver.Query) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		page, err := d.QueryDocuments(context.Background(), q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		if q.Limit > 0 && len(page.Documents) > q.Limit {
			t.Fatalf("page of %d documents over the limit %d", len(page.Documents), q.Limit)
		}
		for _, doc := range page.Documents {
			if doc.Key.Partition != q.Partition {
				t.Fatalf("document of partition %q in a query of %q", doc.Key.Partition, q.Partition)
			}
			out = append(out, doc.Key.Sort)
		}
		if page.NextPageToken == "" {
			return out
		}
		if pages > 1000 {
			t.Fatal("query does not end")
		}
		q.PageToken = page.NextPageToken
	}
}

func TestQueryPageBytes(t *testing.T) {
	d := newTestDriver(t, nil)
	big := strings.Repeat("x", 300<<10)
	for i := range 10 {
		put(t, d, key("p", strconv.Itoa(i)), "r", map[string]any{"big": big})
	}
	page, err := d.QueryDocuments(context.Background(), &driver.Query{Partition: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Documents); n != 4 || page.NextPageToken == "" {
		t.Errorf("first page of 300 KiB documents holds %d (token %q), want 4 and a token", n, page.NextPageToken)
	}
	if got := queryAll(t, d, &driver.Query{Partition: "p"}); len(got) != 10 {
		t.Errorf("all pages: %d documents", len(got))
	}
}

// TestConcurrentIncrements checks that conditional writes are atomic
// between goroutines and between two drivers over the same directory.
func TestConcurrentIncrements(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d1, err := New(&Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Close()
	d2, err := New(&Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		drv := d1
		if w%2 == 1 {
			drv = d2
		}
		wg.Go(func() {
			for range each {
				if err := increment(ctx, drv, key("counter", "c")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := d1.GetDocument(ctx, key("counter", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Fields["n"]; n != int64(workers*each) {
		t.Errorf("counter = %v, want %d", n, workers*each)
	}
}

// increment adds one to the counter field "n" of a document, retrying on
// conflicts.
func increment(ctx context.Context, d *Driver, k driver.Key) error {
	for {
		cur, err := d.GetDocument(ctx, k)
		var next *driver.Document
		cond := driver.Condition{Kind: driver.MustNotExist}
		switch {
		case errorCode(err) == driver.NotFound:
			next = &driver.Document{Key: k, Revision: "1", Fields: map[string]any{"n": int64(1)}}
		case err != nil:
			return err
		default:
			n := cur.Fields["n"].(int64)
			next = &driver.Document{Key: k, Revision: strconv.FormatInt(n+1, 10), Fields: map[string]any{"n": n + 1}}
			cond = driver.Condition{Kind: driver.MustMatchRevision, Revision: cur.Revision}
		}
		_, err = d.PutDocument(ctx, next, cond)
		switch errorCode(err) {
		case driver.OK:
			return nil
		case driver.AlreadyExists, driver.FailedPrecondition:
			continue
		}
		return err
	}
}

// assertNoTemp fails if a temporary file is left in the driver's tree.
func assertNoTemp(t *testing.T, d *Driver) {
	t.Helper()
	n := 0
	err := fs.WalkDir(d.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && isTempName(e.Name()) {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d temporary files left behind", n)
	}
}

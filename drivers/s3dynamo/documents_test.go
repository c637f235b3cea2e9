package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/fieldtest"
)

func doc(p, s, rev string, fields map[string]any) *driver.Document {
	return &driver.Document{Key: driver.Key{Partition: p, Sort: s}, Revision: rev, Fields: fields}
}

func wantCode(t *testing.T, d *Driver, err error, want driver.ErrorCode) {
	t.Helper()
	if got := d.ErrorCode(err); got != want {
		t.Fatalf("ErrorCode(%v) = %v, want %v", err, got, want)
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	when := time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	fields := map[string]any{
		"nil":      nil,
		"true":     true,
		"false":    false,
		"int":      int64(-42),
		"maxint":   int64(math.MaxInt64),
		"minint":   int64(math.MinInt64),
		"float":    3.25,
		"small":    1.5e-100,
		"big":      -2.5e100,
		"string":   "héllo, 世界",
		"empty":    "",
		"bytes":    []byte{0, 1, 2, 255},
		"nobytes":  []byte{},
		"time":     when,
		"list":     []any{int64(1), "two", []any{false}, map[string]any{"x": nil}},
		"nolist":   []any{},
		"map":      map[string]any{"a": int64(1), "b": map[string]any{"c": []byte("d")}},
		"nomap":    map[string]any{},
		"unicode€": "field names are UTF-8",
	}
	in := doc("p1", "s1", "rev-1", fields)
	if _, err := f.drv.PutDocument(ctx, in, driver.Condition{}); err != nil {
		t.Fatalf("PutDocument: %v", err)
	}
	got, err := f.drv.GetDocument(ctx, in.Key)
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	if got.Key != in.Key || got.Revision != "rev-1" {
		t.Errorf("key/revision = %+v/%q, want %+v/rev-1", got.Key, got.Revision, in.Key)
	}
	// DynamoDB has no time type: a time is stored as an RFC 3339 string in
	// UTC and read back as that string (the portable layer decodes it into
	// a time.Time field).
	want := driver.CloneFields(fields)
	want["time"] = "2026-03-01T11:30:45.123456789Z"
	if !fieldtest.Equal(got.Fields, want) {
		t.Errorf("fields differ:\n got  %#v\n want %#v", got.Fields, want)
	}
	if _, ok := got.Fields["int"].(int64); !ok {
		t.Errorf("int decoded as %T", got.Fields["int"])
	}
	if _, ok := got.Fields["float"].(float64); !ok {
		t.Errorf("float decoded as %T", got.Fields["float"])
	}
}

// DynamoDB numbers do not know int from float: a float64 with an integral
// value comes back as an int64 (the portable layer converts it back for a
// float field).
func TestIntegralFloatDecodesAsInt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	d := doc("p", "s", "r", map[string]any{"f": 3.0, "big": 1e20})
	if _, err := f.drv.PutDocument(ctx, d, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	got, err := f.drv.GetDocument(ctx, d.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields["f"] != int64(3) {
		t.Errorf("3.0 decoded as %#v", got.Fields["f"])
	}
	if got.Fields["big"] != 1e20 {
		t.Errorf("1e20 decoded as %#v", got.Fields["big"])
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	for name, fields := range map[string]map[string]any{
		"NaN":          {"x": math.NaN()},
		"Inf":          {"x": []any{math.Inf(1)}},
		"type":         {"x": int32(1)},
		"key field":    {"pk": "x"},
		"revision":     {revisionAttr: "x"},
		"out of range": {"x": 1e300},
		"empty name":   {"m": map[string]any{"": "x"}},
	} {
		_, err := f.drv.PutDocument(ctx, doc("p", "s", "r", fields), driver.Condition{})
		if got := f.drv.ErrorCode(err); got != driver.InvalidArgument {
			t.Errorf("%s: PutDocument error %v (code %v), want InvalidArgument", name, err, got)
		}
	}
	if _, err := f.drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"}); f.drv.ErrorCode(err) != driver.NotFound {
		t.Errorf("a rejected document was stored: %v", err)
	}
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := f.drv.GetDocument(testContext(t), driver.Key{Partition: "nope", Sort: "nope"})
	wantCode(t, f.drv, err, driver.NotFound)
}

func TestConditions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	d1 := doc("p", "s", "r1", map[string]any{"v": int64(1)})
	if _, err := f.drv.PutDocument(ctx, d1, driver.Condition{Kind: driver.MustNotExist}); err != nil {
		t.Fatalf("create: %v", err)
	}
	_, err := f.drv.PutDocument(ctx, doc("p", "s", "r2", nil), driver.Condition{Kind: driver.MustNotExist})
	wantCode(t, f.drv, err, driver.AlreadyExists)
	var ccf *types.ConditionalCheckFailedException
	if !f.drv.ErrorAs(err, &ccf) {
		t.Errorf("ErrorAs(%v) did not reach the ConditionalCheckFailedException", err)
	}

	_, err = f.drv.PutDocument(ctx, doc("p", "s", "r2", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "wrong"})
	wantCode(t, f.drv, err, driver.FailedPrecondition)
	_, err = f.drv.PutDocument(ctx, doc("p", "missing", "r2", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	wantCode(t, f.drv, err, driver.FailedPrecondition)
	if _, err := f.drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "missing"}); f.drv.ErrorCode(err) != driver.NotFound {
		t.Errorf("a failed conditional write created a document: %v", err)
	}

	prev, err := f.drv.PutDocument(ctx, doc("p", "s", "r2", map[string]any{"v": int64(2)}), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	if err != nil {
		t.Fatalf("update with the right revision: %v", err)
	}
	if prev == nil || prev.Revision != "r1" {
		t.Errorf("previous = %+v, want revision r1", prev)
	}

	_, err = f.drv.DeleteDocument(ctx, d1.Key, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	wantCode(t, f.drv, err, driver.FailedPrecondition)
	_, err = f.drv.DeleteDocument(ctx, driver.Key{Partition: "p", Sort: "missing"}, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	wantCode(t, f.drv, err, driver.FailedPrecondition)
	prev, err = f.drv.DeleteDocument(ctx, d1.Key, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r2"})
	if err != nil || prev == nil || prev.Fields["v"] != int64(2) {
		t.Fatalf("delete with the right revision = %+v, %v", prev, err)
	}
}

func TestPreviousDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	key := driver.Key{Partition: "p", Sort: "s"}
	prev, err := f.drv.PutDocument(ctx, doc("p", "s", "r1", map[string]any{"n": "one"}), driver.Condition{})
	if err != nil || prev != nil {
		t.Fatalf("first put = %+v, %v; want nil, nil", prev, err)
	}
	prev, err = f.drv.PutDocument(ctx, doc("p", "s", "r2", map[string]any{"n": "two"}), driver.Condition{})
	if err != nil || prev == nil {
		t.Fatalf("second put = %+v, %v", prev, err)
	}
	if prev.Key != key || prev.Revision != "r1" || !fieldtest.Equal(prev.Fields, map[string]any{"n": "one"}) {
		t.Errorf("previous = %+v", prev)
	}
	prev, err = f.drv.DeleteDocument(ctx, key, driver.Condition{})
	if err != nil || prev == nil || prev.Revision != "r2" || prev.Fields["n"] != "two" {
		t.Fatalf("delete = %+v, %v", prev, err)
	}
	prev, err = f.drv.DeleteDocument(ctx, key, driver.Condition{})
	if err != nil || prev != nil {
		t.Fatalf("delete of a missing document = %+v, %v; want nil, nil", prev, err)
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	sorts := []string{"a", "ab", "abc", "b", "ba", "c", "z", "é"} // byte order
	for _, s := range sorts {
		if _, err := f.drv.PutDocument(ctx, doc("p", s, "r", map[string]any{"s": s}), driver.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.drv.PutDocument(ctx, doc("other", "a", "r", nil), driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		op     driver.SortOp
		v, v2  string
		expect []string
	}{
		{"any", driver.SortAny, "", "", sorts},
		{"equal", driver.SortEqual, "ab", "", []string{"ab"}},
		{"equal none", driver.SortEqual, "abd", "", nil},
		{"prefix", driver.SortPrefix, "a", "", []string{"a", "ab", "abc"}},
		{"prefix empty", driver.SortPrefix, "", "", sorts},
		{"between", driver.SortBetween, "ab", "ba", []string{"ab", "abc", "b", "ba"}},
		{"between reversed", driver.SortBetween, "ba", "ab", nil},
		{"between from empty", driver.SortBetween, "", "ab", []string{"a", "ab"}},
		{"between to empty", driver.SortBetween, "a", "", nil},
		{"less", driver.SortLess, "b", "", []string{"a", "ab", "abc"}},
		{"less empty", driver.SortLess, "", "", nil},
		{"less or equal", driver.SortLessOrEqual, "b", "", []string{"a", "ab", "abc", "b"}},
		{"less or equal empty", driver.SortLessOrEqual, "", "", nil},
		{"greater", driver.SortGreater, "c", "", []string{"z", "é"}},
		{"greater empty", driver.SortGreater, "", "", sorts},
		{"greater or equal", driver.SortGreaterOrEqual, "c", "", []string{"c", "z", "é"}},
		{"greater or equal empty", driver.SortGreaterOrEqual, "", "", sorts},
	}
	for _, c := range cases {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 2} {
				name := fmt.Sprintf("%s/desc=%v/limit=%d", c.name, desc, limit)
				q := &driver.Query{Partition: "p", Sort: c.op, Value: c.v, Value2: c.v2, Descending: desc, Limit: limit}
				got := queryAll(ctx, t, f.drv, q, name)
				want := append([]string(nil), c.expect...)
				if desc {
					for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
						want[i], want[j] = want[j], want[i]
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
		}
	}

	// A scan sees every partition.
	all := queryAll(ctx, t, f.drv, &driver.Query{Limit: 3}, "scan")
	if len(all) != len(sorts)+1 {
		t.Errorf("scan returned %d documents, want %d", len(all), len(sorts)+1)
	}

	_, err := f.drv.QueryDocuments(ctx, &driver.Query{Partition: "p", PageToken: "!!"})
	wantCode(t, f.drv, err, driver.InvalidArgument)
	_, err = f.drv.QueryDocuments(ctx, &driver.Query{Partition: "p", PageToken: "e30"}) // {}
	wantCode(t, f.drv, err, driver.InvalidArgument)
}

// queryAll follows page tokens to the end and returns the sort keys seen.
func queryAll(ctx context.Context, t *testing.T, d *Driver, q *driver.Query, name string) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatalf("%s: too many pages", name)
		}
		page, err := d.QueryDocuments(ctx, q)
		if err != nil {
			t.Fatalf("%s: QueryDocuments: %v", name, err)
		}
		if q.Limit > 0 && len(page.Documents) > q.Limit {
			t.Errorf("%s: page of %d documents over limit %d", name, len(page.Documents), q.Limit)
		}
		for _, doc := range page.Documents {
			out = append(out, doc.Key.Sort)
		}
		if page.NextPageToken == "" {
			return out
		}
		next := *q
		next.PageToken = page.NextPageToken
		q = &next
	}
}

func TestNoSortKeyTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) {
		o.NoSortKey = true
		o.PartitionKey = "id"
	})
	ctx := testContext(t)
	if info := f.drv.Info(); info.PartitionKey != "id" || info.SortKey != "" {
		t.Fatalf("Info = %+v", info)
	}
	for _, p := range []string{"a", "b", "c"} {
		if _, err := f.drv.PutDocument(ctx, doc(p, "", "r", map[string]any{"x": p}), driver.Condition{Kind: driver.MustNotExist}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.drv.GetDocument(ctx, driver.Key{Partition: "b"})
	if err != nil || got.Fields["x"] != "b" || got.Key.Sort != "" {
		t.Fatalf("GetDocument = %+v, %v", got, err)
	}
	page, err := f.drv.QueryDocuments(ctx, &driver.Query{Partition: "c"})
	if err != nil || len(page.Documents) != 1 {
		t.Fatalf("query = %+v, %v", page, err)
	}
	_, err = f.drv.QueryDocuments(ctx, &driver.Query{Partition: "c", Sort: driver.SortEqual, Value: "x"})
	wantCode(t, f.drv, err, driver.InvalidArgument)
	if n := len(queryAll(ctx, t, f.drv, &driver.Query{Limit: 1}, "scan")); n != 3 {
		t.Errorf("scan found %d documents", n)
	}
}

func TestDocumentTooLarge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	big := strings.Repeat("x", 410*1024)
	_, err := f.drv.PutDocument(ctx, doc("p", "s", "r", map[string]any{"big": big}), driver.Condition{})
	wantCode(t, f.drv, err, driver.TooLarge)
}

func TestWriteWithDoneContextSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.drv.PutDocument(ctx, doc("p", "s", "r", nil), driver.Condition{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("PutDocument: %v", err)
	}
	_, err = f.drv.DeleteDocument(ctx, driver.Key{Partition: "p", Sort: "s"}, driver.Condition{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteDocument: %v", err)
	}
	_, err = f.drv.WriteBlob(ctx, "k", strings.NewReader("x"), &driver.WriteOptions{Size: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WriteBlob: %v", err)
	}
	if err := f.drv.DeleteBlob(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteBlob: %v", err)
	}
	if reqs := f.wire.requests(); len(reqs) != 0 {
		t.Errorf("%d requests sent with a done context", len(reqs))
	}
}

// A conditional write whose attempt was applied but whose response was
// lost must not be reported as a definite failure (the portable layer
// would delete the payloads of a committed document): the driver does not
// let the SDK re-send it, and reports the failure as ambiguous.
func TestLostResponseIsNotADefiniteFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	key := driver.Key{Partition: "p", Sort: "s"}

	f.wire.loseResponses("PutItem", 1)
	_, err := f.drv.PutDocument(ctx, doc("p", "s", "r1", nil), driver.Condition{Kind: driver.MustNotExist})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) {
		t.Errorf("create after a lost response: %v (code %v), want an ambiguous code", err, c)
	}
	if got, err := f.drv.GetDocument(ctx, key); err != nil || got.Revision != "r1" {
		t.Fatalf("the create was not applied: %+v, %v", got, err)
	}

	f.wire.loseResponses("PutItem", 1)
	_, err = f.drv.PutDocument(ctx, doc("p", "s", "r2", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) {
		t.Errorf("update after a lost response: %v (code %v), want an ambiguous code", err, c)
	}
	if got, err := f.drv.GetDocument(ctx, key); err != nil || got.Revision != "r2" {
		t.Fatalf("the update was not applied: %+v, %v", got, err)
	}

	// A lost response is ambiguous even for a write that failed its
	// condition: the client cannot tell. With the response, it is definite.
	f.wire.loseResponses("PutItem", 1)
	_, err = f.drv.PutDocument(ctx, doc("p", "other", "r3", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "nope"})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) {
		t.Errorf("conflict with a lost response: %v (code %v), want an ambiguous code", err, c)
	}
	_, err = f.drv.PutDocument(ctx, doc("p", "other", "r3", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "nope"})
	wantCode(t, f.drv, err, driver.FailedPrecondition)
	puts := 0
	for _, r := range f.wire.requests() {
		if strings.HasSuffix(r.op, ".PutItem") {
			puts++
		}
	}
	if puts != 4 {
		t.Errorf("%d PutItem requests for 4 writes; a lost response must not be re-sent", puts)
	}

	f.wire.loseResponses("DeleteItem", 1)
	_, err = f.drv.DeleteDocument(ctx, key, driver.Condition{Kind: driver.MustMatchRevision, Revision: "r2"})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) {
		t.Errorf("delete after a lost response: %v (code %v), want an ambiguous code", err, c)
	}
	if _, err := f.drv.GetDocument(ctx, key); f.drv.ErrorCode(err) != driver.NotFound {
		t.Fatalf("the delete was not applied: %v", err)
	}
}

// An unconditional write or delete whose response was lost is not re-sent
// (a re-sent write could land after another writer's commit) and is
// reported as ambiguous.
func TestLostResponseUnconditional(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	key := driver.Key{Partition: "p", Sort: "s"}
	if _, err := f.drv.PutDocument(ctx, doc("p", "s", "r1", map[string]any{"v": "one"}), driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	f.wire.loseResponses("PutItem", 1)
	prev, err := f.drv.PutDocument(ctx, doc("p", "s", "r2", map[string]any{"v": "two"}), driver.Condition{})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) || err == nil {
		t.Errorf("put after a lost response = %+v, %v (code %v); want an ambiguous error", prev, err, c)
	}
	if got, err := f.drv.GetDocument(ctx, key); err != nil || got.Revision != "r2" {
		t.Fatalf("the put was not applied: %+v, %v", got, err)
	}
	f.wire.loseResponses("DeleteItem", 1)
	prev, err = f.drv.DeleteDocument(ctx, key, driver.Condition{})
	if c := f.drv.ErrorCode(err); driver.IsDefinite(c) || err == nil {
		t.Errorf("delete after a lost response = %+v, %v (code %v); want an ambiguous error", prev, err, c)
	}
	if _, err := f.drv.GetDocument(ctx, key); f.drv.ErrorCode(err) != driver.NotFound {
		t.Fatalf("the delete was not applied: %v", err)
	}
}

package docblob_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// TestTimesAreStoredAsText checks that a time.Time is stored as DynamoDB
// keeps it, its RFC 3339 text in UTC, on the memory driver too: a
// map[string]any document gets the text back, not a time.Time, and a
// time.Time field decodes from it. (The memory driver used to give back
// the time.Time, where DynamoDB gives the string.)
func TestTimesAreStoredAsText(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	when := time.Date(2026, 3, 1, 12, 30, 45, 5, time.FixedZone("CET", 3600))
	const text = "2026-03-01T11:30:45.000000005Z"
	doc := map[string]any{"pk": "p", "sk": "map", "t": when, "nested": map[string]any{"l": []any{when, &when}}}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	raw, err := drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "map"})
	if err != nil {
		t.Fatal(err)
	}
	wantNested := map[string]any{"l": []any{text, text}}
	if raw.Fields["t"] != text || !reflect.DeepEqual(raw.Fields["nested"], wantNested) {
		t.Errorf("stored %#v, want the text %q", raw.Fields, text)
	}
	got := map[string]any{"pk": "p", "sk": "map"}
	if err := s.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got["t"] != text || !reflect.DeepEqual(got["nested"], wantNested) {
		t.Errorf("Get into a map: t = %#v (%T), nested = %#v", got["t"], got["t"], got["nested"])
	}

	type timed struct {
		PK     string `docstore:"pk"`
		SK     string `docstore:"sk"`
		T      time.Time
		P      *time.Time
		Nested struct{ L []time.Time } `docstore:"nested"`
	}
	// The fast path (a flat struct) and the general path (nested) alike.
	in := &timed{PK: "p", SK: "struct", T: when, P: &when}
	in.Nested.L = []time.Time{when}
	if err := s.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	out := &timed{PK: "p", SK: "struct"}
	if err := s.Get(ctx, out); err != nil {
		t.Fatal(err)
	}
	if !out.T.Equal(when) || out.T.Location() != time.UTC || out.P == nil || !out.P.Equal(when) ||
		len(out.Nested.L) != 1 || !out.Nested.L[0].Equal(when) {
		t.Errorf("Get into time fields = %+v, want %v in UTC", out, when)
	}
	raw, err = drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "struct"})
	if err != nil {
		t.Fatal(err)
	}
	if raw.Fields["T"] != text || raw.Fields["P"] != text {
		t.Errorf("stored time fields as %#v", raw.Fields)
	}
}

// TestTimesOutsideRFC3339AreRefused checks that a time with no RFC 3339
// text is refused, on the fast path and the general path.
func TestTimesOutsideRFC3339AreRefused(t *testing.T) {
	ctx := context.Background()
	s, _ := newDecimalStore(t)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	type flat struct {
		PK string `docstore:"pk"`
		SK string `docstore:"sk"`
		T  time.Time
	}
	for _, doc := range []any{
		&flat{PK: "p", SK: "s", T: far},
		&flat{PK: "p", SK: "s", T: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		map[string]any{"pk": "p", "sk": "s", "t": far},
		map[string]any{"pk": "p", "sk": "s", "l": []any{far}},
	} {
		err := s.Put(ctx, doc)
		if docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("Put of %v: %v, want InvalidArgument", doc, err)
		}
	}
}

// TestTimeKeysAreRefused checks that a time.Time is no key, before as
// after times became text.
func TestTimeKeysAreRefused(t *testing.T) {
	ctx := context.Background()
	s, _ := newDecimalStore(t)
	type timeKey struct {
		PK string    `docstore:"pk"`
		SK time.Time `docstore:"sk"`
	}
	for _, doc := range []any{
		&timeKey{PK: "p", SK: time.Now()},
		map[string]any{"pk": "p", "sk": time.Now()},
		map[string]any{"pk": time.Now(), "sk": "s"},
	} {
		if err := s.Put(ctx, doc); docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), "want a string") {
			t.Errorf("Put of %v: %v, want InvalidArgument", doc, err)
		}
	}
	if err := s.Get(ctx, &timeKey{PK: "p", SK: time.Now()}); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("Get: %v, want InvalidArgument", err)
	}
}

// TestNumbersAreStoredCanonical checks that numbers are stored as DynamoDB
// gives them back, and decode into typed fields as they were.
func TestNumbersAreStoredCanonical(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	type nums struct {
		PK  string          `docstore:"pk"`
		SK  string          `docstore:"sk"`
		F   float64         `docstore:"f"`
		F32 float32         `docstore:"f32"`
		U64 uint64          `docstore:"u64"`
		UF  uint64          `docstore:"uf"`
		D   docblob.Decimal `docstore:"d"`
		L   []float64       `docstore:"l"`
		Any any             `docstore:"any"`
	}
	in := &nums{PK: "p", SK: "n", F: 3, F32: 2, U64: math.MaxUint64, UF: 1e19, D: "1.50", L: []float64{1, 1.5}, Any: 4.0}
	if err := s.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	raw, err := drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "n"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"f": int64(3), "f32": int64(2), "u64": driver.Decimal("18446744073709551615"), "uf": 1e19,
		"d": 1.5, "l": []any{int64(1), 1.5}, "any": int64(4)}
	if !reflect.DeepEqual(raw.Fields, want) {
		t.Errorf("stored\n%#v\nwant\n%#v", raw.Fields, want)
	}
	out := &nums{PK: "p", SK: "n"}
	if err := s.Get(ctx, out); err != nil {
		t.Fatal(err)
	}
	in.D, in.Any = "1.5", int64(4)
	if !reflect.DeepEqual(out, in) {
		t.Errorf("Get = %+v, want %+v", out, in)
	}
}

// TestOldBinaryTimesDecode checks that a *time.Time stored by older
// versions, as the bytes of its MarshalBinary, still decodes.
func TestOldBinaryTimesDecode(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	when := time.Date(2026, 3, 1, 12, 30, 45, 5, time.UTC)
	b, err := when.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	key := driver.Key{Partition: "p", Sort: "old"}
	if _, err := drv.PutDocument(ctx, &driver.Document{Key: key, Fields: map[string]any{"p": b}}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	out := &struct {
		PK string     `docstore:"pk"`
		SK string     `docstore:"sk"`
		P  *time.Time `docstore:"p"`
	}{PK: "p", SK: "old"}
	if err := s.Get(ctx, out); err != nil {
		t.Fatal(err)
	}
	if out.P == nil || !out.P.Equal(when) {
		t.Errorf("Get = %v, want %v", out.P, when)
	}
}

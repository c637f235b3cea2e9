package docblob

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	gdriver "gocloud.dev/docstore/driver"
)

// TestEncodeDocumentIsCanonical checks that the encoder hands drivers
// canonical values only (driver.CanonicalValue), so that every driver,
// returning them as given, returns what DynamoDB does.
func TestEncodeDocumentIsCanonical(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 30, 45, 5, time.FixedZone("", -3600))
	const text = "2026-03-01T13:30:45.000000005Z"
	doc := map[string]any{
		"pk": "p", "sk": when, // a time key stays a time, to be refused as a key
		"t": when, "tp": &when, "tnil": (*time.Time)(nil),
		"f": 2.0, "f32": float32(0.25), "fz": math.Copysign(0, -1), "fl": float64(1 << 60),
		"u": uint64(math.MaxUint64), "u8": uint8(1),
		"d": Decimal("1.50"), "dbig": Decimal("1.2345678901234567891E+30"), "dempty": Decimal(""),
		"ss": StringSet{"b", "a"}, "ns": NumberSet{"1e1", "2"}, "bs": BinarySet{{1}, {0}}, "sempty": StringSet{},
		"b": []byte{1}, "bnil": []byte(nil),
		"l":  []any{1.0, when, []time.Time{when}, map[string]any{"d": Decimal("7")}},
		"st": struct{ T time.Time }{when},
	}
	g, err := gdriver.NewDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := encodeDocument(g, "pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"pk": "p", "sk": when,
		"t": text, "tp": text, "tnil": nil,
		"f": int64(2), "f32": 0.25, "fz": int64(0), "fl": int64(1152921504606847000),
		"u": Decimal("18446744073709551615"), "u8": int64(1),
		"d": 1.5, "dbig": Decimal("1234567890123456789100000000000"), "dempty": nil,
		"ss": StringSet{"a", "b"}, "ns": NumberSet{"2", "10"}, "bs": BinarySet{{0}, {1}}, "sempty": nil,
		"b": []byte{1}, "bnil": nil,
		"l":  []any{int64(1), text, []any{text}, map[string]any{"d": int64(7)}},
		"st": map[string]any{"T": text},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encoded\n%#v\nwant\n%#v", got, want)
	}
	delete(got, "sk")
	if !reflect.DeepEqual(driver.CanonicalFields(got), got) {
		t.Errorf("encoded values are not canonical: %#v", got)
	}
	// The sets the document holds are left as they were.
	if doc["ss"].(StringSet)[0] != "b" || doc["bs"].(BinarySet)[0][0] != 1 {
		t.Errorf("encoding changed the document's sets: %v", doc)
	}
}

// TestEncodeStructIsCanonical checks that struct documents, whose fields
// have Go types, encode to canonical values too, leaving time keys as they
// are and refusing times that have no RFC 3339 text.
func TestEncodeStructIsCanonical(t *testing.T) {
	s := planStore()
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("", 3600))
	type timeKey struct {
		PK string    `docstore:"pk"`
		SK time.Time `docstore:"sk"`
		T  time.Time `docstore:"t"`
	}
	for _, tc := range []struct {
		doc  any
		want map[string]any // nil if refused
	}{
		{&planDocNumbers{PK: "p", SK: "s", I: 1, F: 3, F32: 2.5, D: "4.0", NS: NumberSet{"3", "1.0"}, Any: 4.0},
			map[string]any{"pk": "p", "sk": "s", "i": int64(1), "f": int64(3), "f32": 2.5, "d": int64(4), "ss": nil, "ns": NumberSet{"1", "3"}, "bs": nil, "any": int64(4)}},
		{&planDoc{PK: "p", SK: "s", F: 2, T: when, Any: 4.0},
			map[string]any{"pk": "p", "sk": "s", "n": int64(0), "F": int64(2), "ok": false, "t": "2026-03-01T11:00:00Z", "file": nil, "any": int64(4), "DocstoreRevision": nil}},
		{&planDoc{PK: "p", SK: "s", F: 2.5, Any: 0.5},
			map[string]any{"pk": "p", "sk": "s", "n": int64(0), "F": 2.5, "ok": false, "t": "0001-01-01T00:00:00Z", "file": nil, "any": 0.5, "DocstoreRevision": nil}},
		{&timeKey{PK: "p", SK: when, T: when},
			map[string]any{"pk": "p", "sk": when, "t": "2026-03-01T11:00:00Z"}},
		{&planDoc{PK: "p", SK: "s", T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil},
	} {
		d, err := s.newDocument("put", tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.encode(d)
		switch {
		case tc.want == nil:
			if err == nil {
				t.Errorf("%+v: encoded, want an error", tc.doc)
			}
		case err != nil:
			t.Errorf("%+v: %v", tc.doc, err)
		case !reflect.DeepEqual(got, tc.want):
			t.Errorf("%+v: encoded\n%#v\nwant\n%#v", tc.doc, got, tc.want)
		}
	}
}

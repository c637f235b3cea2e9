package conformance

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// valueTime is the time the value-type tests store, in a zone other than
// UTC, and valueTimeText its canonical form.
var (
	valueTime     = time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("", 2*3600))
	valueTimeText = "2026-03-01T10:30:45.123456789Z"
)

// valueTypes is the canonical form of every kind of value (see
// driver.Document): a field holding value, written through the Store in
// a map[string]any document, reads back as want, the same Go type and
// value on every driver, and the driver itself holds want.
var valueTypes = []struct {
	name  string
	value any
	want  any
}{
	{"Nil", nil, nil},
	{"True", true, true},
	{"False", false, false},
	{"String", "héllo \u2028 <&>", "héllo \u2028 <&>"},
	{"EmptyString", "", ""},
	{"Int", 42, int64(42)},
	{"Int8", int8(-8), int64(-8)},
	{"Int32", int32(math.MaxInt32), int64(math.MaxInt32)},
	{"Int64Min", int64(math.MinInt64), int64(math.MinInt64)},
	{"Int64Max", int64(math.MaxInt64), int64(math.MaxInt64)},
	{"Uint8", uint8(255), int64(255)},
	{"Uint", uint(7), int64(7)},
	{"Uint64Int", uint64(math.MaxInt64), int64(math.MaxInt64)},
	{"Uint64Max", uint64(math.MaxUint64), driver.Decimal("18446744073709551615")},
	{"Uint64Float", uint64(1e19), 1e19}, // a float64 is exactly that number
	{"Float", 1.5, 1.5},
	{"FloatNegative", -0.1, -0.1},
	{"FloatIntegral", 3.0, int64(3)},
	{"FloatNegativeIntegral", -2e15, int64(-2e15)},
	{"FloatNegativeZero", math.Copysign(0, -1), int64(0)},
	{"FloatZero", 0.0, int64(0)},
	// Its shortest text, 1.152921504606847e+18, is another integer.
	{"FloatLargeIntegral", float64(1 << 60), int64(1152921504606847000)},
	{"FloatBeyondInt64", 1e20, 1e20},
	{"FloatTiny", 1e-130, 1e-130},
	{"FloatHuge", -9.87654321e125, -9.87654321e125},
	{"Float32", float32(0.1), float64(float32(0.1))},
	{"Float32Integral", float32(2), int64(2)},
	{"DecimalInt", docblob.Decimal("4.2e1"), int64(42)},
	{"DecimalNegativeZero", docblob.Decimal("-0.000"), int64(0)},
	{"DecimalFloat", docblob.Decimal("1.50"), 1.5},
	{"DecimalTenth", docblob.Decimal("0.1"), 0.1},
	{"DecimalBeyondInt64", docblob.Decimal("12345678901234567890"), driver.Decimal("12345678901234567890")},
	{"DecimalDigits", docblob.Decimal("+012345678901234567890.10"), driver.Decimal("12345678901234567890.1")},
	{"Decimal38Digits", docblob.Decimal("3.1415926535897932384626433832795028"), driver.Decimal("3.1415926535897932384626433832795028")},
	{"DecimalExponent", docblob.Decimal("-9.9999999999999999999999999999999999999E+125"),
		driver.Decimal("-" + strings.Repeat("9", 38) + strings.Repeat("0", 88))},
	{"DecimalSmall", docblob.Decimal("3.1415926535897932384626433832795028E-100"),
		driver.Decimal("0." + strings.Repeat("0", 99) + "31415926535897932384626433832795028")},
	{"DecimalEmpty", docblob.Decimal(""), nil},
	{"Time", valueTime, valueTimeText},
	{"TimeUTC", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "2026-03-01T12:00:00Z"},
	{"TimeMicroseconds", time.Date(2026, 3, 1, 12, 0, 0, 1000, time.UTC), "2026-03-01T12:00:00.000001Z"},
	{"TimeZero", time.Time{}, "0001-01-01T00:00:00Z"},
	{"TimeYear9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999999Z"},
	{"TimePointer", &valueTime, valueTimeText},
	{"Bytes", []byte{0, 1, 255}, []byte{0, 1, 255}},
	{"EmptyBytes", []byte{}, []byte{}},
	{"NilBytes", []byte(nil), nil},
	{"List", []any{int64(1), "a", 2.0, nil, valueTime, docblob.Decimal("7"), []byte{1}, true},
		[]any{int64(1), "a", int64(2), nil, valueTimeText, int64(7), []byte{1}, true}},
	{"TypedList", []int{1, 2}, []any{int64(1), int64(2)}},
	{"TimeList", []time.Time{valueTime}, []any{valueTimeText}},
	{"EmptyList", []any{}, []any{}},
	{"NilList", []any(nil), nil},
	{"Map", map[string]any{"t": valueTime, "f": 2.0, "m": map[string]any{"d": docblob.Decimal("0.50"), "l": []any{1.5, 4.0}}},
		map[string]any{"t": valueTimeText, "f": int64(2), "m": map[string]any{"d": 0.5, "l": []any{1.5, int64(4)}}}},
	{"TypedMap", map[string]uint16{"a": 1}, map[string]any{"a": int64(1)}},
	{"EmptyMap", map[string]any{}, map[string]any{}},
	{"NilMap", map[string]any(nil), nil},
	{"Struct", struct {
		A int
		T time.Time
		F float32
	}{A: 1, T: valueTime, F: 8}, map[string]any{"A": int64(1), "T": valueTimeText, "F": int64(8)}},
	{"StringSet", docblob.StringSet{"b", "é", "a", ""}, driver.StringSet{"", "a", "b", "é"}},
	{"NumberSet", docblob.NumberSet{"10", "1.50", "-3", "1e2", "0.001", "-0.5"}, driver.NumberSet{"-3", "-0.5", "0.001", "1.5", "10", "100"}},
	{"BinarySet", docblob.BinarySet{{2}, {1, 0}, {}, {1}}, driver.BinarySet{{}, {1}, {1, 0}, {2}}},
	{"EmptySet", docblob.StringSet{}, nil},
	{"NestedSets", []any{docblob.NumberSet{"2", "1"}, map[string]any{"s": docblob.StringSet{"y", "x"}}},
		[]any{driver.NumberSet{"1", "2"}, map[string]any{"s": driver.StringSet{"x", "y"}}}},
}

// valueTypesDoc is a struct document whose typed fields decode from the
// canonical values.
type valueTypesDoc struct {
	PK   string            `docstore:"pk"`
	SK   string            `docstore:"sk"`
	T    time.Time         `docstore:"t"`
	TP   *time.Time        `docstore:"tp"`
	TL   []time.Time       `docstore:"tl"`
	F    float64           `docstore:"f"`
	F32  float32           `docstore:"f32"`
	U64  uint64            `docstore:"u64"`
	U    uint              `docstore:"u"`
	I8   int8              `docstore:"i8"`
	D    docblob.Decimal   `docstore:"d"`
	SS   docblob.StringSet `docstore:"ss"`
	NS   docblob.NumberSet `docstore:"ns"`
	B    []byte            `docstore:"b"`
	Any  any               `docstore:"any"`
	Anys []any             `docstore:"anys"`
}

// testValueTypes checks that every driver gives back every kind of value
// in the same canonical form, Go type and value (see driver.Document): a
// document written through the Store reads back into a map[string]any
// exactly as valueTypes says, by Get and by Query, and the driver holds
// those values; typed struct fields decode from them.
func testValueTypes(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	raw := e.rawDriver()
	const partition = "valuetypes"
	key := driver.Key{Partition: partition, Sort: "all"}
	doc := map[string]any{"pk": key.Partition, "sk": key.Sort}
	for _, tc := range valueTypes {
		doc[tc.name] = tc.value
	}
	must(t, e.store.Put(e.ctx, doc), "Put of every value type")
	got := map[string]any{"pk": key.Partition, "sk": key.Sort}
	must(t, e.store.Get(e.ctx, got), "Get into a map")
	stored, err := raw.GetDocument(e.ctx, key)
	must(t, err, "raw GetDocument")
	var queried map[string]any
	it := e.store.Query(e.ctx, &docblob.Query{Partition: partition})
	for {
		m := map[string]any{}
		err := it.Next(m)
		if err == io.EOF {
			break
		}
		must(t, err, "Query")
		if m["sk"] == key.Sort {
			queried = m
		}
	}
	if queried == nil {
		t.Fatal("Query did not return the document")
	}

	for _, tc := range valueTypes {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				what   string
				fields map[string]any
			}{{"Get", got}, {"Query", queried}, {"the driver", stored.Fields}} {
				v, ok := r.fields[tc.name]
				switch {
				case !ok:
					t.Errorf("%s: the field is missing; want %s", r.what, show(tc.want))
				case !reflect.DeepEqual(v, tc.want):
					t.Errorf("%s: %#v gives %s, want %s", r.what, tc.value, show(v), show(tc.want))
				}
			}
		})
	}

	t.Run("GetPut", func(t *testing.T) {
		// The canonical form is stable: the map that Get returned, put
		// back, stores the same values.
		must(t, e.store.Put(e.ctx, got), "Put of the map Get returned")
		again, err := raw.GetDocument(e.ctx, key)
		must(t, err, "raw GetDocument")
		if !reflect.DeepEqual(again.Fields, stored.Fields) {
			t.Errorf("after Get and Put, the stored fields are\n%#v\nnot\n%#v", again.Fields, stored.Fields)
		}
	})

	t.Run("StructFields", func(t *testing.T) {
		tp := valueTime.Add(time.Hour)
		in := &valueTypesDoc{PK: partition, SK: "struct", T: valueTime, TP: &tp, TL: []time.Time{valueTime, time.Time{}},
			F: 3, F32: 0.5, U64: math.MaxUint64, U: 7, I8: -128, D: "1.50", SS: docblob.StringSet{"b", "a"},
			NS: docblob.NumberSet{"2", "1e0"}, B: []byte{}, Any: valueTime, Anys: []any{2.0, docblob.Decimal("0.1")}}
		must(t, e.store.Put(e.ctx, in), "Put")
		out := &valueTypesDoc{PK: partition, SK: "struct"}
		must(t, e.store.Get(e.ctx, out), "Get")
		for i, pair := range [][2]time.Time{{out.T, in.T}, {derefTime(out.TP), tp}, {at(out.TL, 0), valueTime}, {at(out.TL, 1), time.Time{}}} {
			if !pair[0].Equal(pair[1]) || pair[0].Location() != time.UTC {
				t.Errorf("time %d reads back as %v, want %v in UTC", i, pair[0], pair[1].UTC())
			}
		}
		if len(out.TL) != 2 {
			t.Errorf("TL = %v", out.TL)
		}
		want := valueTypesDoc{PK: partition, SK: "struct", F: 3, F32: 0.5, U64: math.MaxUint64, U: 7, I8: -128,
			D: "1.5", SS: docblob.StringSet{"a", "b"}, NS: docblob.NumberSet{"1", "2"}, B: []byte{},
			Any: valueTimeText, Anys: []any{int64(2), 0.1}}
		out.T, out.TP, out.TL = time.Time{}, nil, nil
		if !reflect.DeepEqual(*out, want) {
			t.Errorf("Get = %+v\nwant  %+v", *out, want)
		}
		m := map[string]any{"pk": partition, "sk": "struct"}
		must(t, e.store.Get(e.ctx, m), "Get into a map")
		for k, w := range map[string]any{"t": valueTimeText, "tl": []any{valueTimeText, "0001-01-01T00:00:00Z"},
			"f": int64(3), "f32": 0.5, "u64": driver.Decimal("18446744073709551615"), "i8": int64(-128),
			"d": 1.5, "ss": driver.StringSet{"a", "b"}, "ns": driver.NumberSet{"1", "2"}, "b": []byte{}, "any": valueTimeText} {
			if !reflect.DeepEqual(m[k], w) {
				t.Errorf("Get into a map: %s = %s, want %s", k, show(m[k]), show(w))
			}
		}
	})

	// A time outside the years 0 to 9999 has no RFC 3339 text, so it
	// cannot be stored as one: it is refused rather than stored as text
	// that no time.Time field could read.
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"Year10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"NegativeYear", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Nested", map[string]any{"l": []any{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{"UTCYear10000", time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -2*3600))},
	} {
		t.Run("RefusedTime/"+tc.name, func(t *testing.T) {
			sk := "refused-" + tc.name
			wantCode(t, e.store.Put(e.ctx, map[string]any{"pk": partition, "sk": sk, "t": tc.value}), docblob.InvalidArgument, "Put")
			if _, err := raw.GetDocument(e.ctx, driver.Key{Partition: partition, Sort: sk}); driver.Classify(raw, err) != driver.NotFound {
				t.Errorf("after a refused Put, the document was read back: %v", err)
			}
		})
	}
}

// show prints a value with its type.
func show(v any) string { return fmt.Sprintf("%#v (%T)", v, v) }

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func at(l []time.Time, i int) time.Time {
	if i < len(l) {
		return l[i]
	}
	return time.Time{}
}

package filestore

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// allTypes returns fields holding every value type, with the edge cases
// that a naive JSON encoding gets wrong.
func allTypes() map[string]any {
	paris := time.FixedZone("", 3600+30*60+15) // an offset with seconds
	return map[string]any{
		"nil":       nil,
		"true":      true,
		"false":     false,
		"int":       int64(-42),
		"intmax":    int64(math.MaxInt64),
		"intmin":    int64(math.MinInt64),
		"float":     1.5,
		"floatbig":  1e300,
		"floattiny": math.SmallestNonzeroFloat64,
		"negzero":   math.Copysign(0, -1),
		"inf":       math.Inf(1),
		"ninf":      math.Inf(-1),
		"str":       "héllo \"quoted\" <html> & \u2028",
		"badutf8":   "a\xffb\xc0",
		"empty":     "",
		"bytes":     []byte{0, 1, 2, 255},
		"nilbytes":  []byte(nil),
		"emptybyte": []byte{},
		"time":      time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.UTC),
		"timeoff":   time.Date(2026, 3, 1, 12, 30, 45, 1, time.FixedZone("", -7*3600)),
		"timesecs":  time.Date(1900, 1, 1, 0, 0, 0, 0, paris),
		"timefar":   time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
		"timeneg":   time.Date(-50, 1, 1, 0, 0, 0, 0, time.UTC),
		"timezero":  time.Time{},
		"list":      []any{int64(1), "two", 3.0, nil, []any{}, map[string]any{"x": true}},
		"nillist":   []any(nil),
		"map":       map[string]any{"a": int64(1), "b": map[string]any{"c": []byte("d")}},
		"nilmap":    map[string]any(nil),
		"badkeys":   map[string]any{"ok": int64(1), "\xff": "bad key"},
		"\xfebad":   "a field with a bad name",
		"decimal":   driver.Decimal("12345678901234567890"),
		"sset":      driver.StringSet{"b", "a", ""},
		"nset":      driver.NumberSet{"1e-130", "1.50", "-9.9999999999999999999999999999999999999E+125"},
		"bset":      driver.BinarySet{{0}, {}},
	}
}

// dynamoDBValidTypes returns the fields of allTypes that DynamoDB's rules
// accept (driver.CheckDynamoDBValues), for tests that write through the
// driver, which enforces them.
func dynamoDBValidTypes() map[string]any {
	fields := allTypes()
	for k, v := range fields {
		if driver.CheckDynamoDBValues(map[string]any{k: v}) != nil {
			delete(fields, k)
		}
	}
	return fields
}

func TestCodecRoundTrip(t *testing.T) {
	doc := &driver.Document{
		Key:      driver.Key{Partition: "acme", Sort: "2026-001"},
		Revision: "rev\xff",
		Fields:   allTypes(),
	}
	data, err := encodeDocument(doc, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDocument(data)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	if got.Key != doc.Key || got.Revision != doc.Revision {
		t.Fatalf("key/revision: got %+v %q", got.Key, got.Revision)
	}
	checkFieldsExact(t, got.Fields, doc.Fields)
	// The encoding is deterministic, so that equal documents have equal
	// files.
	again, _ := encodeDocument(got, true)
	if string(again) != string(data) {
		t.Errorf("re-encoding differs:\n%s\n%s", data, again)
	}
}

func TestCodecNaN(t *testing.T) {
	nan := math.Float64frombits(0x7ff8000000000abc)
	doc := &driver.Document{Key: driver.Key{Partition: "p"}, Fields: map[string]any{"nan": nan}}
	data, err := encodeDocument(doc, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	if bits := math.Float64bits(got.Fields["nan"].(float64)); bits != 0x7ff8000000000abc {
		t.Errorf("NaN bits %x", bits)
	}
}

func TestCodecRejectsUnknownTypes(t *testing.T) {
	doc := &driver.Document{Key: driver.Key{Partition: "p"}, Fields: map[string]any{"x": int(1)}}
	if _, err := encodeDocument(doc, false); errorCode(err) != driver.InvalidArgument {
		t.Errorf("int field: %v (%v)", err, errorCode(err))
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, s := range []string{"", "{", `{"docblob":2}`, `{"docblob":1,"key":{"partition":"p"},"revision":{"str":""},"fields":{"int":"x"}}`,
		`{"docblob":1,"key":{"partition":"p"},"revision":{"str":""},"fields":{"map":{"a":{"bogus":1}}}}`,
		`{"docblob":1,"key":{"partition":"p"},"revision":{"str":""},"fields":{"map":{"a":{"str":"x","int":"1"}}}}`} {
		if _, err := decodeDocument([]byte(s)); errorCode(err) != driver.Corrupt {
			t.Errorf("decode %q: %v", s, err)
		}
	}
}

// valueAs returns v as a T, if it is one (a type assertion).
func valueAs[T any](v any) (T, bool) {
	t, ok := v.(T)
	return t, ok
}

// checkFieldsExact compares fields by type and value, stricter than
// internal/fieldtest.Equal: nil and empty slices differ, float bits must
// match, times must have the same instant and offset.
func checkFieldsExact(t *testing.T, got, want map[string]any) {
	t.Helper()
	if !exactEqual(got, want) {
		t.Errorf("fields differ:\n got %#v\nwant %#v", got, want)
	}
}

func exactEqual(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && sameOffset(x, y)
	case []byte:
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && string(x) == string(y)
	case driver.StringSet:
		y, ok := valueAs[driver.StringSet](b)
		return ok && (x == nil) == (y == nil) && slices.Equal(x, y)
	case driver.NumberSet:
		y, ok := valueAs[driver.NumberSet](b)
		return ok && (x == nil) == (y == nil) && slices.Equal(x, y) // the same text
	case driver.BinarySet:
		y, ok := valueAs[driver.BinarySet](b)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !exactEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !exactEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !exactEqual(v, w) {
				return false
			}
		}
		return true
	default:
		return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
	}
}

// TestCodecNumbersAndSets checks that Decimals keep their text and sets
// their type, order and elements exactly, edge cases included.
func TestCodecNumbersAndSets(t *testing.T) {
	fields := map[string]any{
		"dec":      driver.Decimal("3.1415926535897932384626433832795028"),
		"decexp":   driver.Decimal("-9.9999999999999999999999999999999999999E+125"),
		"dectext":  driver.Decimal("+007.50"), // text kept as it is
		"decempty": driver.Decimal(""),
		"sset":     driver.StringSet{"z", "a", "", "<html> & \u2028"},
		"ssetbad":  driver.StringSet{"ok", "a\xffb"},
		"ssetnil":  driver.StringSet(nil),
		"ssetzero": driver.StringSet{},
		"nset":     driver.NumberSet{"12345678901234567890", "0.1", "1E-130"},
		"nsetnil":  driver.NumberSet(nil),
		"bset":     driver.BinarySet{{1, 2}, {}, nil, {255}},
		"bsetnil":  driver.BinarySet(nil),
		"nested":   []any{driver.NumberSet{"1"}, map[string]any{"d": driver.Decimal("1e-130")}},
	}
	doc := &driver.Document{Key: driver.Key{Partition: "p"}, Fields: fields}
	data, err := encodeDocument(doc, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDocument(data)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	checkFieldsExact(t, got.Fields, fields)
	for _, want := range []string{`"dec":"+007.50"`, `"sset":["z","a","","<html> & \u2028"]`, `"nset":null`, `"bset":["AQI=","",null,"/w=="]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("file lacks %s:\n%s", want, data)
		}
	}
	if _, err := encodeDocument(&driver.Document{Fields: map[string]any{"d": driver.Decimal("1\xff")}}, false); errorCode(err) != driver.InvalidArgument {
		t.Errorf("a Decimal that is not UTF-8: %v", err)
	}
	if _, err := encodeDocument(&driver.Document{Fields: map[string]any{"d": driver.NumberSet{"1\xff"}}}, false); errorCode(err) != driver.InvalidArgument {
		t.Errorf("a NumberSet element that is not UTF-8: %v", err)
	}
}

// TestDecodeOldFiles reads a file written before numbers and sets had
// their own tags.
func TestDecodeOldFiles(t *testing.T) {
	old := `{"docblob":1,"key":{"partition":"p","sort":"s"},"revision":{"str":"r"},` +
		`"fields":{"map":{"n":{"int":"12"},"f":{"float":"1.5"},"l":{"list":[{"str":"a"},{"str":"b"}]}}}}`
	got, err := decodeDocument([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	checkFieldsExact(t, got.Fields, map[string]any{"n": int64(12), "f": 1.5, "l": []any{"a", "b"}})
}

func TestDecodeCorruptSets(t *testing.T) {
	for _, f := range []string{`{"dec":1}`, `{"sset":"a"}`, `{"sset":[1]}`, `{"ssetb":["!"]}`, `{"ssetb":null}`, `{"nset":[true]}`, `{"bset":{}}`, `{"bset":["!"]}`, `{"bset":[1]}`} {
		s := `{"docblob":1,"key":{"partition":"p"},"revision":{"str":""},"fields":{"map":{"x":` + f + `}}}`
		if _, err := decodeDocument([]byte(s)); errorCode(err) != driver.Corrupt {
			t.Errorf("decode %s: %v", f, err)
		}
	}
}

func TestDynamoDBValidTypes(t *testing.T) {
	fields := dynamoDBValidTypes()
	if err := driver.CheckDynamoDBValues(fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decimal", "sset", "nset", "bset", "int", "float", "map"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("%s is missing", k)
		}
	}
}

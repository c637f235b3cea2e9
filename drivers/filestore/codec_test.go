package filestore

import (
	"math"
	"reflect"
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
	}
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

// checkFieldsExact compares fields by type and value, stricter than
// driver.EqualFields: nil and empty slices differ, float bits must match,
// times must have the same instant and offset.
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

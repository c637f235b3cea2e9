package conformance

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/fieldtest"
)

// foreignNumbers are numbers that int64 and float64 do not all hold, as
// another tool may have written them.
var foreignNumbers = map[string]driver.Decimal{
	"digits38": "12345678901234567890123456789012345678",
	"pi":       "3.1415926535897932384626433832795028",
	"tiny":     "1e-130",
	"negmax":   "-9.9999999999999999999999999999999999999E+125",
	"beyond":   "12345678901234567890",
	"tenth":    "0.1",
	"int":      "42",
	"zero":     "0",
}

// numberEqual reports whether a field value is the number d, whatever its
// type: drivers may read a number back as an int64 or a float64 when that
// type holds it exactly.
func numberEqual(v any, d driver.Decimal) bool {
	switch x := v.(type) {
	case driver.Decimal:
		return x.Equal(d)
	case int64:
		i, err := d.Int64()
		return err == nil && i == x
	case float64:
		f, err := d.Float64()
		return err == nil && f == x
	}
	return false
}

// typedNumbers decodes the numbers of foreignNumbers into typed fields.
type typedNumbers struct {
	PK       string          `docstore:"pk"`
	SK       string          `docstore:"sk"`
	Digits38 docblob.Decimal `docstore:"digits38"`
	Pi       docblob.Decimal `docstore:"pi"`
	Tiny     float64         `docstore:"tiny"`
	NegMax   docblob.Decimal `docstore:"negmax"`
	Beyond   docblob.Decimal `docstore:"beyond"`
	Tenth    float64         `docstore:"tenth"`
	Int      int64           `docstore:"int"`
	Zero     uint8           `docstore:"zero"`
}

type setFields struct {
	PK      string            `docstore:"pk"`
	SK      string            `docstore:"sk"`
	Strings docblob.StringSet `docstore:"ss"`
	Numbers docblob.NumberSet `docstore:"ns"`
	Binary  docblob.BinarySet `docstore:"bs"`
}

// testValues checks that DynamoDB's numbers and sets round-trip without
// loss: written raw through the driver, read through the Store into a map
// and put back, they are what they were; typed fields take numbers only
// when they hold them exactly; values DynamoDB refuses are refused.
func testValues(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	raw := e.rawDriver()
	rawPut := func(t *testing.T, sk string, fields map[string]any) driver.Key {
		t.Helper()
		key := driver.Key{Partition: "values", Sort: sk}
		_, err := raw.PutDocument(e.ctx, &driver.Document{Key: key, Revision: "r0", Fields: fields}, driver.Condition{})
		must(t, err, "raw PutDocument")
		return key
	}
	rawGet := func(t *testing.T, key driver.Key) map[string]any {
		t.Helper()
		doc, err := raw.GetDocument(e.ctx, key)
		must(t, err, "raw GetDocument")
		return doc.Fields
	}
	// getPut reads the document into a map and puts the map back, and
	// checks that the stored fields are exactly as they were, in canonical
	// form: nothing is lost, and what the driver was given raw (a driver
	// may keep it as it is) is now stored as DynamoDB would give it back.
	getPut := func(t *testing.T, key driver.Key) {
		t.Helper()
		before := rawGet(t, key)
		m := map[string]any{"pk": key.Partition, "sk": key.Sort}
		must(t, e.store.Get(e.ctx, m), "Get into a map")
		must(t, e.store.Put(e.ctx, m), "Put of the map Get returned")
		if after, want := rawGet(t, key), driver.CanonicalFields(before); !reflect.DeepEqual(after, want) {
			t.Errorf("after Get and Put, the stored fields are\n%#v\nnot\n%#v", after, want)
		}
	}

	t.Run("Numbers", func(t *testing.T) {
		fields := map[string]any{"list": []any{driver.Decimal("98765432109876543210")}, "map": map[string]any{"n": driver.Decimal("-1E-130")}}
		for k, d := range foreignNumbers {
			fields[k] = d
		}
		key := rawPut(t, "numbers", fields)
		stored := rawGet(t, key)
		for k, d := range foreignNumbers {
			if !numberEqual(stored[k], d) {
				t.Errorf("the driver stored %s as %#v", d, stored[k])
			}
		}
		if l, ok := stored["list"].([]any); !ok || len(l) != 1 || !numberEqual(l[0], "98765432109876543210") {
			t.Errorf("the driver stored a list of a number as %#v", stored["list"])
		}
		if m, ok := stored["map"].(map[string]any); !ok || !numberEqual(m["n"], "-1E-130") {
			t.Errorf("the driver stored a map of a number as %#v", stored["map"])
		}
		getPut(t, key)
	})

	t.Run("Sets", func(t *testing.T) {
		fields := map[string]any{
			"ss":     driver.StringSet{"b", "a", ""},
			"ns":     driver.NumberSet{"12345678901234567890", "0.1", "1e-130", "-9.9999999999999999999999999999999999999E+125"},
			"bs":     driver.BinarySet{{2}, {1, 0}, {}},
			"nested": []any{driver.StringSet{"x"}, map[string]any{"ns": driver.NumberSet{"1", "2"}}},
		}
		key := rawPut(t, "sets", fields)
		stored := rawGet(t, key)
		for _, k := range []string{"ss", "ns", "bs", "nested"} {
			if !fieldtest.Equal(map[string]any{k: stored[k]}, map[string]any{k: fields[k]}) {
				t.Errorf("the driver stored %#v as %#v", fields[k], stored[k])
			}
		}
		getPut(t, key)

		got := &setFields{PK: key.Partition, SK: key.Sort}
		must(t, e.store.Get(e.ctx, got), "Get into set fields")
		if !fieldtest.Equal(map[string]any{"ss": got.Strings, "ns": got.Numbers, "bs": got.Binary},
			map[string]any{"ss": fields["ss"], "ns": fields["ns"], "bs": fields["bs"]}) {
			t.Errorf("Get into set fields = %+v", got)
		}
		must(t, e.store.Put(e.ctx, got), "Put of set fields")
		delete(stored, "nested") // setFields has no field for it
		if after := rawGet(t, key); !fieldtest.Equal(after, stored) {
			t.Errorf("after Get and Put of set fields, the stored fields are\n%#v\nnot\n%#v", after, stored)
		}
	})

	t.Run("TypedFields", func(t *testing.T) {
		fields := map[string]any{}
		for k, d := range foreignNumbers {
			fields[k] = d
		}
		key := rawPut(t, "typed", fields)
		got := &typedNumbers{PK: key.Partition, SK: key.Sort}
		must(t, e.store.Get(e.ctx, got), "Get into typed fields")
		if !got.Digits38.Equal(foreignNumbers["digits38"]) || !got.Pi.Equal(foreignNumbers["pi"]) || !got.NegMax.Equal(foreignNumbers["negmax"]) ||
			!got.Beyond.Equal(foreignNumbers["beyond"]) || got.Tiny != 1e-130 || got.Tenth != 0.1 || got.Int != 42 || got.Zero != 0 {
			t.Errorf("Get into typed fields = %+v", got)
		}
		must(t, e.store.Put(e.ctx, got), "Put of typed fields")
		stored := rawGet(t, key)
		for k, d := range foreignNumbers {
			if !numberEqual(stored[k], d) {
				t.Errorf("after Get and Put of typed fields, %s is stored as %#v", d, stored[k])
			}
		}
	})

	for _, tc := range []struct {
		name  string
		value driver.Decimal
		field any // a pointer to a struct with one number field, "n"
	}{
		{"IntTooSmall", "12345678901234567890", &struct {
			PK string `docstore:"pk"`
			SK string `docstore:"sk"`
			N  int64  `docstore:"n"`
		}{}},
		{"IntNotInteger", "1.5", &struct {
			PK string `docstore:"pk"`
			SK string `docstore:"sk"`
			N  int64  `docstore:"n"`
		}{}},
		{"Int8Overflow", "300", &struct {
			PK string `docstore:"pk"`
			SK string `docstore:"sk"`
			N  int8   `docstore:"n"`
		}{}},
		{"UintNegative", "-1", &struct {
			PK string `docstore:"pk"`
			SK string `docstore:"sk"`
			N  uint64 `docstore:"n"`
		}{}},
		{"FloatTooPrecise", "3.1415926535897932384626433832795028", &struct {
			PK string  `docstore:"pk"`
			SK string  `docstore:"sk"`
			N  float64 `docstore:"n"`
		}{}},
	} {
		t.Run("Inexact/"+tc.name, func(t *testing.T) {
			key := rawPut(t, "inexact-"+tc.name, map[string]any{"n": tc.value})
			setKey(tc.field, key)
			err := e.store.Get(e.ctx, tc.field)
			wantCode(t, err, docblob.InvalidArgument, "Get of "+string(tc.value))
			if !strings.Contains(err.Error(), string(tc.value)) || !strings.Contains(err.Error(), `"n"`) {
				t.Errorf("the error names neither the number nor the field: %v", err)
			}
		})
	}

	t.Run("DecimalField", func(t *testing.T) {
		type decimalDoc struct {
			PK string          `docstore:"pk"`
			SK string          `docstore:"sk"`
			N  docblob.Decimal `docstore:"n"`
			L  []docblob.Decimal
		}
		in := &decimalDoc{PK: "values", SK: "decimal", N: "-12345678901234567890.123456789012345678", L: []docblob.Decimal{"1e-130", "7"}}
		must(t, e.store.Put(e.ctx, in), "Put")
		stored := rawGet(t, driver.Key{Partition: "values", Sort: "decimal"})
		if !numberEqual(stored["n"], in.N) {
			t.Errorf("a Decimal field is stored as %#v", stored["n"])
		}
		got := &decimalDoc{PK: "values", SK: "decimal"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if !got.N.Equal(in.N) || len(got.L) != 2 || !got.L[0].Equal("1e-130") || !got.L[1].Equal("7") {
			t.Errorf("Get = %+v, want %+v", got, in)
		}
	})

	// Numbers and sets DynamoDB refuses are refused on every driver.
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"NaN", math.NaN()},
		{"Inf", math.Inf(1)},
		{"NegInf", math.Inf(-1)},
		{"Float1e200", 1e200},
		{"FloatTooSmall", 1e-200},
		{"Decimal1e126", driver.Decimal("1e126")},
		{"DecimalTooSmall", driver.Decimal("1e-131")},
		{"Decimal39Digits", driver.Decimal("123456789012345678901234567890123456789")},
		{"NotANumber", driver.Decimal("12,5")},
		{"NestedNaN", []any{map[string]any{"x": math.NaN()}}},
		{"DuplicateStrings", driver.StringSet{"a", "a"}},
		{"DuplicateNumbers", driver.NumberSet{"1", "1.0"}},
		{"DuplicateBinaries", driver.BinarySet{{1}, {1}}},
		{"InvalidNumberInSet", driver.NumberSet{"1", "NaN"}},
	} {
		t.Run("Refused/"+tc.name, func(t *testing.T) {
			doc := map[string]any{"pk": "values", "sk": "refused-" + tc.name, "n": tc.value}
			wantCode(t, e.store.Put(e.ctx, doc), docblob.InvalidArgument, "Put")
			_, err := raw.GetDocument(e.ctx, driver.Key{Partition: "values", Sort: "refused-" + tc.name})
			if driver.Classify(raw, err) != driver.NotFound {
				t.Errorf("after a refused Put, the document was read back: %v", err)
			}
		})
	}
}

// setKey sets the PK and SK fields of a pointer to a struct.
func setKey(doc any, key driver.Key) {
	v := reflect.ValueOf(doc).Elem()
	v.FieldByName("PK").SetString(key.Partition)
	v.FieldByName("SK").SetString(key.Sort)
}

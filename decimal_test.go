package docblob_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

type money int64

type numbers struct {
	PK    string                     `docstore:"pk"`
	SK    string                     `docstore:"sk"`
	ID    docblob.Decimal            `docstore:"id"`
	Price docblob.Decimal            `docstore:"price,omitempty"`
	Ptr   *docblob.Decimal           `docstore:"ptr"`
	Tags  docblob.StringSet          `docstore:"tags"`
	Nums  docblob.NumberSet          `docstore:"nums"`
	Bins  docblob.BinarySet          `docstore:"bins"`
	List  []docblob.Decimal          `docstore:"list"`
	Map   map[string]docblob.Decimal `docstore:"map"`
	Any   any                        `docstore:"any"`
}

// newDecimalStore returns a store over memstore and the driver under it.
func newDecimalStore(t *testing.T) (*docblob.Store, driver.Driver) {
	t.Helper()
	drv := newMem(t)
	s, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, drv
}

func TestDecimalFieldsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	ptr := docblob.Decimal("-9.9999999999999999999999999999999999999E+125")
	in := &numbers{PK: "p", SK: "s", ID: "12345678901234567890", Price: "3.1415926535897932384626433832795028", Ptr: &ptr,
		Tags: docblob.StringSet{"b", "a"}, Nums: docblob.NumberSet{"1", "1e-130"}, Bins: docblob.BinarySet{{1}, {}},
		List: []docblob.Decimal{"0.1", "12345678901234567890123456789012345678"}, Map: map[string]docblob.Decimal{"k": "7"},
		Any: docblob.NumberSet{"5"}}
	if err := s.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	raw, err := drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"})
	if err != nil {
		t.Fatal(err)
	}
	// Stored in canonical form, as DynamoDB gives values back: numbers in
	// plain normal text, or as an int64 or float64 that holds them; sets
	// sorted.
	plainMax := "-" + strings.Repeat("9", 38) + strings.Repeat("0", 88)
	plainTiny := "0." + strings.Repeat("0", 129) + "1"
	want := map[string]any{
		"id": driver.Decimal("12345678901234567890"), "price": driver.Decimal("3.1415926535897932384626433832795028"),
		"ptr": driver.Decimal(plainMax), "tags": driver.StringSet{"a", "b"}, "nums": driver.NumberSet{driver.Decimal(plainTiny), "1"},
		"bins": driver.BinarySet{{}, {1}}, "list": []any{0.1, driver.Decimal("12345678901234567890123456789012345678")},
		"map": map[string]any{"k": int64(7)}, "any": driver.NumberSet{"5"},
	}
	for k, v := range want {
		if got := raw.Fields[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("stored %s = %#v, want %#v", k, got, v)
		}
	}
	out := &numbers{PK: "p", SK: "s"}
	if err := s.Get(ctx, out); err != nil {
		t.Fatal(err)
	}
	// Every number and set is kept, in canonical form.
	ptrOut := docblob.Decimal(plainMax)
	wantOut := *in
	wantOut.Ptr, wantOut.Tags = &ptrOut, docblob.StringSet{"a", "b"}
	wantOut.Nums, wantOut.Bins = docblob.NumberSet{docblob.Decimal(plainTiny), "1"}, docblob.BinarySet{{}, {1}}
	if !reflect.DeepEqual(*out, wantOut) {
		t.Errorf("Get = %+v\nwant  %+v", out, wantOut)
	}
	if !out.Ptr.Equal(*in.Ptr) || !out.Nums[0].Equal(in.Nums[1]) {
		t.Error("a number changed")
	}
}

func TestDecimalZeroValues(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	in := &numbers{PK: "p", SK: "zero", Tags: docblob.StringSet{}, Nums: nil}
	if err := s.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	raw, err := drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "zero"})
	if err != nil {
		t.Fatal(err)
	}
	// "" is no number and DynamoDB has no empty sets: both are null;
	// omitempty leaves the field out.
	for _, k := range []string{"id", "tags", "nums", "bins", "ptr"} {
		if v, ok := raw.Fields[k]; !ok || v != nil {
			t.Errorf("stored %s = %#v, want nil", k, v)
		}
	}
	if _, ok := raw.Fields["price"]; ok {
		t.Error("an empty omitempty Decimal was stored")
	}
	out := &numbers{PK: "p", SK: "zero", ID: "5", Tags: docblob.StringSet{"x"}}
	if err := s.Get(ctx, out); err != nil {
		t.Fatal(err)
	}
	if out.ID != "" || out.Tags != nil || out.Nums != nil {
		t.Errorf("Get = %+v", out)
	}
}

func TestMapDocumentKeepsNumbersAndSets(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	fields := map[string]any{
		"big":   driver.Decimal("12345678901234567890"),
		"pi":    driver.Decimal("3.1415926535897932384626433832795028"),
		"max":   driver.Decimal("-9.9999999999999999999999999999999999999E+125"),
		"tiny":  driver.Decimal("1e-130"),
		"tenth": driver.Decimal("0.1"),
		"int":   int64(7),
		"float": 0.5,
		"ss":    driver.StringSet{"a", "b", ""},
		"ns":    driver.NumberSet{"1", "12345678901234567890", "0.1"},
		"bs":    driver.BinarySet{{0}, {1, 2}},
		"l":     []any{driver.Decimal("12345678901234567891"), driver.StringSet{"x"}},
		"m":     map[string]any{"n": driver.Decimal("98765432109876543210")},
	}
	key := driver.Key{Partition: "p", Sort: "map"}
	if _, err := drv.PutDocument(ctx, &driver.Document{Key: key, Revision: "r1", Fields: driver.CloneFields(fields)}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"pk": "p", "sk": "map"}
	if err := s.Get(ctx, m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("Get %s = %#v, want %#v", k, m[k], v)
		}
	}
	if err := s.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	raw, err := drv.GetDocument(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	delete(raw.Fields, "DocstoreRevision")
	// Put back, the values are stored in canonical form, as DynamoDB
	// would have given them: the same numbers and sets.
	if want := driver.CanonicalFields(fields); !reflect.DeepEqual(raw.Fields, want) {
		t.Errorf("after Get and Put:\n got %#v\nwant %#v", raw.Fields, want)
	}
}

type exactFields struct {
	PK  string  `docstore:"pk"`
	SK  string  `docstore:"sk"`
	I64 int64   `docstore:"i64"`
	I8  int8    `docstore:"i8"`
	U64 uint64  `docstore:"u64"`
	U8  uint8   `docstore:"u8"`
	M   money   `docstore:"m"`
	F64 float64 `docstore:"f64"`
	F32 float32 `docstore:"f32"`
	L   []int64 `docstore:"l"`
	S   []string
	Any any `docstore:"any"`
}

func TestDecodeNumbersExactly(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	for _, tc := range []struct {
		name  string
		field string
		value any
		want  any    // the field's value, if bad is ""
		bad   string // a word the error names
	}{
		{"Int64", "i64", driver.Decimal("-9223372036854775808"), int64(math.MinInt64), ""},
		{"Int64Exponent", "i64", driver.Decimal("1.5e3"), int64(1500), ""},
		{"Int64TooBig", "i64", driver.Decimal("12345678901234567890"), nil, "12345678901234567890"},
		{"Int64Fraction", "i64", driver.Decimal("1.5"), nil, "not an integer"},
		{"Int8", "i8", driver.Decimal("-128"), int8(-128), ""},
		{"Int8Overflow", "i8", driver.Decimal("300"), nil, "out of the range of int8"},
		{"Uint64", "u64", driver.Decimal("18446744073709551615"), uint64(math.MaxUint64), ""},
		{"Uint64Negative", "u64", driver.Decimal("-1"), nil, "out of the range of uint64"},
		{"NamedInt", "m", driver.Decimal("42"), money(42), ""},
		{"NamedIntOverflow", "m", driver.Decimal("1e30"), nil, "docblob_test.money"},
		{"Float64", "f64", driver.Decimal("0.1"), 0.1, ""},
		{"Float64Tiny", "f64", driver.Decimal("1e-130"), 1e-130, ""},
		{"Float64Pi", "f64", driver.Decimal("3.1415926535897932384626433832795028"), nil, "more digits than a float64"},
		{"Float64Max", "f64", driver.Decimal("9.9999999999999999999999999999999999999E+125"), nil, "more digits than a float64"},
		{"Float64FromInt", "f64", int64(1 << 53), float64(1 << 53), ""},
		{"Float64FromIntInexact", "f64", int64(1<<53 + 1), nil, "9007199254740993"},
		{"Float32", "f32", driver.Decimal("0.1"), float32(0.1), ""},
		{"Float32FromInt", "f32", int64(1 << 24), float32(1 << 24), ""},
		{"Float32FromIntInexact", "f32", int64(1<<53 + 1), nil, "9007199254740993"},
		{"Float64FromBigInt", "f64", int64(1 << 60), nil, "1152921504606846976"}, // written back, it would be 1152921504606847000
		{"Float64FromFloat", "f64", 0.1, 0.1, ""},
		{"Int64FromInt", "i64", int64(-5), int64(-5), ""},
		{"Int64FromFloat", "i64", 3.0, int64(3), ""},
		{"Int64FromFloatFraction", "i64", 1.5, nil, "not an integer"},
		{"Int64FromHugeFloat", "i64", 1e20, nil, "out of the range of int64"},
		{"Int8FromInt", "i8", int64(300), nil, "300 is out of the range of int8"},
		{"Uint64FromNegativeInt", "u64", int64(-1), nil, "-1 is out of the range of uint64"},
		{"Uint8FromFloat", "u8", 255.0, uint8(255), ""},
		{"ListFromNumberSet", "l", driver.NumberSet{"1", "-2"}, []int64{1, -2}, ""},
		{"ListFromNumberSetTooBig", "l", driver.NumberSet{"1", "12345678901234567890"}, nil, "12345678901234567890"},
		{"StringsFromStringSet", "S", driver.StringSet{"a", "b"}, []string{"a", "b"}, ""},
		{"AnyKeepsDecimal", "any", driver.Decimal("12345678901234567890"), driver.Decimal("12345678901234567890"), ""},
		{"AnyKeepsSet", "any", driver.BinarySet{{1}}, driver.BinarySet{{1}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := driver.Key{Partition: "exact", Sort: tc.name}
			if _, err := drv.PutDocument(ctx, &driver.Document{Key: key, Fields: map[string]any{tc.field: tc.value}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
			out := &exactFields{PK: key.Partition, SK: key.Sort}
			err := s.Get(ctx, out)
			if tc.bad != "" {
				if err == nil || docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("Get: %v; want InvalidArgument naming %q", err, tc.bad)
				}
				if strings.Contains(tc.name, "TooBig") && !strings.Contains(err.Error(), "docblob.Decimal") {
					t.Errorf("the error does not suggest a docblob.Decimal field: %v", err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(out).Elem()
			for i := range v.NumField() {
				f := v.Type().Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("docstore"), ",")
				if name == "" {
					name = f.Name
				}
				if name == tc.field {
					if got := v.Field(i).Interface(); !reflect.DeepEqual(got, tc.want) {
						t.Errorf("%s = %#v, want %#v", f.Name, got, tc.want)
					}
				}
			}
		})
	}
}

type decimalTarget struct {
	PK   string            `docstore:"pk"`
	SK   string            `docstore:"sk"`
	D    docblob.Decimal   `docstore:"d"`
	SS   docblob.StringSet `docstore:"ss"`
	NS   docblob.NumberSet `docstore:"ns"`
	BS   docblob.BinarySet `docstore:"bs"`
	Rest any               `docstore:"rest"`
}

func TestDecodeIntoDecimalAndSets(t *testing.T) {
	ctx := context.Background()
	s, drv := newDecimalStore(t)
	for _, tc := range []struct {
		name  string
		field string
		value any
		want  any
	}{
		{"DecimalFromInt", "d", int64(-42), docblob.Decimal("-42")},
		{"DecimalFromFloat", "d", 0.1, docblob.Decimal("0.1")},
		{"DecimalFromBigFloat", "d", 1e100, docblob.Decimal("1e+100")},
		{"DecimalFromString", "d", "12", errors.New("string")},
		{"StringSetFromList", "ss", []any{"a", "b"}, docblob.StringSet{"a", "b"}},
		{"StringSetFromBadList", "ss", []any{"a", int64(1)}, errors.New("int64")},
		{"NumberSetFromList", "ns", []any{int64(1), 2.5, driver.Decimal("12345678901234567890")}, docblob.NumberSet{"1", "2.5", "12345678901234567890"}},
		{"NumberSetFromListWithNull", "ns", []any{int64(1), nil}, errors.New("<nil>")},
		{"BinarySetFromList", "bs", []any{[]byte{1}}, docblob.BinarySet{{1}}},
		{"StringSetFromNumberSet", "ss", driver.NumberSet{"1"}, errors.New("NumberSet")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := driver.Key{Partition: "into", Sort: tc.name}
			if _, err := drv.PutDocument(ctx, &driver.Document{Key: key, Fields: map[string]any{tc.field: tc.value}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
			out := &decimalTarget{PK: key.Partition, SK: key.Sort}
			err := s.Get(ctx, out)
			if want, ok := tc.want.(error); ok {
				if docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), want.Error()) {
					t.Fatalf("Get: %v; want InvalidArgument naming %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{"d": out.D, "ss": out.SS, "ns": out.NS, "bs": out.BS}[tc.field]
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.field, got, tc.want)
			}
		})
	}
}

func TestDecimalHelpersThroughAlias(t *testing.T) {
	d := docblob.Decimal("12345678901234567890")
	if _, err := d.Int64(); err == nil {
		t.Error("Int64 of 12345678901234567890 succeeded")
	}
	if u, err := d.Uint64(); err != nil || u != 12345678901234567890 {
		t.Errorf("Uint64 = %d, %v", u, err)
	}
	if r, err := d.Rat(); err != nil || r.RatString() != "12345678901234567890" {
		t.Errorf("Rat = %v, %v", r, err)
	}
	if f, err := docblob.Decimal("0.25").Float64(); err != nil || f != 0.25 {
		t.Errorf("Float64 = %v, %v", f, err)
	}
	if err := docblob.Decimal("1e200").Check(); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("Check(1e200) = %v", err)
	}
	if !docblob.Decimal("1.50").Equal("1.5") || d.String() != "12345678901234567890" {
		t.Error("Equal or String")
	}
}

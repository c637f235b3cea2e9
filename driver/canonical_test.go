package driver

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCanonicalValue(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("", -7*3600))
	for _, tc := range []struct {
		name    string
		v, want any
	}{
		{"Nil", nil, nil},
		{"Bool", true, true},
		{"String", "x", "x"},
		{"Int64", int64(-5), int64(-5)},
		{"Float", 1.5, 1.5},
		{"FloatIntegral", 3.0, int64(3)},
		{"FloatNegativeZero", math.Copysign(0, -1), int64(0)},
		{"Float2To53", float64(1 << 53), int64(1 << 53)},
		{"Float2To60", float64(1 << 60), int64(1152921504606847000)},
		{"Float2To63", float64(1 << 63), float64(1 << 63)},
		{"FloatMinInt64", float64(math.MinInt64), float64(math.MinInt64)}, // written -9223372036854776000
		{"Float1e20", 1e20, 1e20},
		{"FloatInf", math.Inf(1), math.Inf(1)},
		{"FloatTooLarge", 1e200, 1e200},
		{"FloatTooSmall", 1e-200, 1e-200},
		{"DecimalInt", Decimal("4200e-2"), int64(42)},
		{"DecimalFloat", Decimal("+1.50"), 1.5},
		{"DecimalPlain", Decimal("12345678901234567890.10"), Decimal("12345678901234567890.1")},
		{"DecimalExponent", Decimal("1.2345678901234567891E+30"), Decimal("1234567890123456789100000000000")},
		{"DecimalFraction", Decimal("-3.1415926535897932384626433832795028E-5"), Decimal("-0.000031415926535897932384626433832795028")},
		{"DecimalInvalid", Decimal("1e126"), Decimal("1e126")},
		{"DecimalText", Decimal("abc"), Decimal("abc")},
		{"Time", when, "2026-03-01T19:30:45.123456789Z"},
		{"TimeWhole", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "2026-03-01T00:00:00Z"},
		{"Bytes", []byte{1}, []byte{1}},
		{"NilBytes", []byte(nil), []byte{}},
		{"NilList", []any(nil), []any{}},
		{"NilMap", map[string]any(nil), map[string]any{}},
		{"List", []any{2.0, when, []any{Decimal("1e1")}}, []any{int64(2), "2026-03-01T19:30:45.123456789Z", []any{int64(10)}}},
		{"Map", map[string]any{"a": map[string]any{"b": 0.5}}, map[string]any{"a": map[string]any{"b": 0.5}}},
		{"StringSet", StringSet{"b", "", "é", "a"}, StringSet{"", "a", "b", "é"}},
		{"NilStringSet", StringSet(nil), StringSet(nil)},
		{"EmptyStringSet", StringSet{}, StringSet{}},
		{"NumberSet", NumberSet{"1e2", "-1", "0.50", "-20", "0", "1.5", "1E-130", "x"},
			NumberSet{"-20", "-1", "0", Decimal("0." + strings.Repeat("0", 129) + "1"), "0.5", "1.5", "100", "x"}},
		{"BinarySet", BinarySet{{2}, nil, {1, 0}, {1}}, BinarySet{{}, {1}, {1, 0}, {2}}},
		{"NotAFieldType", int(3), int(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CanonicalValue(tc.v)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CanonicalValue(%#v) = %#v (%T), want %#v (%T)", tc.v, got, got, tc.want, tc.want)
			}
			if again := CanonicalValue(got); !reflect.DeepEqual(again, got) {
				t.Errorf("not idempotent: %#v becomes %#v", got, again)
			}
		})
	}
}

// TestCanonicalValueCopies checks that the canonical form shares no memory
// with the value, and leaves it unchanged.
func TestCanonicalValueCopies(t *testing.T) {
	b := []byte{1}
	ss := StringSet{"b", "a"}
	bs := BinarySet{{2}, {1}}
	in := map[string]any{"b": b, "l": []any{b}, "ss": ss, "bs": bs}
	out := CanonicalFields(in)
	out["b"].([]byte)[0] = 9
	out["l"].([]any)[0].([]byte)[0] = 9
	out["bs"].(BinarySet)[0][0] = 9
	if b[0] != 1 || bs[1][0] != 1 || ss[0] != "b" || bs[0][0] != 2 {
		t.Errorf("the value changed: %v %v %v", b, ss, bs)
	}
	if CanonicalFields(nil) != nil {
		t.Error("CanonicalFields(nil) is not nil")
	}
}

// TestCanonicalFloatIsNumberValue checks CanonicalFloat against its
// definition: NumberValue of the float64's shortest text (what the
// DynamoDB driver writes and reads back), for float64s DynamoDB stores.
func TestCanonicalFloatIsNumberValue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fs := []float64{0, 1, -1, 0.5, 1 << 52, 1<<53 - 1, 1 << 53, 1<<53 + 2, 1 << 62, -1 << 62, 1 << 63, -1 << 63, 9.2233720368547748e18, 1e19, 1e125}
	for range 100000 {
		var f float64
		switch r.IntN(4) {
		case 0:
			f = math.Float64frombits(r.Uint64())
		case 1:
			f = math.Trunc(r.NormFloat64() * math.Pow(10, float64(r.IntN(25))))
		case 2:
			f = float64(int64(r.Uint64()))
		default:
			f = math.Ldexp(float64(r.Uint64()>>11), r.IntN(20)) // integers around 2^53 to 2^73
		}
		if r.IntN(2) == 0 {
			f = -f
		}
		fs = append(fs, f)
	}
	for _, f := range fs {
		if checkNumber(f) != nil {
			continue
		}
		got := CanonicalFloat(f)
		want := NumberValue(Decimal(strconv.FormatFloat(f, 'g', -1, 64)))
		if got != want {
			t.Fatalf("CanonicalFloat(%v) = %#v, NumberValue of its text = %#v", f, got, want)
		}
	}
}

func TestCanonicalDecimalText(t *testing.T) {
	for in, want := range map[Decimal]string{
		"0":                    "0",
		"-0.000":               "0",
		"007":                  "7",
		"1.50":                 "1.5",
		"+.5":                  "0.5",
		"5.":                   "5",
		"1e2":                  "100",
		"1E+2":                 "100",
		"-12.5e-3":             "-0.0125",
		"123.456e1":            "1234.56",
		"123.456e-3":           "0.123456",
		"123456e-3":            "123.456",
		"100e-2":               "1",
		"12345678901234567890": "12345678901234567890",
	} {
		p, err := in.valid()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.plain(); got != want {
			t.Errorf("%q in plain text is %q, want %q", in, got, want)
		}
		if !Decimal(want).Equal(in) {
			t.Errorf("%q is not %q", want, in)
		}
	}
}

func FuzzCanonicalDecimal(f *testing.F) {
	for _, s := range []string{"0", "-1.5e-3", "12345678901234567890", "1e-130", ".5", "1e999999999", "9.9999999999999999999999999999999999999E+125", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Decimal(s)
		v := CanonicalDecimal(d)
		if d.Check() != nil {
			if v != d {
				t.Fatalf("CanonicalDecimal of invalid %q = %#v", s, v)
			}
			return
		}
		switch x := v.(type) {
		case int64, float64:
			if x != NumberValue(d) {
				t.Fatalf("%q: %#v, NumberValue %#v", s, x, NumberValue(d))
			}
		case Decimal:
			if !x.Equal(d) || x.Check() != nil || CanonicalDecimal(x) != x || strings.ContainsAny(string(x), "eE+") {
				t.Fatalf("%q: %q is not its plain text", s, x)
			}
		default:
			t.Fatalf("%q: %T", s, v)
		}
	})
}

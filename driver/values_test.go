package driver

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestDecimalCheck(t *testing.T) {
	for _, tc := range []struct {
		d   Decimal
		bad string // a word the error names; "" for a valid number
	}{
		{"0", ""},
		{"-0", ""},
		{"+5", ""},
		{".5", ""},
		{"5.", ""},
		{"007", ""},
		{"1.50", ""},
		{"1e2", ""},
		{"1E+2", ""},
		{"1e-130", ""},
		{"-1E-130", ""},
		{Decimal("0." + strings.Repeat("0", 129) + "1"), ""}, // 1e-130 as DynamoDB returns it
		{Decimal("0." + strings.Repeat("0", 130) + "1"), "smaller"},
		{"9.9999999999999999999999999999999999999E+125", ""},
		{"-9.9999999999999999999999999999999999999E+125", ""},
		{"12345678901234567890", ""},
		{"3.1415926535897932384626433832795028", ""},
		{"12345678901234567890123456789012345678", ""},
		{"1234567890123456789012345678901234567800000", ""}, // trailing zeros are not significant
		{"0e999999999", ""},
		{"1e0000000005", ""},
		{"", "no digits"},
		{"-", "no digits"},
		{".", "no digits"},
		{"e5", "no digits"},
		{"1e", "exponent"},
		{"1e+", "exponent"},
		{"1e1234567890", "exponent"},
		{" 5", "no digits"},
		{"5 ", "unexpected"},
		{"0x10", "unexpected"},
		{"1_000", "unexpected"},
		{"NaN", "no digits"},
		{"Infinity", "no digits"},
		{"1.2.3", "unexpected"},
		{"--1", "no digits"},
		{"1e126", "larger"},
		{"10e125", "larger"},
		{"1e-131", "smaller"},
		{"0.1e-130", "smaller"},
		{"123456789012345678901234567890123456789", "significant digits"},
		{"1.23456789012345678901234567890123456789", "significant digits"},
		{Decimal(strings.Repeat("9", 1000)), "significant digits"},
	} {
		err := tc.d.Check()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%q: valid number refused: %v", tc.d, err)
		case tc.bad != "" && err == nil:
			t.Errorf("%q: invalid number accepted", tc.d)
		case tc.bad != "" && (!errors.Is(err, InvalidArgument) || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q: error %q: want InvalidArgument naming %q", tc.d, err, tc.bad)
		}
	}
	// Errors quote long text shortened.
	if err := Decimal(strings.Repeat("x", 10000)).Check(); err == nil || len(err.Error()) > 200 {
		t.Errorf("long text: %v", err)
	}
}

func TestDecimalConversions(t *testing.T) {
	for _, tc := range []struct {
		d       Decimal
		i       string // Int64 result, or "" for an error
		u       string // Uint64 result, or "" for an error
		f       string // Float64 result (shortest form), or "" for an error
		numbers any    // NumberValue
	}{
		{"0", "0", "0", "0", int64(0)},
		{"-0.000", "0", "0", "0", int64(0)},
		{"42", "42", "42", "42", int64(42)},
		{"-42", "-42", "", "-42", int64(-42)},
		{"4.2e1", "42", "42", "42", int64(42)},
		{"4200e-2", "42", "42", "42", int64(42)},
		{"9223372036854775807", "9223372036854775807", "9223372036854775807", "", int64(math.MaxInt64)},
		{"-9223372036854775808", "-9223372036854775808", "", "", int64(math.MinInt64)},
		// float64(1<<63) is written 9223372036854776000: not the same number
		{"9223372036854775808", "", "9223372036854775808", "", Decimal("9223372036854775808")},
		{"9223372036854776000", "", "9223372036854776000", "9.223372036854776e+18", 9.223372036854776e+18},
		{"18446744073709551615", "", "18446744073709551615", "", Decimal("18446744073709551615")},
		{"18446744073709551616", "", "", "", Decimal("18446744073709551616")},
		{"12345678901234567890", "", "12345678901234567890", "", Decimal("12345678901234567890")},
		{"1e20", "", "", "1e+20", 1e20},
		{"0.1", "", "", "0.1", 0.1},
		{"1.5", "", "", "1.5", 1.5},
		{"-2.50", "", "", "-2.5", -2.5},
		{"1e-130", "", "", "1e-130", 1e-130},
		{"3.1415926535897932384626433832795028", "", "", "", Decimal("3.1415926535897932384626433832795028")},
		{"3.141592653589793", "", "", "3.141592653589793", 3.141592653589793},
		{"9.9999999999999999999999999999999999999E+125", "", "", "", Decimal("9.9999999999999999999999999999999999999E+125")},
		{"0.30000000000000004", "", "", "0.30000000000000004", 0.30000000000000004},
		{"0.3000000000000000444089209850062616169452667236328125", "", "", "", Decimal("0.3000000000000000444089209850062616169452667236328125")}, // too many digits: not valid
		{"abc", "", "", "", Decimal("abc")},
		{"1e126", "", "", "", Decimal("1e126")},
	} {
		i, err := tc.d.Int64()
		if got := resultString(strconv.FormatInt(i, 10), err); got != tc.i {
			t.Errorf("%q.Int64() = %q (%v), want %q", tc.d, got, err, tc.i)
		}
		u, err := tc.d.Uint64()
		if got := resultString(strconv.FormatUint(u, 10), err); got != tc.u {
			t.Errorf("%q.Uint64() = %q (%v), want %q", tc.d, got, err, tc.u)
		}
		f, err := tc.d.Float64()
		if got := resultString(strconv.FormatFloat(f, 'g', -1, 64), err); got != tc.f {
			t.Errorf("%q.Float64() = %q (%v), want %q", tc.d, got, err, tc.f)
		}
		if got := NumberValue(tc.d); got != tc.numbers {
			t.Errorf("NumberValue(%q) = %#v, want %#v", tc.d, got, tc.numbers)
		}
	}
}

func resultString(s string, err error) string {
	if err != nil {
		return ""
	}
	return s
}

// Every float64 that a driver writes (in its shortest form, in DynamoDB's
// range) reads back as itself.
func TestNumberValueKeepsFloats(t *testing.T) {
	fs := []float64{math.Pi, -math.E, 0.1, 1e-130, 9.999999999999999e125, -1.7976931348623157e125, 5e-324 * 1e200, 123456.789, 1 << 62, 1e19, -1e25}
	for i := range 2000 {
		bits := splitmixTest(uint64(i))
		f := math.Float64frombits(bits)
		if a := math.Abs(f); !math.IsNaN(f) && !math.IsInf(f, 0) && a >= 1e-130 && a < 1e126 {
			fs = append(fs, f)
		}
	}
	for _, f := range fs {
		if Decimal(strconv.FormatFloat(f, 'g', -1, 64)).Check() != nil {
			continue // its shortest form is out of range: 9.999999999999999e125 is 1e126
		}
		for _, text := range []string{strconv.FormatFloat(f, 'g', -1, 64), strconv.FormatFloat(f, 'f', -1, 64), strconv.FormatFloat(f, 'E', -1, 64)} {
			switch v := NumberValue(Decimal(text)).(type) {
			case float64:
				if v != f {
					t.Errorf("%s reads back as %v", text, v)
				}
			case int64:
				if float64(v) != f || f != math.Trunc(f) {
					t.Errorf("%s reads back as int64 %v", text, v)
				}
			default:
				t.Errorf("%s reads back as %T %v", text, v, v)
			}
		}
	}
}

func splitmixTest(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func TestDecimalRatAndEqual(t *testing.T) {
	for _, tc := range []struct {
		d    Decimal
		want string // big.Rat's RatString
	}{
		{"0", "0"},
		{"-0.0", "0"},
		{"1.50", "3/2"},
		{"-12.5e-1", "-5/4"},
		{"1e-130", "1/1" + strings.Repeat("0", 130)},
		{"12345678901234567890", "12345678901234567890"},
		{"9.9999999999999999999999999999999999999E+125", strings.Repeat("9", 38) + strings.Repeat("0", 88)},
	} {
		r, err := tc.d.Rat()
		if err != nil || r.RatString() != tc.want {
			t.Errorf("%q.Rat() = %v, %v; want %s", tc.d, r, err, tc.want)
		}
	}
	if _, err := Decimal("1e999999999").Rat(); err == nil {
		t.Error("Rat of an out-of-range number succeeded")
	}
	for _, tc := range []struct {
		a, b Decimal
		want bool
	}{
		{"1.5", "1.50", true},
		{"1.5", "15e-1", true},
		{"-0", "0.000", true},
		{"100", "1E+2", true},
		{"1", "-1", false},
		{"1", "1.0000000000000000000000000000000000001", false},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "1", false},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%q.Equal(%q) = %v", tc.a, tc.b, got)
		}
	}
	var r big.Rat
	r.SetString("22/7")
	if Decimal("3.142857142857142857142857142857142857").Equal("3.142857142857142857142857142857142857") != true {
		t.Error("Equal is not reflexive")
	}
}

func TestCloneAndSizeOfSetsAndDecimals(t *testing.T) {
	fields := map[string]any{
		"d":   Decimal("12345678901234567890"),
		"ss":  StringSet{"a", "bb"},
		"ns":  NumberSet{"1", "2.5"},
		"bs":  BinarySet{{1, 2}, {3}},
		"nil": StringSet(nil),
		"l":   []any{BinarySet{{9}}},
	}
	c := CloneFields(fields)
	if !reflect.DeepEqual(c, fields) {
		t.Fatalf("clone differs: %#v", c)
	}
	c["ss"].(StringSet)[0] = "x"
	c["ns"].(NumberSet)[0] = "7"
	c["bs"].(BinarySet)[0][0] = 9
	c["l"].([]any)[0].(BinarySet)[0][0] = 1
	if fields["ss"].(StringSet)[0] != "a" || fields["ns"].(NumberSet)[0] != "1" || fields["bs"].(BinarySet)[0][0] != 1 || fields["l"].([]any)[0].(BinarySet)[0][0] != 9 {
		t.Error("the clone shares memory with the original")
	}
	if c["nil"].(StringSet) != nil {
		t.Error("a nil set cloned to a non-nil one")
	}
	for _, tc := range []struct {
		v    any
		want int
	}{
		{Decimal("0"), 1},
		{Decimal("7"), 2},
		{Decimal("12"), 2},
		{Decimal("123"), 3},
		{Decimal("12345678901234567890123456789012345678"), 20},
		{Decimal("1e-130"), 2},
		{Decimal("1000000000"), 2},
		{StringSet{"a", "bb"}, 3},
		{NumberSet{"1", "123"}, 5},
		{BinarySet{{1, 2}, {3}}, 3},
	} {
		if got := FieldSize("", tc.v); got != tc.want {
			t.Errorf("FieldSize(%#v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// FuzzDecimal checks that parsing arbitrary text never panics, and that
// conversions are exact: what converts converts back to the same number.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"0", "-1.5e-3", "12345678901234567890", "1e-130", ".5", "5.", "1e999999999", "9.9999999999999999999999999999999999999E+125"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Decimal(s)
		err := d.Check()
		_ = d.Equal(d)
		_ = d.size()
		_ = d.key()
		v := NumberValue(d)
		if err != nil {
			if v != d {
				t.Fatalf("NumberValue of invalid %q = %#v", s, v)
			}
			return
		}
		r, err := d.Rat()
		if err != nil {
			t.Fatal(err)
		}
		switch x := v.(type) {
		case int64:
			if r.Cmp(new(big.Rat).SetInt64(x)) != 0 {
				t.Fatalf("%q: int64 %d", s, x)
			}
		case float64:
			if !Decimal(strconv.FormatFloat(x, 'g', -1, 64)).Equal(d) {
				t.Fatalf("%q: float64 %v", s, x)
			}
		case Decimal:
			if x != d {
				t.Fatalf("%q: Decimal %q", s, x)
			}
		default:
			t.Fatalf("%q: %T", s, v)
		}
	})
}

// TestNumberValueShortInt checks NumberValue's fast path for short
// integers against its general path.
func TestNumberValueShortInt(t *testing.T) {
	in := []string{"0", "-0", "7", "-7", "007", "-007", "1024", "999999999999999999", "-999999999999999999",
		"1000000000000000000", "9223372036854775807", "-9223372036854775808", "", "-", "+5", "1.0", "1e3", " 1", "1 ", "--1", "0x10"}
	for i := range 2000 {
		n := int64(splitmixTest(uint64(i)) >> (i % 64))
		if i%2 == 1 {
			n = -n
		}
		in = append(in, strconv.FormatInt(n, 10))
	}
	for _, s := range in {
		if got, want := NumberValue(Decimal(s)), numberValue(Decimal(s)); got != want {
			t.Errorf("NumberValue(%q) = %#v, its general path %#v", s, got, want)
		}
	}
}

package driver

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCheckDynamoDBValues(t *testing.T) {
	deep := map[string]any{}
	m := deep
	for range 40 {
		n := map[string]any{}
		m["d"] = n
		m = n
	}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		bad    string // a word the error names; "" for valid fields
	}{
		{"Valid", map[string]any{"a": "x", "n": 1.5, "i": int64(3), "z": 0.0, "l": []any{1e125, "y"}, "m": map[string]any{"k": true}}, ""},
		{"EmptyName", map[string]any{"": "x"}, "empty"},
		{"EmptyNestedName", map[string]any{"m": map[string]any{"": 1.0}}, "empty"},
		{"NaN", map[string]any{"n": math.NaN()}, "NaN"},
		{"Inf", map[string]any{"n": math.Inf(1)}, "Inf"},
		{"NegInf", map[string]any{"l": []any{math.Inf(-1)}}, "Inf"},
		{"TooLarge", map[string]any{"n": 1e200}, "larger"},
		{"TooSmall", map[string]any{"n": 1e-200}, "smaller"},
		{"InvalidUTF8", map[string]any{"s": "\xff"}, "UTF-8"},
		{"InvalidUTF8Name", map[string]any{"\xff": 1.0}, "UTF-8"},
		{"TooDeep", deep, "deeper"},
		{"Decimals", map[string]any{"d": Decimal("12345678901234567890123456789012345678"), "tiny": Decimal("-1e-130"), "l": []any{Decimal("9.9999999999999999999999999999999999999E+125")}}, ""},
		{"DecimalNotANumber", map[string]any{"d": Decimal("1,5")}, "not a number"},
		{"DecimalEmpty", map[string]any{"d": Decimal("")}, "not a number"},
		{"DecimalTooManyDigits", map[string]any{"m": map[string]any{"d": Decimal("123456789012345678901234567890123456789")}}, "significant digits"},
		{"DecimalTooLarge", map[string]any{"d": Decimal("1e126")}, "larger"},
		{"DecimalTooSmall", map[string]any{"d": Decimal("1e-131")}, "smaller"},
		{"Sets", map[string]any{"ss": StringSet{"a", ""}, "ns": NumberSet{"1", "1.5", "-1"}, "bs": BinarySet{{}, {1}}}, ""},
		{"EmptyStringSet", map[string]any{"ss": StringSet{}}, "empty set"},
		{"NilNumberSet", map[string]any{"ns": NumberSet(nil)}, "empty set"},
		{"EmptyBinarySet", map[string]any{"l": []any{BinarySet{}}}, "empty set"},
		{"DuplicateStrings", map[string]any{"ss": StringSet{"a", "b", "a"}}, "duplicate"},
		{"DuplicateNumbers", map[string]any{"ns": NumberSet{"1", "1.0"}}, "duplicate"},
		{"DuplicateBinaries", map[string]any{"bs": BinarySet{{1}, {1}}}, "duplicate"},
		{"InvalidUTF8InSet", map[string]any{"ss": StringSet{"\xff"}}, "UTF-8"},
		{"InvalidNumberInSet", map[string]any{"ns": NumberSet{"1", "NaN"}}, "not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDynamoDBValues(tc.fields)
			switch {
			case tc.bad == "" && err != nil:
				t.Fatalf("valid fields refused: %v", err)
			case tc.bad != "" && err == nil:
				t.Fatal("invalid fields accepted")
			case tc.bad != "" && (!errors.Is(err, InvalidArgument) || !strings.Contains(err.Error(), tc.bad)):
				t.Fatalf("error %q: want InvalidArgument naming %q", err, tc.bad)
			}
		})
	}
}

// TestCheckDynamoDBValuesAllocs checks that checking a typical document,
// fields and an attachment map of scalars, allocates nothing: every Put
// checks its document.
func TestCheckDynamoDBValuesAllocs(t *testing.T) {
	fields := map[string]any{"title": "March", "n": int64(3), "f": 1.5, "ok": true,
		"file": map[string]any{"docblob": int64(1), "key": "k", "size": int64(1024), "crc32c": "0a0b0c0d", "created": "2026-03-01T00:00:00Z"}}
	if n := testing.AllocsPerRun(100, func() {
		if err := CheckDynamoDBValues(fields); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("CheckDynamoDBValues allocates %v times per call", n)
	}
}

// TestCheckDynamoDBValuesPaths checks that errors name the attribute by
// its whole path.
func TestCheckDynamoDBValuesPaths(t *testing.T) {
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"s": "\xff"}, `attribute "s" holds a string`},
		{map[string]any{"m": map[string]any{"s": "\xff"}}, `attribute "m.s" holds a string`},
		{map[string]any{"l": []any{"a", map[string]any{"m": map[string]any{"n": math.NaN()}}}}, `attribute "l[1].m.n": NaN`},
		{map[string]any{"l": []any{[]any{StringSet{}}}}, `attribute "l[0][0]" holds an empty set`},
		{map[string]any{"m": map[string]any{"ns": NumberSet{"x"}}}, `attribute "m.ns": `},
		{map[string]any{"m": map[string]any{"": "x"}}, `an attribute name in ".m" is empty`},
		{map[string]any{"": "x"}, `an attribute name in "." is empty`},
	} {
		if err := CheckDynamoDBValues(tc.fields); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckDynamoDBValues(%v) = %v, want an error with %q", tc.fields, err, tc.want)
		}
	}
}

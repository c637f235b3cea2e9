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

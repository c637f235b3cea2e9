// Package fieldtest compares driver.Document fields in tests.
package fieldtest

import (
	"maps"
	"time"

	"github.com/docblob/docblob/driver"
)

// Equal reports whether two driver.Document.Fields maps hold equal values.
// Times are equal if they are the same instant, Decimals if they are the
// same number (driver.Decimal.Equal), and sets if they have the same
// elements in any order; values of different types are never equal.
func Equal(a, b map[string]any) bool {
	return maps.EqualFunc(a, b, equalValue)
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case driver.Decimal:
		y, ok := valueAs[driver.Decimal](b)
		return ok && x.Equal(y)
	case driver.StringSet:
		y, ok := valueAs[driver.StringSet](b)
		return ok && equalSets(x, y, func(s, t string) bool { return s == t })
	case driver.NumberSet:
		y, ok := valueAs[driver.NumberSet](b)
		return ok && equalSets(x, y, driver.Decimal.Equal)
	case driver.BinarySet:
		y, ok := valueAs[driver.BinarySet](b)
		return ok && equalSets(x, y, func(s, t []byte) bool { return string(s) == string(t) })
	default:
		return a == b
	}
}

// valueAs returns v as a T, if it is one (a type assertion).
func valueAs[T any](v any) (T, bool) {
	t, ok := v.(T)
	return t, ok
}

// equalSets reports whether two sets hold the same elements, as told apart
// by eq, in any order.
func equalSets[E any](a, b []E, eq func(E, E) bool) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && eq(x, y) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

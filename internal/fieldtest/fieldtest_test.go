package fieldtest

import (
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

func TestEqual(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{driver.StringSet{"a", "b"}, driver.StringSet{"b", "a"}, true},
		{driver.StringSet{"a", "b"}, driver.StringSet{"a", "a"}, false},
		{driver.StringSet{"a"}, []any{"a"}, false},
		{driver.NumberSet{"1", "2.50"}, driver.NumberSet{"2.5", "1.0"}, true},
		{driver.NumberSet{"1"}, driver.NumberSet{"2"}, false},
		{driver.BinarySet{{1}, {2}}, driver.BinarySet{{2}, {1}}, true},
		{driver.BinarySet{{1}}, driver.BinarySet{{1}, {1}}, false},
		{driver.Decimal("1.5"), driver.Decimal("1.50"), true},
		{driver.Decimal("1"), int64(1), false},
		{[]byte("x"), []byte("x"), true},
		{[]byte("x"), "x", false},
		{now, now.UTC(), true},
		{[]any{int64(1), map[string]any{"a": "b"}}, []any{int64(1), map[string]any{"a": "b"}}, true},
		{[]any{int64(1)}, []any{float64(1)}, false},
		{map[string]any{"a": nil}, map[string]any{}, false},
	} {
		if got := Equal(map[string]any{"x": tc.a}, map[string]any{"x": tc.b}); got != tc.want {
			t.Errorf("Equal(%#v, %#v) = %v", tc.a, tc.b, got)
		}
	}
}

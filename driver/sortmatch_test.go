package driver

import "testing"

func TestSelectsSort(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		sk   string
		want bool
	}{
		{Query{Sort: SortAny}, "x", true},
		{Query{Sort: SortEqual, Value: "b"}, "b", true},
		{Query{Sort: SortEqual, Value: "b"}, "bb", false},
		{Query{Sort: SortPrefix, Value: "20"}, "2026", true},
		{Query{Sort: SortPrefix, Value: "20"}, "1999", false},
		{Query{Sort: SortBetween, Value: "b", Value2: "d"}, "d", true},
		{Query{Sort: SortBetween, Value: "b", Value2: "d"}, "da", false},
		{Query{Sort: SortLess, Value: "b"}, "b", false},
		{Query{Sort: SortLessOrEqual, Value: "b"}, "b", true},
		{Query{Sort: SortGreater, Value: "b"}, "b", false},
		{Query{Sort: SortGreaterOrEqual, Value: "b"}, "b", true},
		{Query{Sort: SortGreater, Value: "\xff"}, "\xff\x00", true}, // bytes, not runes
	} {
		if got := tc.q.SelectsSort(tc.sk); got != tc.want {
			t.Errorf("%+v.SelectsSort(%q) = %v, want %v", tc.q, tc.sk, got, tc.want)
		}
	}
}

package driver

import "strings"

// SelectsSort reports whether a document whose sort key is sk meets q's
// sort condition (always, for SortAny), comparing as byte strings, as
// every driver must. Drivers that filter documents in process use it.
func (q *Query) SelectsSort(sk string) bool {
	switch q.Sort {
	case SortEqual:
		return sk == q.Value
	case SortPrefix:
		return strings.HasPrefix(sk, q.Value)
	case SortBetween:
		return q.Value <= sk && sk <= q.Value2
	case SortLess:
		return sk < q.Value
	case SortLessOrEqual:
		return sk <= q.Value
	case SortGreater:
		return sk > q.Value
	case SortGreaterOrEqual:
		return sk >= q.Value
	}
	return true
}

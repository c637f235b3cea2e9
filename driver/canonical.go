package driver

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Canonical values.
//
// DynamoDB does not give back every value as it was written: it keeps one
// kind of number (N) and one kind of string (S), writes numbers in its own
// normal form and keeps sets in an order of its own. A value's canonical
// form is what the DynamoDB driver reads back after writing the value, so
// that every driver can return exactly that, Go type and value alike:
//
//	written                              canonical (read back)
//	nil, bool, string, int64             unchanged
//	float64 with an integral value       int64, if its shortest text is an
//	                                     integer within int64's range
//	                                     (3.0 → 3, -0.0 → 0, 2^60 →
//	                                     1152921504606847000)
//	other float64                        unchanged (1.5, 1e20, 1e-130)
//	Decimal                              int64 if an integer within int64's
//	                                     range; else float64 if Float64
//	                                     holds it; else a Decimal in plain
//	                                     normal text ("1.50" → 1.5,
//	                                     "1e2" → 100, "12345678901234567890.10"
//	                                     → Decimal("12345678901234567890.1"))
//	time.Time                            its RFC 3339 text with nanoseconds,
//	                                     in UTC (CanonicalTime)
//	[]byte                               a copy; nil → []byte{}
//	[]any, map[string]any                elements canonical; nil → empty
//	StringSet, BinarySet                 sorted by bytes
//	NumberSet                            elements in plain normal text,
//	                                     sorted by value
//
// The plain normal text of a number has no exponent, no '+', no leading
// zeros before the point but one "0" and no trailing zeros after it (and
// no point after the last non-zero digit), and "-" only before a non-zero
// number: "100", "-0.0005", "12345678901234567890.1". It is how DynamoDB
// writes numbers. A value that is not a number DynamoDB can store (NaN,
// ±Inf, a float64 or Decimal out of range, text that is not a number) is
// left as it is, for CheckDynamoDBValues to refuse.

// CanonicalFields returns a deep copy of fields with every value in
// canonical form (see CanonicalValue). It shares no memory with fields.
// A driver that does not store documents in DynamoDB uses it to store, or
// to read back, what DynamoDB would.
func CanonicalFields(fields map[string]any) map[string]any {
	if fields == nil {
		return nil
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		out[k] = CanonicalValue(v)
	}
	return out
}

// CanonicalValue returns the canonical form of a field value: what the
// DynamoDB driver reads back after writing it (see the table above). It
// returns a deep copy that shares no memory with v. Values of types that
// Document.Fields does not allow are returned as they are.
func CanonicalValue(v any) any {
	switch x := v.(type) {
	case float64:
		return CanonicalFloat(x)
	case Decimal:
		return CanonicalDecimal(x)
	case time.Time:
		return CanonicalTime(x)
	case []byte:
		return append([]byte{}, x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = CanonicalValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = CanonicalValue(e)
		}
		return out
	case StringSet:
		return canonicalStringSet(x)
	case NumberSet:
		return canonicalNumberSet(x)
	case BinarySet:
		return canonicalBinarySet(x)
	}
	return v // nil, bool, int64, string, and types that are not field values
}

// CanonicalFloat returns the canonical form of f: the int64 that DynamoDB
// reads back if f has an integral value whose shortest text (the text
// drivers write) is an integer within int64's range, and otherwise f
// itself. It is NumberValue of f's shortest text, except that a float64
// DynamoDB cannot store (NaN, ±Inf, out of range) stays as it is.
func CanonicalFloat(f float64) any {
	switch {
	case f != math.Trunc(f) || math.IsInf(f, 0): // also NaN
		return f
	case math.Abs(f) <= 1<<53:
		return int64(f) // its shortest text is the integer itself; -0 is 0
	}
	// A larger integral value: its shortest text may be another integer
	// (2^60 is written 1152921504606847000), and DynamoDB keeps the text.
	if i, ok := NumberValue(Decimal(strconv.FormatFloat(f, 'g', -1, 64))).(int64); ok {
		return i
	}
	return f
}

// CanonicalDecimal returns the canonical form of d: as NumberValue, an
// int64 if d is an integer within int64's range, else a float64 if Float64
// holds d, and otherwise a Decimal, here in plain normal text (see the
// table above). A Decimal that is not a valid number is returned as it is.
func CanonicalDecimal(d Decimal) any {
	v := NumberValue(d)
	if x, ok := v.(Decimal); ok {
		return canonicalText(x)
	}
	return v
}

// CanonicalTime returns the canonical form of t: its RFC 3339 text with
// nanoseconds (time.RFC3339Nano) in UTC, as the DynamoDB driver stores a
// time, "2026-03-01T10:30:45.123456789Z". A time.Time field decodes from
// it. Years outside 0 to 9999 have no RFC 3339 text; the text returned for
// them (as time.Time.Format writes it) does not parse back, which is why
// the portable layer refuses such times.
func CanonicalTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// canonicalStringSet returns a sorted copy of s (by bytes); nil stays nil.
func canonicalStringSet(s StringSet) StringSet {
	if s == nil {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// canonicalBinarySet returns a sorted deep copy of s (by bytes), with
// every element non-nil; nil stays nil.
func canonicalBinarySet(s BinarySet) BinarySet {
	if s == nil {
		return nil
	}
	out := make(BinarySet, len(s))
	for i, e := range s {
		out[i] = append([]byte{}, e...)
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// canonicalNumberSet returns a copy of s with every number in plain
// normal text, sorted by value; nil stays nil. Elements that are not valid
// numbers keep their text and sort last, by text.
func canonicalNumberSet(s NumberSet) NumberSet {
	if s == nil {
		return nil
	}
	type elem struct {
		d  Decimal
		p  decimalParts
		ok bool
	}
	es := make([]elem, len(s))
	for i, d := range s {
		p, err := d.valid()
		es[i] = elem{d, p, err == nil}
		if es[i].ok {
			es[i].d = Decimal(p.plain())
		}
	}
	slices.SortStableFunc(es, func(a, b elem) int {
		switch {
		case a.ok && b.ok:
			return compareParts(a.p, b.p)
		case a.ok != b.ok:
			if a.ok {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.d), string(b.d))
	})
	out := make(NumberSet, len(es))
	for i, e := range es {
		out[i] = e.d
	}
	return out
}

// canonicalText returns d in plain normal text if it is a valid number,
// and d otherwise.
func canonicalText(d Decimal) Decimal {
	p, err := d.valid()
	if err != nil {
		return d
	}
	return Decimal(p.plain())
}

// plain returns p in plain normal text.
func (p decimalParts) plain() string {
	if p.digits == "" {
		return "0"
	}
	var b strings.Builder
	n := len(p.digits)
	b.Grow(n + max(p.exp, -p.exp) + 3)
	if p.neg {
		b.WriteByte('-')
	}
	switch {
	case p.exp >= 0:
		b.WriteString(p.digits)
		for range p.exp {
			b.WriteByte('0')
		}
	case -p.exp < n: // the point falls among the digits
		b.WriteString(p.digits[:n+p.exp])
		b.WriteByte('.')
		b.WriteString(p.digits[n+p.exp:])
	default:
		b.WriteString("0.")
		for range -p.exp - n {
			b.WriteByte('0')
		}
		b.WriteString(p.digits)
	}
	return b.String()
}

// compareParts compares two numbers by value.
func compareParts(a, b decimalParts) int {
	sign := func(p decimalParts) int {
		switch {
		case p.digits == "":
			return 0
		case p.neg:
			return -1
		}
		return 1
	}
	sa, sb := sign(a), sign(b)
	if sa != sb || sa == 0 {
		return cmp.Compare(sa, sb)
	}
	// The same sign, non-zero: compare magnitudes, by the exponent of the
	// leading digit, then digit by digit (digits have no leading or
	// trailing zeros, so a prefix is the smaller).
	c := cmp.Compare(a.exp+len(a.digits), b.exp+len(b.digits))
	if c == 0 {
		c = strings.Compare(a.digits, b.digits)
	}
	return sa * c
}

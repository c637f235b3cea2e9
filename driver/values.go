package driver

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clone returns a deep copy of doc, sharing no mutable memory with it.
// Drivers that keep documents in memory use it on the way in and out.
func (doc *Document) Clone() *Document {
	if doc == nil {
		return nil
	}
	return &Document{Key: doc.Key, Revision: doc.Revision, Fields: CloneFields(doc.Fields)}
}

// CloneFields returns a deep copy of a Fields map.
func CloneFields(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = CloneValue(v)
	}
	return out
}

// CloneValue returns a deep copy of a field value (see Document.Fields for
// the value types).
func CloneValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if x == nil {
			return []byte(nil)
		}
		return append(make([]byte, 0, len(x)), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = CloneValue(e)
		}
		return out
	case map[string]any:
		return CloneFields(x)
	case StringSet:
		return slices.Clone(x)
	case NumberSet:
		return slices.Clone(x)
	case BinarySet:
		if x == nil {
			return BinarySet(nil)
		}
		out := make(BinarySet, len(x))
		for i, e := range x {
			out[i] = CloneValue(e).([]byte)
		}
		return out
	default:
		return v // nil, bool, int64, float64, string, Decimal, time.Time (not canonical but accepted): immutable
	}
}

// DocumentSize returns the size of doc as DynamoDB counts it: the UTF-8
// length of every attribute name plus the size of every value, the key and
// revision attributes included (under the names info reports, the revision
// under info.RevisionKey). Drivers may use it to enforce
// Info.MaxDocumentBytes; the portable layer checks it before writing.
func DocumentSize(doc *Document, info Info) int {
	n := len(info.PartitionKey) + len(doc.Key.Partition)
	if info.SortKey != "" {
		n += len(info.SortKey) + len(doc.Key.Sort)
	}
	n += len(info.revisionKey()) + len(doc.Revision)
	for k, v := range doc.Fields {
		n += FieldSize(k, v)
	}
	return n
}

// FieldSize returns the size that DocumentSize counts for one field of
// Document.Fields.
func FieldSize(name string, value any) int {
	return len(name) + valueSize(value)
}

func valueSize(v any) int {
	switch x := v.(type) {
	case nil, bool:
		return 1
	case string:
		return len(x)
	case []byte:
		return len(x)
	case int64, float64:
		return 21 // DynamoDB: up to 38 significant digits, 1 byte per two
	case Decimal:
		return x.size()
	case StringSet:
		n := 0
		for _, e := range x {
			n += len(e)
		}
		return n
	case NumberSet:
		n := 0
		for _, e := range x {
			n += e.size()
		}
		return n
	case BinarySet:
		n := 0
		for _, e := range x {
			n += len(e)
		}
		return n
	case time.Time:
		return len(time.RFC3339Nano)
	case []any:
		n := 3
		for _, e := range x {
			n += 1 + valueSize(e)
		}
		return n
	case map[string]any:
		n := 3
		for k, e := range x {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	default:
		panic(fmt.Sprintf("docblob/driver: unsupported field value type %T", v))
	}
}

// Decimal is a number as DynamoDB stores it, kept as decimal text so that
// no digit is lost: an optional sign, digits with an optional fraction, and
// an optional exponent, such as "12345678901234567890", "-0.5",
// "3.1415926535897932384626433832795028" or "1E-130". It is a
// Document.Fields value type, and the root package's docblob.Decimal.
//
// A Decimal is valid (Check) if DynamoDB can store it: at most 38
// significant digits (leading and trailing zeros do not count), and zero
// or of magnitude between 1e-130 and 9.9999999999999999999999999999999999999e125.
// Two Decimals are the same number if Equal says so ("1.50", "1.5" and
// "15e-1" are). The zero Decimal, "", is not a number.
//
// Drivers store numbers as DynamoDB does and read them back as
// CanonicalDecimal says: a number that int64 or float64 holds exactly
// comes back as that type, any other as a Decimal in plain normal text
// (DynamoDB's: "12345678901234567890.10" comes back as
// "12345678901234567890.1", "-9.9E+125" as "-99" followed by 124 zeros).
type Decimal string

// StringSet is a DynamoDB string set (SS): distinct strings, at least one,
// in no particular order. It is a Document.Fields value type.
type StringSet []string

// NumberSet is a DynamoDB number set (NS): distinct numbers (by value, not
// text), at least one, in no particular order. It is a Document.Fields
// value type.
type NumberSet []Decimal

// BinarySet is a DynamoDB binary set (BS): distinct byte strings, at least
// one, in no particular order. It is a Document.Fields value type.
type BinarySet [][]byte

// String returns the number's text, as d spells it.
func (d Decimal) String() string { return string(d) }

// Check returns nil if d is a number DynamoDB can store, and otherwise an
// error that wraps InvalidArgument and says what is wrong.
func (d Decimal) Check() error {
	_, err := d.valid()
	return err
}

// Equal reports whether d and e are the same number, whatever their text:
// "1.50" equals "1.5" and "-0" equals "0". Text that is not a number equals
// only the same text.
func (d Decimal) Equal(e Decimal) bool {
	p, err1 := parseDecimal(string(d))
	q, err2 := parseDecimal(string(e))
	if err1 != nil || err2 != nil {
		return d == e
	}
	return p == q
}

// Int64 returns d as an int64, or an error if d is not a valid number, not
// an integer, or out of int64's range.
func (d Decimal) Int64() (int64, error) {
	p, err := d.valid()
	if err != nil {
		return 0, err
	}
	u, err := p.uint64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("number %s %w int64", d.short(), err)
	case !p.neg && u > 1<<63-1, p.neg && u > 1<<63:
		return 0, fmt.Errorf("number %s %w int64", d.short(), errOverflow)
	case p.neg:
		return -int64(u), nil // also right for -1<<63
	}
	return int64(u), nil
}

// Uint64 returns d as a uint64, or an error if d is not a valid number, not
// an integer, or out of uint64's range.
func (d Decimal) Uint64() (uint64, error) {
	p, err := d.valid()
	if err != nil {
		return 0, err
	}
	u, err := p.uint64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("number %s %w uint64", d.short(), err)
	case p.neg && u != 0:
		return 0, fmt.Errorf("number %s %w uint64", d.short(), errOverflow)
	}
	return u, nil
}

// Float64 returns d as a float64 if a float64 holds it: if the float64
// nearest to d, written in its shortest form (as drivers write a float64),
// is the same number. So "0.1" and "1e-130" convert, and every float64
// that a driver wrote converts back to itself, but
// "3.1415926535897932384626433832795028" and "12345678901234567891" do
// not: Float64 returns an error rather than round them.
func (d Decimal) Float64() (float64, error) {
	p, err := d.valid()
	if err != nil {
		return 0, err
	}
	if p.digits == "" {
		return 0, nil // never -0: a Decimal zero has no sign
	}
	f, ok := p.float64(string(d))
	if !ok {
		return 0, fmt.Errorf("number %s has more digits than a float64 holds", d.short())
	}
	return f, nil
}

// Rat returns the exact value of d, or an error if d is not a valid number.
func (d Decimal) Rat() (*big.Rat, error) {
	p, err := d.valid()
	if err != nil {
		return nil, err
	}
	r := new(big.Rat)
	if p.digits == "" {
		return r, nil
	}
	n, _ := new(big.Int).SetString(p.digits, 10)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(p.exp))), nil)
	if p.exp >= 0 {
		r.SetInt(n.Mul(n, scale))
	} else {
		r.SetFrac(n, scale)
	}
	if p.neg {
		r.Neg(r)
	}
	return r, nil
}

// NumberValue returns the Document.Fields value that stands for the number
// d, as drivers that store numbers as decimal text (DynamoDB's N) read
// them back: an int64 if d is an integer within int64's range; else a
// float64 if Float64 holds d (the float64 written back is the same
// number); else d itself, also when d is not a valid number. Every int64
// and float64 that a driver writes therefore reads back as itself, except
// that a float64 with an integral value in int64's range reads back as an
// int64, and no number ever loses a digit. CanonicalDecimal is NumberValue
// with a Decimal's text in DynamoDB's plain normal form.
func NumberValue(d Decimal) any {
	if i, ok := shortInt(string(d)); ok {
		return i // most numbers: sizes, counts, versions
	}
	return numberValue(d)
}

// numberValue is NumberValue's general path.
func numberValue(d Decimal) any {
	p, err := d.valid()
	if err != nil {
		return d
	}
	if u, err := p.uint64(); err == nil {
		switch {
		case !p.neg && u <= 1<<63-1:
			return int64(u)
		case p.neg && u <= 1<<63:
			return -int64(u)
		}
	}
	if f, ok := p.float64(string(d)); ok {
		return f
	}
	return d
}

// shortInt returns the integer s if s is an optional "-" and 1 to 18
// decimal digits (which always fit in an int64), without the general
// parse.
func shortInt(s string) (int64, bool) {
	digits := s
	if len(s) > 0 && s[0] == '-' {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(s) {
		n = -n
	}
	return n, true
}

// DynamoDB's number rules.
const (
	maxDigits = 38
	minAdjExp = -130 // the smallest magnitude is 1e-130
	maxAdjExp = 125  // the largest is 9.99…e125
)

var (
	errNotInteger = errors.New("is not an integer, so it does not fit in")
	errOverflow   = errors.New("is out of the range of")
)

// decimalParts is a number in a canonical form: the value is
// ±digits × 10^exp, and digits has no leading or trailing zeros ("" for
// zero, which is never negative).
type decimalParts struct {
	neg    bool
	digits string
	exp    int
}

// maxExpDigits bounds the exponent's digits (leading zeros aside), so that
// exponents stay far from int's limits.
const maxExpDigits = 9

// parseDecimal parses decimal text: [+-] digits [. [digits]] or
// [+-] . digits, then optionally [eE] [+-] digits.
func parseDecimal(s string) (decimalParts, error) {
	var p decimalParts
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		p.neg = s[i] == '-'
		i++
	}
	start := i
	i = skipDigits(s, i)
	intPart := s[start:i]
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		i = skipDigits(s, i)
		frac = s[start:i]
	}
	if intPart == "" && frac == "" {
		return p, errors.New("has no digits")
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start = i
		i = skipDigits(s, i)
		if i == start {
			return p, errors.New("has an exponent without digits")
		}
		e := strings.TrimLeft(s[start:i], "0")
		if len(e) > maxExpDigits {
			return p, errors.New("has an exponent out of range")
		}
		if e != "" {
			exp, _ = strconv.Atoi(e)
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return p, fmt.Errorf("has the unexpected character %q", s[i:i+1])
	}
	// The digits of intPart and frac, without leading and trailing zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	t := strings.TrimRight(digits, "0")
	p.digits, p.exp = t, exp-len(frac)+len(digits)-len(t)
	if p.digits == "" {
		p = decimalParts{}
	}
	return p, nil
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// valid parses d and checks it against DynamoDB's rules.
func (d Decimal) valid() (decimalParts, error) {
	p, err := parseDecimal(string(d))
	if err != nil {
		return p, fmt.Errorf("%w: %s is not a number: it %v", InvalidArgument, d.short(), err)
	}
	if len(p.digits) > maxDigits {
		return p, fmt.Errorf("%w: number %s has %d significant digits, more than DynamoDB's %d", InvalidArgument, d.short(), len(p.digits), maxDigits)
	}
	if p.digits != "" {
		switch adj := p.exp + len(p.digits) - 1; {
		case adj < minAdjExp:
			return p, fmt.Errorf("%w: number %s is smaller in magnitude than DynamoDB's 1e-130", InvalidArgument, d.short())
		case adj > maxAdjExp:
			return p, fmt.Errorf("%w: number %s is larger in magnitude than DynamoDB's 9.99…e125", InvalidArgument, d.short())
		}
	}
	return p, nil
}

// short returns d quoted, shortened if it is long.
func (d Decimal) short() string {
	const max = 64
	if len(d) > max {
		return strconv.Quote(string(d[:max])) + "…"
	}
	return strconv.Quote(string(d))
}

// key returns the same string for numbers that are equal, and different
// strings for numbers that are not; for text that is not a number, the
// text itself.
func (d Decimal) key() string {
	p, err := parseDecimal(string(d))
	if err != nil {
		return "?" + string(d)
	}
	sign := "+"
	if p.neg {
		sign = "-"
	}
	return sign + p.digits + "e" + strconv.Itoa(p.exp)
}

// size is the size DynamoDB counts for a number: a byte per two
// significant digits, plus one.
func (d Decimal) size() int {
	p, err := parseDecimal(string(d))
	if err != nil {
		return len(d) + 1
	}
	return (len(p.digits)+1)/2 + 1
}

// uint64 returns the magnitude of p if it is an integer that a uint64
// holds.
func (p decimalParts) uint64() (uint64, error) {
	switch {
	case p.digits == "":
		return 0, nil
	case p.exp < 0:
		return 0, errNotInteger
	case len(p.digits)+p.exp > 20:
		return 0, errOverflow
	}
	u, err := strconv.ParseUint(p.digits+strings.Repeat("0", p.exp), 10, 64)
	if err != nil {
		return 0, errOverflow
	}
	return u, nil
}

// float64 returns the float64 nearest to p, whose text is s, if its
// shortest form is the same number.
func (p decimalParts) float64(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false // out of range, which valid numbers are not
	}
	q, err := parseDecimal(strconv.FormatFloat(f, 'e', -1, 64))
	return f, err == nil && q == p
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

package docblob

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	gdriver "gocloud.dev/docstore/driver"
)

// The document codec turns a user's struct or map into driver field values
// and back, with gocloud.dev/docstore's reflection walker (struct tags,
// embedded structs, omitempty, encoding.TextMarshaler and friends behave as
// in docstore). docblob adds special types: a *Blob at the top level of a
// document is an attachment, and Decimal and the set types stay numbers
// and sets (see decimal.go for the rules of numbers and sets).
//
// The encoder hands drivers canonical values only (see driver.Document
// and driver.CanonicalValue): each value as DynamoDB gives it back, so
// that a document reads back the same, Go types included, on every
// driver. A time.Time becomes its RFC 3339 text in UTC (and decodes back
// into a time.Time field), a float64 with an integral value an int64, a
// Decimal an int64 or float64 if one holds it, a uint64 beyond int64 a
// Decimal, and sets are sorted. The one exception is a time in a key
// field, left as it is so that it is refused as a key (keys are strings)
// as it is by Get.
//
// Get decodes flat structs on a faster path with the same results (see
// structplan.go).

var (
	blobType      = reflect.TypeFor[*Blob]()
	timeType      = reflect.TypeFor[time.Time]()
	ptrTimeType   = reflect.TypeFor[*time.Time]()
	decimalType   = reflect.TypeFor[Decimal]()
	stringSetType = reflect.TypeFor[StringSet]()
	numberSetType = reflect.TypeFor[NumberSet]()
	binarySetType = reflect.TypeFor[BinarySet]()
)

// pendingBlob stands for an attachment in an encoded document until the
// write protocol has stored its payload and replaced it with an attachment
// map.
type pendingBlob struct{ b *Blob }

// encode encodes a document into driver field values.
func (s *Store) encode(d *document) (map[string]any, error) {
	return encodeDocument(d.g, s.info.PartitionKey, s.info.SortKey)
}

// encodeDocument encodes a document (a struct pointer or map[string]any)
// into canonical driver field values. Times in the top-level fields named
// keys (the key fields) are left as they are.
func encodeDocument(gdoc gdriver.Document, keys ...string) (map[string]any, error) {
	root := &encoder{state: &encodeState{keys: keys}}
	if err := gdoc.Encode(root); err != nil {
		return nil, err
	}
	if root.state.err != nil {
		return nil, root.state.err
	}
	m, ok := root.val.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document encoded to %T, not a map", root.val)
	}
	return m, nil
}

type encodeState struct {
	err  error
	keys []string // see encodeDocument
}

type encoder struct {
	val   any
	depth int // 0 for the document, 1 for its top-level fields
	state *encodeState
}

func (e *encoder) fail(err error) {
	if e.state.err == nil {
		e.state.err = err
	}
}

func (e *encoder) EncodeNil()            { e.val = nil }
func (e *encoder) EncodeBool(b bool)     { e.val = b }
func (e *encoder) EncodeString(s string) { e.val = s }
func (e *encoder) EncodeInt(i int64)     { e.val = i }
func (e *encoder) EncodeFloat(f float64) { e.val = driver.CanonicalFloat(f) }

func (e *encoder) EncodeBytes(b []byte) {
	if b == nil {
		b = []byte{} // a MarshalBinary's nil: DynamoDB gives back empty bytes
	}
	e.val = b
}

// EncodeUint encodes an unsigned integer as a number: an int64 if it fits,
// otherwise as DynamoDB reads the number back (a Decimal, or a float64
// that is the same number).
func (e *encoder) EncodeUint(u uint64) {
	if u <= math.MaxInt64 {
		e.val = int64(u)
		return
	}
	e.val = driver.CanonicalDecimal(Decimal(strconv.FormatUint(u, 10)))
}

func (e *encoder) EncodeList(n int) gdriver.Encoder {
	list := make([]any, n)
	e.val = list
	return &listEncoder{encoder: encoder{depth: e.depth + 1, state: e.state}, list: list}
}

func (e *encoder) ListIndex(int) { panic("docblob: ListIndex on a non-list encoder") }

func (e *encoder) EncodeMap(n int) gdriver.Encoder {
	m := make(map[string]any, n)
	e.val = m
	return &mapEncoder{encoder: encoder{depth: e.depth + 1, state: e.state}, m: m}
}

func (e *encoder) MapKey(string) { panic("docblob: MapKey on a non-map encoder") }

func (e *encoder) EncodeSpecial(v reflect.Value) (bool, error) {
	switch v.Type() {
	case blobType:
		if v.IsNil() {
			e.val = nil
			return true, nil
		}
		if e.depth != 1 {
			return true, fmt.Errorf("a *docblob.Blob must be a top-level field of the document, not nested")
		}
		e.val = pendingBlob{v.Interface().(*Blob)}
		return true, nil
	case timeType, ptrTimeType:
		if v.Kind() == reflect.Pointer {
			// Not left to the walker, which would store the bytes of
			// (*time.Time).MarshalBinary.
			if v.IsNil() {
				e.val = nil
				return true, nil
			}
			v = v.Elem()
		}
		t := v.Interface().(time.Time)
		if e.depth == 1 {
			e.val = t // a top-level field: MapKey makes it text, unless it is a key
			return true, nil
		}
		text, err := timeText(t)
		e.val = text
		return true, err
	case decimalType:
		if v.Len() == 0 {
			e.val = nil // "" is no number
		} else {
			e.val = driver.CanonicalDecimal(Decimal(v.String()))
		}
		return true, nil
	case stringSetType, numberSetType, binarySetType:
		if v.Len() == 0 {
			e.val = nil // DynamoDB has no empty sets
		} else {
			e.val = driver.CanonicalValue(v.Interface()) // a sorted copy
		}
		return true, nil
	}
	return false, nil
}

// timeText returns the canonical text of t (driver.CanonicalTime), or an
// error if t has none that parses back.
func timeText(t time.Time) (string, error) {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %v is outside the years 0 to 9999, which the RFC 3339 text that stores a time cannot hold", t)
	}
	return driver.CanonicalTime(t), nil
}

type listEncoder struct {
	encoder
	list []any
}

func (l *listEncoder) ListIndex(i int) { l.list[i] = l.val }

type mapEncoder struct {
	encoder
	m map[string]any
}

func (m *mapEncoder) MapKey(k string) {
	if t, ok := m.val.(time.Time); ok && m.depth == 1 && !slices.Contains(m.state.keys, k) {
		text, err := timeText(t)
		if err != nil {
			m.fail(fmt.Errorf("field %q: %w", k, err))
		}
		m.val = text
	}
	m.m[k] = m.val
}

// decoder decodes driver field values into Go values. At the top level of
// a document, attachment maps decode to *Blob.
// A blobMaker makes the stored *Blob of an attachment value v of a
// top-level field, or fails with errForeign for an attachment the store
// does not honour (see Store.honour), or with another error for a
// malformed one.
type blobMaker func(v any, field string) (*Blob, error)

type decoder struct {
	val   any
	depth int
	mk    blobMaker // makes a stored blob
	field string    // top-level field name
}

func (d *decoder) child(v any, field string) *decoder {
	return &decoder{val: v, depth: d.depth + 1, mk: d.mk, field: field}
}

func (d *decoder) AsString() (string, bool) { s, ok := d.val.(string); return s, ok }
func (d *decoder) AsBytes() ([]byte, bool)  { b, ok := d.val.([]byte); return b, ok }
func (d *decoder) AsBool() (bool, bool)     { b, ok := d.val.(bool); return b, ok }
func (d *decoder) AsNull() bool             { return d.val == nil }
func (d *decoder) String() string           { return fmt.Sprintf("%v (%T)", d.val, d.val) }

func (d *decoder) AsInt() (int64, bool) {
	i, ok := d.val.(int64)
	return i, ok
}

func (d *decoder) AsUint() (uint64, bool) {
	i, ok := d.val.(int64)
	if !ok || i < 0 {
		return 0, false
	}
	return uint64(i), true
}

func (d *decoder) AsFloat() (float64, bool) {
	switch x := d.val.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// ListLen and DecodeList decode lists, and sets as lists of their
// elements.
func (d *decoder) ListLen() (int, bool) {
	switch x := d.val.(type) {
	case []any:
		return len(x), true
	case StringSet:
		return len(x), true
	case NumberSet:
		return len(x), true
	case BinarySet:
		return len(x), true
	}
	return 0, false
}

func (d *decoder) DecodeList(f func(int, gdriver.Decoder) bool) {
	switch x := d.val.(type) {
	case []any:
		decodeElems(d, x, f)
	case StringSet:
		decodeElems(d, x, f)
	case NumberSet:
		decodeElems(d, x, f)
	case BinarySet:
		decodeElems(d, x, f)
	}
}

func decodeElems[E any](d *decoder, l []E, f func(int, gdriver.Decoder) bool) {
	for i, v := range l {
		if !f(i, d.child(v, d.field)) {
			return
		}
	}
}

func (d *decoder) MapLen() (int, bool) {
	m, ok := d.val.(map[string]any)
	return len(m), ok
}

func (d *decoder) DecodeMap(f func(string, gdriver.Decoder, bool) bool) {
	for k, v := range d.val.(map[string]any) {
		field := d.field
		if d.depth == 0 {
			field = k
		}
		if !f(k, d.child(v, field), true) {
			return
		}
	}
}

func (d *decoder) AsInterface() (any, error) {
	if d.depth == 1 && attach.Is(d.val) {
		b, err := d.blob()
		if errors.Is(err, errForeign) {
			return d.val, nil // data, not a reference
		}
		return b, err
	}
	return d.val, nil
}

func (d *decoder) AsSpecial(v reflect.Value) (bool, any, error) {
	switch v.Type() {
	case blobType:
		b, err := d.blob()
		return true, b, err
	case timeType:
		switch x := d.val.(type) {
		case time.Time:
			return true, x, nil
		case string: // the canonical form
			t, err := time.Parse(time.RFC3339Nano, x)
			return true, t, err
		case []byte: // how older versions stored a *time.Time: MarshalBinary
			var t time.Time
			if err := t.UnmarshalBinary(x); err != nil {
				return true, nil, fmt.Errorf("cannot decode %d bytes into time.Time: %w", len(x), err)
			}
			return true, t, nil
		}
		return true, nil, fmt.Errorf("cannot decode %T into time.Time", d.val)
	case decimalType:
		x, err := d.asDecimal()
		return true, x, err
	case stringSetType:
		return d.asSet(v.Type(), func(x any) (any, bool) { s, ok := x.(string); return s, ok })
	case numberSetType:
		return d.asSet(v.Type(), func(x any) (any, bool) { n, err := toDecimal(x); return n, err == nil && n != "" })
	case binarySetType:
		return d.asSet(v.Type(), func(x any) (any, bool) { b, ok := x.([]byte); return b, ok })
	}
	switch d.val.(type) {
	case Decimal, int64, float64:
		if isNumberKind(v.Kind()) && !hasUnmarshaler(v.Type()) {
			x, err := d.asNumber(v.Type())
			return true, x, err
		}
	}
	return false, nil, nil
}

// asDecimal returns the number d holds as a Decimal: a Decimal as it is, an
// int64 or a float64 in its shortest form; null is the zero Decimal.
func (d *decoder) asDecimal() (Decimal, error) {
	x, err := toDecimal(d.val)
	if err != nil {
		return "", fmt.Errorf("field %q: %w", d.field, err)
	}
	return x, nil
}

// toDecimal returns the Decimal that stands for the number x.
func toDecimal(x any) (Decimal, error) {
	switch n := x.(type) {
	case nil:
		return "", nil
	case Decimal:
		return n, nil
	case int64:
		return Decimal(strconv.FormatInt(n, 10)), nil
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", fmt.Errorf("%v is not a number a Decimal holds", n)
		}
		return Decimal(strconv.FormatFloat(n, 'g', -1, 64)), nil
	}
	return "", fmt.Errorf("cannot decode %T into a docblob.Decimal", x)
}

// asSet returns d's set, or a set of type t made of the elements of d's
// list, each converted by elem.
func (d *decoder) asSet(t reflect.Type, elem func(any) (any, bool)) (bool, any, error) {
	if reflect.TypeOf(d.val) == t {
		return true, d.val, nil
	}
	l, ok := d.val.([]any)
	if !ok {
		return true, nil, fmt.Errorf("field %q: cannot decode %T into %s", d.field, d.val, t)
	}
	set := reflect.MakeSlice(t, len(l), len(l))
	for i, x := range l {
		e, ok := elem(x)
		if !ok {
			return true, nil, fmt.Errorf("field %q: cannot decode a list holding %T into %s", d.field, x, t)
		}
		set.Index(i).Set(reflect.ValueOf(e))
	}
	return true, set.Interface(), nil
}

func isNumberKind(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Float64 // the integers, unsigned too, and the floats
}

var (
	textUnmarshalerType   = reflect.TypeFor[encoding.TextUnmarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// hasUnmarshaler reports whether the walker decodes t with its methods.
func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(textUnmarshalerType) || pt.Implements(binaryUnmarshalerType)
}

// asNumber returns the number that d holds (an int64, a float64 or a
// Decimal) as a value of the numeric type t, or an error naming the number
// if t does not hold it exactly: an integer type holds the integers in its
// range, float64 the numbers that a float64 written back (in its shortest
// form, as drivers write it) stores unchanged. A float32 receives that
// float64 rounded, as Go converts.
func (d *decoder) asNumber(t reflect.Type) (any, error) {
	n := reflect.New(t).Elem()
	switch k := t.Kind(); {
	case k == reflect.Float32 || k == reflect.Float64:
		var f float64
		switch x := d.val.(type) {
		case float64:
			f = x
		case int64:
			var ok bool
			if f, ok = floatOfInt(x); !ok {
				return nil, d.inexact(t, strconv.FormatInt(x, 10), "has more digits than a float64 holds")
			}
		case Decimal:
			var err error
			if f, err = x.Float64(); err != nil {
				return nil, d.inexact(t, string(x), notHeld(x, t))
			}
		}
		n.SetFloat(f)
	case k >= reflect.Uint && k <= reflect.Uintptr:
		x, err := toDecimal(d.val)
		if err != nil {
			return nil, d.inexact(t, fmt.Sprint(d.val), notANumber)
		}
		u, err := x.Uint64()
		if err != nil || n.OverflowUint(u) {
			return nil, d.inexact(t, string(x), notHeld(x, t))
		}
		n.SetUint(u)
	default:
		if i, ok := d.val.(int64); ok {
			if n.OverflowInt(i) {
				return nil, d.inexact(t, strconv.FormatInt(i, 10), "is out of the range of "+t.String())
			}
			n.SetInt(i)
			break
		}
		x, err := toDecimal(d.val)
		if err != nil {
			return nil, d.inexact(t, fmt.Sprint(d.val), notANumber)
		}
		i, err := x.Int64()
		if err != nil || n.OverflowInt(i) {
			return nil, d.inexact(t, string(x), notHeld(x, t))
		}
		n.SetInt(i)
	}
	return n.Interface(), nil
}

// floatOfInt returns i as a float64 if that float64, written back in its
// shortest form, is i: always within ±2^53, and for larger integers only
// if their digits allow (2^60 is a float64, but written back it is
// 1152921504606847000).
func floatOfInt(i int64) (float64, bool) {
	if -1<<53 <= i && i <= 1<<53 {
		return float64(i), true
	}
	f, err := Decimal(strconv.FormatInt(i, 10)).Float64()
	return f, err == nil
}

const notANumber = "is not a valid number"

// notHeld says why a number type does not hold x.
func notHeld(x Decimal, t reflect.Type) string {
	r, err := x.Rat()
	switch {
	case err != nil:
		return notANumber
	case !r.IsInt() && t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64:
		return "is not an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "has more digits than a float64 holds"
	}
	return "is out of the range of " + t.String()
}

// inexact is the error of a number that a field of type t cannot hold.
func (d *decoder) inexact(t reflect.Type, num, why string) error {
	if len(num) > 64 {
		num = num[:64] + "…"
	}
	if why == notANumber {
		return fmt.Errorf("field %q: %q %s, so it cannot be decoded into %s", d.field, num, why, t)
	}
	return fmt.Errorf("field %q: number %s %s, so it cannot be decoded into %s without loss; use a docblob.Decimal field to keep every digit",
		d.field, num, why, t)
}

func (d *decoder) blob() (*Blob, error) {
	if d.depth != 1 {
		return nil, fmt.Errorf("field %q: attachments are top-level fields only", d.field)
	}
	b, err := d.mk(d.val, d.field)
	if err != nil {
		return nil, fmt.Errorf("attachment field %q: %w", d.field, err)
	}
	return b, nil
}

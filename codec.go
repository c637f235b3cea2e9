package docblob

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/docblob/docblob/internal/attach"
	gdriver "gocloud.dev/docstore/driver"
)

// The document codec turns a user's struct or map into driver field values
// and back, with gocloud.dev/docstore's reflection walker (struct tags,
// embedded structs, omitempty, encoding.TextMarshaler and friends behave as
// in docstore). docblob adds two special types: time.Time stays a time, and
// a *Blob at the top level of a document is an attachment.

var (
	blobType = reflect.TypeFor[*Blob]()
	timeType = reflect.TypeFor[time.Time]()
)

// pendingBlob stands for an attachment in an encoded document until the
// write protocol has stored its payload and replaced it with an attachment
// map.
type pendingBlob struct{ b *Blob }

// encode encodes a document into driver field values, on the fast path of
// its struct plan if it can (see plan.go).
func (s *Store) encode(d *document) (map[string]any, error) {
	if d.plan != nil {
		if m, ok := d.plan.encode(d.v); ok {
			return m, nil
		}
	}
	return encodeDocument(d.g)
}

// encodeDocument encodes a document (a struct pointer or map[string]any)
// into driver field values.
func encodeDocument(gdoc gdriver.Document) (map[string]any, error) {
	root := &encoder{state: &encodeState{}}
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

type encodeState struct{ err error }

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
func (e *encoder) EncodeFloat(f float64) { e.val = f }
func (e *encoder) EncodeBytes(b []byte)  { e.val = b }

func (e *encoder) EncodeUint(u uint64) {
	if u > math.MaxInt64 {
		e.fail(fmt.Errorf("unsigned value %d overflows int64", u))
	}
	e.val = int64(u)
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
	case timeType:
		e.val = v.Interface().(time.Time)
		return true, nil
	}
	return false, nil
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

func (m *mapEncoder) MapKey(k string) { m.m[k] = m.val }

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

func (d *decoder) ListLen() (int, bool) {
	l, ok := d.val.([]any)
	return len(l), ok
}

func (d *decoder) DecodeList(f func(int, gdriver.Decoder) bool) {
	for i, v := range d.val.([]any) {
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
		case string:
			t, err := time.Parse(time.RFC3339Nano, x)
			return true, t, err
		}
		return true, nil, fmt.Errorf("cannot decode %T into time.Time", d.val)
	}
	return false, nil, nil
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

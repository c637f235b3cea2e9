package docblob

import (
	"reflect"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	gdriver "gocloud.dev/docstore/driver"
)

// The fast paths of a struct plan (see plan.go). Each returns false when it
// meets what it leaves to the general path; its partial work is then
// discarded or redone.

// encode returns the encoded fields of the struct v, as encodeDocument
// would: canonical driver values.
func (p *structPlan) encode(v reflect.Value) (map[string]any, bool) {
	m := make(map[string]any, len(p.fields))
	for i, f := range p.fields {
		fv := v.Field(f.index)
		if f.omitEmpty && gdriver.IsEmptyValue(fv) {
			continue
		}
		switch f.kind {
		case kindString:
			m[f.name] = fv.String()
		case kindBool:
			m[f.name] = fv.Bool()
		case kindInt:
			m[f.name] = fv.Int()
		case kindFloat:
			m[f.name] = driver.CanonicalFloat(fv.Float())
		case kindTime:
			if i == p.pk || i == p.sk {
				return nil, false // a time key, which the general path leaves as it is
			}
			text, err := timeText(fv.Interface().(time.Time))
			if err != nil {
				return nil, false
			}
			m[f.name] = text
		case kindBlob:
			if fv.IsNil() {
				m[f.name] = nil
			} else {
				m[f.name] = pendingBlob{fv.Interface().(*Blob)}
			}
		case kindAny:
			switch x := fv.Interface().(type) {
			case nil, string, bool, int64:
				m[f.name] = x
			case float64:
				m[f.name] = driver.CanonicalFloat(x)
			default:
				return nil, false // Decimals and sets among others
			}
		default:
			return nil, false
		}
	}
	return m, true
}

// decode sets the struct v, already zeroed, from the driver document got,
// as decodeInto would: its fields that v has, its key, and its revision if
// v has a field for it.
func (p *structPlan) decode(s *Store, v reflect.Value, got *driver.Document, mk blobMaker) bool {
	for name, x := range got.Fields {
		if name == s.info.PartitionKey || name == s.opts.RevisionField || (s.info.SortKey != "" && name == s.info.SortKey) {
			continue // decodeInto sets these from the key and revision
		}
		if i, ok := p.byName[name]; ok && !p.decodeField(v, i, x, mk) {
			return false
		}
	}
	if p.pk < 0 || !p.decodeString(v, p.pk, got.Key.Partition) {
		return false
	}
	if s.info.SortKey != "" && (p.sk < 0 || !p.decodeString(v, p.sk, got.Key.Sort)) {
		return false
	}
	return p.rev < 0 || p.decodeString(v, p.rev, revisionOf(got))
}

// decodeString decodes a key or a revision into the field fields[i] of v,
// which is zero.
func (p *structPlan) decodeString(v reflect.Value, i int, s string) bool {
	if f := &p.fields[i]; f.kind == kindString {
		v.Field(f.index).SetString(s) // without making s an interface value
		return true
	}
	return p.decodeField(v, i, s, nil)
}

// decodeField decodes x into the field fields[i] of v, which is zero.
func (p *structPlan) decodeField(v reflect.Value, i int, x any, mk blobMaker) bool {
	f := &p.fields[i]
	fv := v.Field(f.index)
	switch f.kind {
	case kindString:
		s, ok := x.(string)
		if !ok {
			return false
		}
		fv.SetString(s)
	case kindBool:
		b, ok := x.(bool)
		if !ok {
			return false
		}
		fv.SetBool(b)
	case kindInt:
		n, ok := x.(int64)
		if !ok || fv.OverflowInt(n) {
			return false
		}
		fv.SetInt(n)
	case kindFloat:
		switch n := x.(type) {
		case float64:
			fv.SetFloat(n)
		case int64:
			f, ok := floatOfInt(n)
			if !ok {
				return false // the general path refuses to round it
			}
			fv.SetFloat(f)
		default:
			return false // a Decimal among others: the general path's
		}
	case kindTime:
		switch t := x.(type) {
		case time.Time:
			fv.Set(reflect.ValueOf(t))
		case string:
			pt, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return false
			}
			fv.Set(reflect.ValueOf(pt))
		default:
			return false
		}
	case kindBlob, kindAny:
		switch {
		case x == nil:
			// The field stays nil.
		case f.kind == kindBlob || attach.Is(x):
			b, err := mk(x, f.name)
			switch {
			case f.kind == kindAny && err == errForeign:
				fv.Set(reflect.ValueOf(x)) // data, not a reference
			case err != nil:
				return false // the general path reports it
			default:
				fv.Set(reflect.ValueOf(b))
			}
		default:
			fv.Set(reflect.ValueOf(x))
		}
	default:
		return false
	}
	return true
}

// locate sets d's key and revision from the struct v, as locate's general
// path would when it succeeds.
func (p *structPlan) locate(s *Store, v reflect.Value, d *document) bool {
	var k driver.Key
	var ok bool
	if k.Partition, ok = p.keyPart(v, p.pk, s.info.PartitionKey, s.info.MaxPartitionKeyBytes); !ok {
		return false
	}
	if s.info.SortKey != "" {
		if k.Sort, ok = p.keyPart(v, p.sk, s.info.SortKey, s.info.MaxSortKeyBytes); !ok {
			return false
		}
	}
	if p.rev >= 0 {
		f := &p.fields[p.rev]
		fv := v.Field(f.index)
		switch {
		case f.isString:
			d.rev = fv.String()
		case f.kind == kindAny && fv.IsNil():
			d.rev = ""
		case f.kind == kindAny && fv.Elem().Type() == reflect.TypeFor[string]():
			d.rev = fv.Elem().String()
		default:
			return false
		}
		d.hasRev = true
	}
	d.key = k
	return true
}

// keyPart returns the valid key held in the string field fields[i] of v.
func (p *structPlan) keyPart(v reflect.Value, i int, name string, max int) (string, bool) {
	if i < 0 || p.fields[i].kind != kindString {
		return "", false
	}
	str := v.Field(p.fields[i].index).String()
	return str, validateKeyPart(name, str, max) == nil
}

package docblob

import (
	"reflect"
	"strings"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	gdriver "gocloud.dev/docstore/driver"
)

// Struct plans: the fast path of Get.
//
// gocloud.dev/docstore's reflection walker (see codec.go) handles every
// document shape, at a price paid on every field of every call: interface
// checks, field names looked up by converting them to bytes, a decoder
// allocated per value. Most documents are flat structs of strings,
// numbers, times and blobs. For those, a plan made once per struct type
// (and store, since it resolves the store's key and revision fields) reads
// the key and revision fields of a document to get (locate) and sets its
// fields from the stored document (decode) directly: a Get into such a
// struct then allocates a tenth as much (BenchmarkGet; figures in the
// README, Performance). Put encodes with the walker only, since a fast
// encoder saved too little to earn its code.
//
// A fast path only takes the cases whose outcome it knows to be the
// walker's: a field of any other type, a value of an unexpected type, a
// key the store would reject, anything unusual, and it reports that it did
// not finish, and the caller runs the general path from the start. Errors
// therefore always come from the general path, worded as they always were.

// fieldKind is how a struct field is decoded on the fast path.
type fieldKind uint8

const (
	kindOther  fieldKind = iota // left to the walker
	kindString                  // a string type without methods
	kindBool                    // a bool type without methods
	kindInt                     // a signed integer type without methods
	kindFloat                   // a floating-point type without methods
	kindTime                    // time.Time
	kindBlob                    // *Blob
	kindAny                     // interface{}
)

// planField is one field of a struct document, as the walker names it.
type planField struct {
	name     string
	index    int // in the struct
	kind     fieldKind
	isString bool // of type string itself, not a named string type
}

// structPlan is what the fast paths know of one struct type for one store.
type structPlan struct {
	fields []planField
	byName map[string]int // name to index in fields
	// The fields holding the store's partition key, sort key and revision,
	// matched exactly; -1 if the struct has none (not even one that would
	// match case-insensitively, which is left to the walker).
	pk, sk, rev int
}

// plan returns the plan of a struct type, or nil if the struct needs the
// general path.
func (s *Store) plan(t reflect.Type) *structPlan {
	if p, ok := s.plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := s.makePlan(t)
	s.plans.Store(t, p)
	return p
}

// makePlan lists the fields of a struct type as the walker does, or
// returns nil for a struct whose fields it cannot be sure to list alike
// (embedded structs, clashing names).
func (s *Store) makePlan(t reflect.Type) *structPlan {
	g, err := gdriver.NewDocument(reflect.New(t).Interface())
	if err != nil {
		return nil
	}
	p := &structPlan{byName: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil // embedded fields follow Go's promotion rules: the walker's
		}
		name, keep := parseTag(f.Tag)
		if !f.IsExported() || !keep {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := p.byName[name]; dup {
			return nil
		}
		p.byName[name] = len(p.fields)
		p.fields = append(p.fields, planField{name: name, index: i, kind: kindOf(f.Type),
			isString: f.Type == reflect.TypeFor[string]()})
	}
	// The walker's own list must be the same, so that both paths see the
	// same fields.
	names := g.FieldNames()
	if len(names) != len(p.fields) {
		return nil
	}
	for i, f := range p.fields {
		if names[i] != f.name {
			return nil
		}
	}
	var pkOK, skOK, revOK bool
	p.pk, pkOK = p.resolve(g, s.info.PartitionKey)
	p.sk, skOK = p.resolve(g, s.info.SortKey)
	p.rev, revOK = p.resolve(g, s.opts.RevisionField)
	if !pkOK || !skOK || !revOK {
		return nil
	}
	return p
}

// resolve returns the index of the field with the given name, or -1 if
// there is none. It reports false for a field that matches only
// case-insensitively, as the walker's lookups allow.
func (p *structPlan) resolve(g gdriver.Document, name string) (int, bool) {
	if i, ok := p.byName[name]; ok {
		return i, true
	}
	return -1, name == "" || !g.HasFieldFold(name)
}

// parseTag returns the field name of a docstore struct tag, as
// gocloud.dev/docstore reads it, and whether the field is kept. (Tags with
// unknown options make gdriver.NewDocument fail first.)
func parseTag(tag reflect.StructTag) (name string, keep bool) {
	name, _, hasOpts := strings.Cut(tag.Get("docstore"), ",")
	return name, name != "-" || hasOpts // "-," names a field "-"
}

func kindOf(t reflect.Type) fieldKind {
	switch {
	case t == blobType:
		return kindBlob
	case t == timeType:
		return kindTime
	case t == decimalType || t == stringSetType || t == numberSetType || t == binarySetType:
		return kindOther // special to the codec, like marshalers
	case reflect.PointerTo(t).NumMethod() > 0:
		return kindOther // it may be an unmarshaler, which the walker calls
	case t.Kind() == reflect.Interface && t.NumMethod() > 0:
		// An interface with methods (fmt.Stringer, error): the walker fills
		// only empty interfaces and refuses the rest; a pointer to an
		// interface has no methods, so the case above lets them by.
		return kindOther
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Float32, reflect.Float64:
		return kindFloat
	case reflect.Interface:
		return kindAny // with no methods, by the cases above
	}
	return kindOther
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

package docblob

import (
	"reflect"
	"slices"
	"strings"

	gdriver "gocloud.dev/docstore/driver"
)

// Struct plans: the fast path of the document codec.
//
// gocloud.dev/docstore's reflection walker (see codec.go) handles every
// document shape, at a price paid on every field of every call: interface
// checks, field names looked up by converting them to bytes, an encoder or
// decoder allocated per value. Most documents are flat structs of strings,
// numbers, times and blobs. For those, a plan made once per struct type
// (and store, since it resolves the store's key and revision fields) reads
// and writes the fields directly.
//
// A fast path only takes the cases whose outcome it knows to be the
// walker's: a field of any other type, a value of an unexpected type, a
// key the store would reject, anything unusual, and it reports that it did
// not finish, and the caller runs the general path from the start. Errors
// therefore always come from the general path, worded as they always were.

// fieldKind is how a struct field is encoded and decoded on the fast path.
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
	name      string
	index     int // in the struct
	kind      fieldKind
	omitEmpty bool
	isString  bool // of type string itself, not a named string type
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
		name, keep, omitEmpty := parseTag(f.Tag)
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
			omitEmpty: omitEmpty, isString: f.Type == reflect.TypeFor[string]()})
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

// parseTag parses a docstore struct tag as gocloud.dev/docstore does. (Tags
// with unknown options make gdriver.NewDocument fail first.)
func parseTag(tag reflect.StructTag) (name string, keep, omitEmpty bool) {
	parts := strings.Split(tag.Get("docstore"), ",")
	if parts[0] == "-" && len(parts) == 1 {
		return "", false, false
	}
	return parts[0], true, slices.Contains(parts[1:], "omitempty")
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
		return kindOther // it may be a marshaler, which the walker calls
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
		return kindAny // with no methods, by the case above
	}
	return kindOther
}

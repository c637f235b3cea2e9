package docblob

import (
	"fmt"
	"reflect"

	"github.com/docblob/docblob/driver"
	gdriver "gocloud.dev/docstore/driver"
)

// document is a user's document, prepared for the driver.
type document struct {
	g      gdriver.Document
	key    driver.Key
	fields map[string]any // encoded, without key and revision fields
	rev    string         // the document's revision field, "" if absent or nil
	hasRev bool           // the document type has a revision field
	v      reflect.Value  // the struct, for a struct document
	plan   *structPlan    // its plan, if it has one
}

// newDocument checks that doc is a struct pointer or a map[string]any.
func (s *Store) newDocument(op string, doc any) (*document, error) {
	d := new(document)
	if err := s.initDocument(d, op, doc); err != nil {
		return nil, err
	}
	return d, nil
}

// initDocument is newDocument into a document of the caller's, which Get
// and Delete keep on their stack.
func (s *Store) initDocument(d *document, op string, doc any) error {
	t := reflect.TypeOf(doc)
	switch {
	case doc == nil:
		return errorf(InvalidArgument, op, noKey, "nil document")
	case t == reflect.TypeFor[map[string]any]():
		if reflect.ValueOf(doc).IsNil() {
			return errorf(InvalidArgument, op, noKey, "nil document map")
		}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if reflect.ValueOf(doc).IsNil() {
			return errorf(InvalidArgument, op, noKey, "nil document pointer")
		}
	default:
		return errorf(InvalidArgument, op, noKey, "a document must be a pointer to a struct or a map[string]any, not %s", t)
	}
	g, err := gdriver.NewDocument(doc)
	if err != nil {
		return newError(InvalidArgument, op, noKey, err)
	}
	*d = document{g: g}
	if t.Kind() == reflect.Pointer {
		d.v = reflect.ValueOf(doc).Elem()
		d.plan = s.plan(t.Elem())
	}
	return nil
}

// prepare encodes doc and extracts its key and revision.
func (s *Store) prepare(op string, doc any) (*document, error) {
	d, err := s.newDocument(op, doc)
	if err != nil {
		return nil, err
	}
	fields, err := s.encode(d)
	if err != nil {
		return nil, newError(InvalidArgument, op, noKey, fmt.Errorf("encode document: %w", err))
	}
	d.fields = fields
	if err := s.readKey(op, d, fields); err != nil {
		return nil, err
	}
	delete(fields, s.info.PartitionKey)
	if s.info.SortKey != "" {
		delete(fields, s.info.SortKey)
	}
	delete(fields, s.opts.RevisionField)
	return d, nil
}

// locate prepares a document for Get and Delete, which need only its key
// and revision: it reads those fields without encoding the rest.
func (s *Store) locate(op string, doc any) (*document, error) {
	d := new(document)
	if err := s.locateInto(d, op, doc); err != nil {
		return nil, err
	}
	return d, nil
}

// locateInto is locate into a document of the caller's.
func (s *Store) locateInto(d *document, op string, doc any) error {
	if err := s.initDocument(d, op, doc); err != nil {
		return err
	}
	if d.plan != nil && d.plan.locate(s, d.v, d) {
		return nil
	}
	return s.readKeyFields(op, d)
}

// readKeyFields is locate's general path.
func (s *Store) readKeyFields(op string, d *document) error {
	fields := make(map[string]any, 3)
	for _, name := range []string{s.info.PartitionKey, s.info.SortKey, s.opts.RevisionField} {
		if name == "" || !d.g.HasFieldFold(name) {
			continue
		}
		v, err := d.g.GetField(name)
		if err != nil {
			return newError(InvalidArgument, op, noKey, err)
		}
		fields[name] = plainValue(v)
	}
	return s.readKey(op, d, fields)
}

// plainValue turns a key or revision field's value into the form the
// encoder gives it: strings of any named string type become string.
func plainValue(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	if rv.Kind() == reflect.String {
		return rv.String()
	}
	return rv.Interface()
}

// readKey sets d's key and revision from its encoded key fields.
func (s *Store) readKey(op string, d *document, fields map[string]any) error {
	var err error
	if d.key, err = s.documentKey(fields); err != nil {
		return newError(InvalidArgument, op, d.key, err)
	}
	v, ok := fields[s.opts.RevisionField]
	if !ok {
		return nil
	}
	d.hasRev = true
	switch r := v.(type) {
	case nil:
	case string:
		d.rev = r
	default:
		return errorf(InvalidArgument, op, d.key, "revision field %q holds %T; it must be a string or nil (use type any or string)", s.opts.RevisionField, v)
	}
	if !d.revisionSettable(s.opts.RevisionField) {
		return errorf(InvalidArgument, op, d.key, "revision field %q must be of type string or any", s.opts.RevisionField)
	}
	return nil
}

// revisionSettable reports whether the document's revision field can hold
// a string revision: a map, or a struct field of type string or an
// interface.
func (d *document) revisionSettable(field string) bool {
	v, err := d.g.GetField(field)
	if err != nil {
		return true // a map without the field
	}
	switch v.(type) {
	case nil, string:
		return true
	}
	return false
}

// setRevision stores a new revision into the user's document.
func (d *document) setRevision(field, rev string) error {
	if !d.hasRev {
		return nil
	}
	if err := d.g.SetField(field, rev); err != nil {
		return fmt.Errorf("set revision field %q: %w", field, err)
	}
	return nil
}

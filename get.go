package docblob

import (
	"context"
	"fmt"
	"reflect"

	"github.com/docblob/docblob/driver"
)

// Get reads the document whose key fields are set in doc (a pointer to a
// struct, or a map[string]any) and decodes it into doc. It never downloads
// payloads: each attachment field receives a stored *Blob with the payload's
// metadata, to be read with Blob.Open. Fields of doc are reset first, so no
// value of an earlier document remains; document attributes with no
// matching struct field are ignored. A missing document is an error with
// code NotFound.
func (s *Store) Get(ctx context.Context, doc any) (err error) {
	const op = "get"
	ctx, sp := s.startSpan(ctx, "Get")
	defer func() { sp.end(err) }()
	exit, err := s.enter(op)
	if err != nil {
		return err
	}
	defer exit()
	if err := ctx.Err(); err != nil {
		return err
	}
	var d document // on the stack: Get keeps nothing of it
	if err := s.locateInto(&d, op, doc); err != nil {
		return err
	}
	got, err := s.drv.GetDocument(ctx, d.key)
	if err != nil {
		return s.wrap(op, d.key, err)
	}
	if err := s.decodeInto(&d, got); err != nil {
		return newError(InvalidArgument, op, d.key, err)
	}
	return nil
}

// noRevision is the revision Get reports for a document that has none
// (written by another tool): a Put or Delete conditioned on it applies
// only while the document still has none, so that an update made in
// between by that tool is not lost. docblob's own revisions are ids of
// idLen characters, never this.
const noRevision = "none"

// revisionOf returns the revision to report for a stored document.
func revisionOf(got *driver.Document) string {
	if got.Revision == "" {
		return noRevision
	}
	return got.Revision
}

// matchRevision returns the condition that a document still has the
// revision rev that Get reported.
func matchRevision(rev string) driver.Condition {
	if rev == noRevision {
		rev = "" // the document exists and has no revision
	}
	return driver.Condition{Kind: driver.MustMatchRevision, Revision: rev}
}

// decodeInto decodes a driver document into the user's document d, on the
// fast path of its struct plan if it can (see structplan.go).
func (s *Store) decodeInto(d *document, got *driver.Document) error {
	keyStr := d.key
	if got.Key != d.key {
		keyStr = got.Key
	}
	if d.plan != nil {
		d.v.SetZero()
		// A closure of its own, which does not escape (the general
		// path's does), so that the fast path does not allocate it.
		mk := func(v any, field string) (*Blob, error) { return s.storedBlob(got, keyStr, v, field) }
		if d.plan.decode(s, d.v, got, mk) {
			return nil
		}
	}
	mk := func(v any, field string) (*Blob, error) { return s.storedBlob(got, keyStr, v, field) }
	fields := make(map[string]any, len(got.Fields)+3)
	isMap := d.g.Origin != nil && reflect.TypeOf(d.g.Origin).Kind() == reflect.Map
	if isMap {
		m := d.g.Origin.(map[string]any)
		clear(m)
	} else {
		v := reflect.ValueOf(d.g.Origin).Elem()
		v.SetZero()
	}
	for k, v := range got.Fields {
		if isMap || d.g.HasField(k) {
			fields[k] = v
		}
	}
	fields[s.info.PartitionKey] = got.Key.Partition
	if s.info.SortKey != "" {
		fields[s.info.SortKey] = got.Key.Sort
	}
	if isMap || d.g.HasField(s.opts.RevisionField) {
		fields[s.opts.RevisionField] = revisionOf(got)
	}
	if err := d.g.Decode(&decoder{val: fields, mk: mk}); err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	return nil
}

// storedBlob is the blobMaker of a document read: the stored *Blob of the
// attachment value v of field in the stored document got, whose key the
// blob reports as docKey.
func (s *Store) storedBlob(got *driver.Document, docKey Key, v any, field string) (*Blob, error) {
	ref, err := s.honour(got.Key, field, v)
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, fmt.Errorf("it holds a %T, not an attachment", v)
	}
	return &Blob{ref: ref, store: s, docKey: docKey, field: field, docRev: got.Revision}, nil
}

package docblob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// Put stores doc, a pointer to a struct or a map[string]any, replacing any
// document with the same key, and stores the payloads of its new
// attachments first. If doc has a revision field (see
// Options.RevisionField) that is not nil, the write succeeds only if the
// stored document has that revision, and fails with code
// FailedPrecondition otherwise. On success Put sets the revision field to
// the new revision and turns doc's new attachments into stored ones, and
// deletes the payloads that the replaced document referenced and doc does
// not. On failure the store is as it was before the call (see the package
// documentation, Consistency).
func (s *Store) Put(ctx context.Context, doc any) (err error) {
	ctx, sp := s.startSpan(ctx, "Put")
	defer func() { sp.end(err) }()
	return s.put(ctx, sp, "put", doc, false)
}

// Create stores doc like Put, but only if no document has its key: if one
// does, it fails with code AlreadyExists and writes nothing. When doc has
// a payload to upload that is not known to be small (under 1 MiB: bytes,
// or a local file or reader of known length), Create first reads the key
// (one strongly consistent read) and fails before uploading anything if
// it is taken, so that re-running a migration or a retried request does
// not upload every payload again only to delete it. The write itself
// stays conditional: a document created between the read and the write
// still makes Create fail with AlreadyExists, its uploads deleted.
func (s *Store) Create(ctx context.Context, doc any) (err error) {
	ctx, sp := s.startSpan(ctx, "Create")
	defer func() { sp.end(err) }()
	return s.put(ctx, sp, "create", doc, true)
}

// attachment is one *Blob field of a document being written.
type attachment struct {
	field   string
	blob    *Blob
	ref     *attach.Ref // the stored form, once decided
	fresh   bool        // ref.Key was written by this call
	written bool        // the payload was uploaded or inlined by this call
	adopted bool        // ref.Key is a direct upload, committed by this call
}

func (s *Store) put(ctx context.Context, sp *opSpan, op string, doc any, create bool) (err error) {
	exit, err := s.enter(op)
	if err != nil {
		return err
	}
	defer exit()
	if err := ctx.Err(); err != nil {
		return err
	}
	d, err := s.prepare(op, doc)
	if err != nil {
		return err
	}
	atts, err := s.collectAttachments(op, d)
	if err != nil {
		return err
	}
	if s.info.DynamoDBValues {
		if err := driver.CheckDynamoDBValues(d.fields); err != nil {
			return newError(InvalidArgument, op, d.key, err)
		}
	}
	defer func() {
		if err != nil {
			for _, a := range atts {
				a.blob.rewind()
			}
		}
	}()
	cond := driver.Condition{Kind: driver.Always}
	switch {
	case create:
		cond.Kind = driver.MustNotExist
	case d.rev != "":
		cond = matchRevision(d.rev)
	}
	if err := s.checkKept(op, d, atts, &cond); err != nil {
		return err
	}
	if err := s.checkSize(op, d, atts); err != nil {
		return err
	}
	if create && slices.ContainsFunc(atts, (*attachment).largeUpload) {
		if err := s.checkFree(ctx, op, d); err != nil {
			return err
		}
	}
	started, err := s.storePayloads(ctx, op, d, atts)
	if err != nil {
		return err
	}
	sp.wrote(writtenBytes(atts))
	ddoc := &driver.Document{Key: d.key, Revision: newID(), Fields: d.fields}
	prev, err := s.writeDocument(ctx, op, d, ddoc, cond, atts, started)
	if err != nil {
		return err
	}
	return s.afterCommit(ctx, op, d, ddoc, prev, atts)
}

// writtenBytes is the size of the payloads that a Put stored: uploaded
// or inlined, not kept from the replaced document nor committed uploads.
func writtenBytes(atts []*attachment) int64 {
	var n int64
	for _, a := range atts {
		if a.written {
			n += a.ref.Size
		}
	}
	return n
}

// smallUpload is the size under which Create does not read the key before
// uploading a payload.
const smallUpload = 1 << 20

// largeUpload reports whether a uploads a payload that is not known to be
// smaller than smallUpload.
func (a *attachment) largeUpload() bool {
	b := a.blob
	if a.ref != nil || b.pending != nil {
		return false
	}
	if b.ref != nil { // a copy
		return b.ref.Size >= smallUpload
	}
	n := int64(-1)
	switch src := b.src.(type) {
	case nil:
		if b.isBytes {
			n = int64(len(b.data))
		}
	case interface{ Len() int }: // *bytes.Reader, *strings.Reader, *bytes.Buffer
		n = int64(src.Len())
	case *os.File:
		if fi, err := src.Stat(); err == nil && fi.Mode().IsRegular() {
			n = fi.Size()
		}
	}
	return n < 0 || n >= smallUpload
}

// checkFree fails with AlreadyExists if a document has d's key.
func (s *Store) checkFree(ctx context.Context, op string, d *document) error {
	_, err := s.drv.GetDocument(ctx, d.key)
	switch err = s.wrap(op, d.key, err); Code(err) {
	case NotFound:
		return nil
	case OK:
		return errorf(AlreadyExists, op, d.key, "a document with this key exists; nothing was uploaded")
	}
	return err
}

// storePayloads is steps 1 and 2 of the write protocol (see the package
// documentation): each new payload is stored first, under a fresh key, and
// the attachments are recorded in the document's fields. It returns when
// the first upload started. On failure it deletes what it stored.
func (s *Store) storePayloads(ctx context.Context, op string, d *document, atts []*attachment) (started time.Time, err error) {
	started = s.opts.Now()
	for _, a := range atts {
		if a.ref != nil {
			continue
		}
		if p := a.blob.pending; p != nil {
			// A direct upload: the payload is already stored, under a key
			// made when its URL was signed.
			if p.created.Before(started) {
				started = p.created
			}
			a.ref, err = s.adoptUpload(ctx, op, d, a)
			a.adopted = err == nil
		} else {
			a.ref, err = s.writePayload(ctx, op, d, a)
			a.written = err == nil
			a.fresh = a.written && !a.ref.IsInline
		}
		if err != nil {
			s.deletePayloads(ctx, op, d.key, freshKeys(atts))
			return started, err
		}
	}
	for _, a := range atts {
		d.fields[a.field] = a.ref.Encode()
	}
	return started, nil
}

// writeDocument is steps 3 and 4 of the write protocol: the document,
// written with its condition, learning atomically what it replaced (nil if
// nothing, or if unknown after an ambiguous failure that turned out
// committed). A write with new payloads must land before the commit
// deadline (see the package documentation, Why Sweep is safe).
func (s *Store) writeDocument(ctx context.Context, op string, d *document, ddoc *driver.Document, cond driver.Condition, atts []*attachment, started time.Time) (*driver.Document, error) {
	fresh := freshKeys(atts) // deleted if the write fails definitely
	if max := s.info.MaxDocumentBytes; max > 0 {
		if n := driver.DocumentSize(ddoc, s.info); n > max {
			s.deletePayloads(ctx, op, d.key, fresh)
			return nil, errorf(TooLarge, op, d.key, "document is %d bytes with its attachments, over the backend's limit of %d", n, max)
		}
	}
	wctx := ctx
	if len(fresh) > 0 || slices.ContainsFunc(atts, func(a *attachment) bool { return a.adopted }) {
		deadline := started.Add(s.opts.CommitDeadline)
		now := s.opts.Now()
		if now.After(deadline) {
			s.deletePayloads(ctx, op, d.key, fresh)
			if slices.ContainsFunc(atts, func(a *attachment) bool {
				return a.adopted && now.After(a.blob.pending.created.Add(s.opts.CommitDeadline))
			}) {
				return nil, errorf(FailedPrecondition, op, d.key, "a direct upload's commit deadline (%v after its URL was signed) has passed; nothing was written: upload again", s.opts.CommitDeadline)
			}
			return nil, errorf(Unavailable, op, d.key, "uploading the payloads took longer than the commit deadline (%v); nothing was written", s.opts.CommitDeadline)
		}
		// The deadline is on the store's clock; contexts run on the real
		// one, so give the context the time that is left.
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, deadline.Add(s.opts.WriteTimeout).Sub(now))
		defer cancel()
	}
	prev, err := s.drv.PutDocument(wctx, ddoc, cond)
	if err != nil {
		committed, err := s.afterFailedWrite(ctx, op, d, ddoc.Revision, fresh, err)
		if !committed {
			return nil, err
		}
		return nil, nil // committed; the replaced version is unknown, its payloads left to Sweep
	}
	return prev, nil
}

// afterCommit is step 5 of the write protocol: it deletes the payloads
// that the replaced version referenced and this one does not, and updates
// the caller's document: new revision, stored blobs.
func (s *Store) afterCommit(ctx context.Context, op string, d *document, ddoc *driver.Document, prev *driver.Document, atts []*attachment) error {
	if prev != nil {
		keep := s.references(d.key, d.fields)
		var stale []string
		for _, k := range s.releasable(d.key, prev.Fields) {
			if !slices.Contains(keep, k) {
				stale = append(stale, k)
			}
		}
		s.deletePayloads(ctx, op, d.key, stale)
	}
	for _, a := range atts {
		if a.blob.ref != nil && a.blob.ref != a.ref {
			// A copy of another document's blob: leave that blob alone and
			// give the document a blob of its own.
			nb := &Blob{}
			nb.setStored(s, a.ref, d.key, a.field, ddoc.Revision)
			if err := d.g.SetField(a.field, nb); err != nil {
				return newError(InvalidArgument, op, d.key, fmt.Errorf("committed, but setting attachment field %q failed: %w", a.field, err))
			}
			continue
		}
		a.blob.setStored(s, a.ref, d.key, a.field, ddoc.Revision)
	}
	if err := d.setRevision(s.opts.RevisionField, ddoc.Revision); err != nil {
		return newError(InvalidArgument, op, d.key, fmt.Errorf("committed, but %w", err))
	}
	return nil
}

// afterFailedWrite is step 4 of the write protocol (see the package
// documentation): the document write failed with werr. It reports whether
// the write turned out to be committed; if not, it returns the error,
// having deleted the payloads in fresh only if that is safe.
func (s *Store) afterFailedWrite(ctx context.Context, op string, d *document, rev string, fresh []string, werr error) (committed bool, err error) {
	err = s.wrap(op, d.key, werr)
	if driver.NotApplied(s.errorCode(werr), werr) {
		s.deletePayloads(ctx, op, d.key, fresh)
		return false, err
	}
	cctx, cancel := s.cleanupContext(ctx)
	defer cancel()
	got, gerr := s.drv.GetDocument(cctx, d.key)
	switch {
	case gerr == nil && got.Revision == rev:
		return true, nil
	case gerr == nil || s.errorCode(gerr) == NotFound:
		// Not applied, so far.
		if s.info.SettledOnReturn {
			s.deletePayloads(ctx, op, d.key, fresh)
		} else if len(fresh) > 0 {
			s.reportCleanup(ctx, fmt.Errorf("%w; the write may still be applied, so its payloads %q are left to Sweep", err, fresh))
		}
	default:
		s.reportCleanup(ctx, fmt.Errorf("%w; reading the document back failed too (%v), so its payloads %q are left to Sweep", err, s.wrap(op, d.key, gerr), fresh))
	}
	return false, err
}

// collectAttachments returns the attachments of a document being written,
// in field order. It refuses an attachment-shaped map that this store
// would honour as a reference (see Store.honour): a reference enters a
// document only as a *Blob, through the write protocol. It also refuses a
// new Blob over a reader given to two fields, since its reader can be read
// only once.
func (s *Store) collectAttachments(op string, d *document) ([]*attachment, error) {
	var atts []*attachment
	for name, v := range d.fields {
		p, ok := v.(pendingBlob)
		if !ok {
			if ref, err := s.honour(d.key, name, v); err == nil && ref != nil {
				return nil, errorf(InvalidArgument, op, d.key, "field %q is an attachment map; set attachments as *docblob.Blob values (the Blob that Get returned keeps the payload)", name)
			}
			continue
		}
		if name == "" {
			return nil, errorf(InvalidArgument, op, d.key, "an attachment field has an empty name")
		}
		if err := checkContentType(p.b.opts.ContentType); err != nil {
			return nil, newError(InvalidArgument, op, d.key, fmt.Errorf("field %q: %w", name, err))
		}
		// A document has few attachments: a scan finds a Blob given to
		// two fields without the map that would cost every Put.
		if i := slices.IndexFunc(atts, func(a *attachment) bool { return a.blob == p.b }); i >= 0 && p.b.ref == nil && !p.b.isBytes {
			a, b := min(name, atts[i].field), max(name, atts[i].field)
			return nil, errorf(InvalidArgument, op, d.key, "fields %q and %q hold the same new *docblob.Blob, whose reader can be read only once: give each field its own Blob", a, b)
		}
		atts = append(atts, &attachment{field: name, blob: p.b})
	}
	slices.SortFunc(atts, func(a, b *attachment) int {
		switch {
		case a.field < b.field:
			return -1
		case a.field > b.field:
			return 1
		}
		return 0
	})
	return atts, nil
}

// freshKeys returns the keys of the payloads this call uploaded: the only
// ones it may delete when it fails. A client's direct upload is not among
// them, so that a retried commit still finds it (Sweep removes it if it is
// never committed).
func freshKeys(atts []*attachment) []string {
	var keys []string
	for _, a := range atts {
		if a.fresh {
			keys = append(keys, a.ref.Key)
		}
	}
	return keys
}

// checkKept decides, for each stored blob in the document, whether the
// write can keep referencing its payload. A payload is kept only if it
// belongs to this field of this document in this store and the write is conditioned on
// the revision it was read at, so that the write fails rather than commit
// a reference to a payload that a concurrent writer has since deleted.
// Inline payloads travel in the document and are always kept. Other stored
// blobs (from another document or store) are copied.
func (s *Store) checkKept(op string, d *document, atts []*attachment, cond *driver.Condition) error {
	for _, a := range atts {
		b := a.blob
		if b.ref == nil {
			continue
		}
		if b.ref.IsInline {
			a.ref = b.ref
			continue
		}
		if b.store != s || b.docKey != d.key || b.field != a.field || b.docRev == "" || cond.Kind == driver.MustNotExist {
			continue // copied by writePayload
		}
		switch {
		case cond.Kind == driver.Always:
			*cond = driver.Condition{Kind: driver.MustMatchRevision, Revision: b.docRev}
		case cond.Revision != b.docRev:
			return errorf(FailedPrecondition, op, d.key,
				"attachment %q was read at another revision of the document than the one being replaced; Get the document again", a.field)
		}
		a.ref = b.ref
	}
	return nil
}

// checkSize rejects a document that is too large before any payload is
// written, counting its attachments at their smallest.
func (s *Store) checkSize(op string, d *document, atts []*attachment) error {
	max := s.info.MaxDocumentBytes
	if max <= 0 {
		return nil
	}
	// Every revision is an id of idLen characters.
	n := driver.DocumentSize(&driver.Document{Key: d.key}, s.info) + idLen
	for k, v := range d.fields {
		if _, ok := v.(pendingBlob); !ok {
			n += driver.FieldSize(k, v)
		}
	}
	for _, a := range atts {
		if a.ref != nil {
			n += driver.FieldSize(a.field, a.ref.Encode())
		} else {
			n += driver.FieldSize(a.field, smallestAttachment())
		}
	}
	if n > max {
		return errorf(TooLarge, op, d.key, "document is at least %d bytes, over the backend's limit of %d", n, max)
	}
	return nil
}

// smallestAttachment returns the smallest encoding of a stored attachment,
// which checkSize counts for a payload not yet stored. It must not be
// modified. Made on first use, not at program start: a process that never
// puts (a cold start serving one Get) does not pay for it.
var smallestAttachment = sync.OnceValue(func() map[string]any {
	return (&attach.Ref{Key: "x", Checksum: driver.Checksum{Algorithm: driver.CRC32C, Sum: make([]byte, 4)}}).Encode()
})

// errStale is returned when a blob's reader was consumed by an earlier Put.
var errStale = errors.New("the blob's reader was consumed by an earlier Put and cannot be rewound (it is not an io.Seeker); make a new Blob")

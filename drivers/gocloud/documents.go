package gocloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
)

// keyDoc returns the docstore document that holds only key.
func (d *Driver) keyDoc(key driver.Key) map[string]any {
	m := map[string]any{d.pk: key.Partition}
	if d.sk != "" {
		m[d.sk] = key.Sort
	}
	return m
}

// encodeDoc returns the docstore document that stores doc, whose fields
// are canonical, with cas as its compare-and-swap field (nil for a
// Create).
func (d *Driver) encodeDoc(doc *driver.Document, fields map[string]any, cas any) map[string]any {
	m := d.keyDoc(doc.Key)
	for k, v := range fields {
		m[k] = encodeValue(v)
	}
	if doc.Revision != "" {
		m[driver.DefaultRevisionKey] = doc.Revision
	}
	m[d.cas] = cas
	return m
}

// decodeDoc returns the document that the docstore document m stores, and
// its compare-and-swap token.
func (d *Driver) decodeDoc(m map[string]any) (*driver.Document, any, error) {
	doc := &driver.Document{Fields: make(map[string]any, len(m))}
	var cas any
	for k, v := range m {
		switch k {
		case d.pk:
			doc.Key.Partition, _ = v.(string)
		case d.sk:
			doc.Key.Sort, _ = v.(string)
		case driver.DefaultRevisionKey:
			doc.Revision, _ = v.(string)
		case d.cas:
			cas = v
		default:
			dv, err := decodeValue(v)
			if err != nil {
				return nil, nil, err
			}
			doc.Fields[k] = dv
		}
	}
	doc.Fields = driver.CanonicalFields(doc.Fields)
	return doc, cas, nil
}

// read returns the document with the key and its compare-and-swap token,
// or errNotFound.
func (d *Driver) read(ctx context.Context, key driver.Key) (*driver.Document, any, error) {
	m := d.keyDoc(key)
	ctx, n := withAttempts(ctx)
	if err := d.coll.Get(ctx, m); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			if err := d.checkNotFound(ctx, key, n); err != nil {
				return nil, nil, err
			}
			return nil, nil, errNotFound
		}
		return nil, nil, err
	}
	return d.decodeDoc(m)
}

// GetDocument implements driver.Driver. It is one Get of the collection.
func (d *Driver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	doc, _, err := d.read(ctx, key)
	return doc, err
}

// GetDocuments implements driver.Driver, with one Get per key.
func (d *Driver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

// checkDoc refuses doc before anything is written, as DynamoDB would.
func (d *Driver) checkDoc(doc *driver.Document) error {
	if err := driver.CheckDynamoDBValues(doc.Fields); err != nil {
		return err
	}
	if _, ok := doc.Fields[d.cas]; ok {
		return invalidf("gocloud: field %q is the collection's compare-and-swap field", d.cas)
	}
	if max := d.info.MaxDocumentBytes; max > 0 && driver.DocumentSize(doc, d.info) > max {
		return errTooLarge
	}
	return nil
}

// isCode reports whether err, an error of the collection, has one of the
// codes.
func isCode(err error, codes ...gcerrors.ErrorCode) bool {
	return err != nil && slices.Contains(codes, gcerrors.Code(err))
}

// PutDocument implements driver.Driver. MustNotExist is one Create. Always
// and MustMatchRevision read the document, check the condition on what
// they read, then Create (nothing read) or Replace conditioned on the
// compare-and-swap token read, so that the write applies only to the
// version read, which is the version returned; a write that loses a race
// reads again (Always) or fails (MustMatchRevision). Writes of one
// document through d take turns (see turns), so only writers elsewhere
// can make them lose.
func (d *Driver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if err := d.checkDoc(doc); err != nil {
		return nil, err
	}
	fields := driver.CanonicalFields(doc.Fields)
	release, err := d.turns.take(ctx, doc.Key)
	if err != nil {
		return nil, notApplied(fmt.Errorf("gocloud: waiting for the document's turn: %w", err))
	}
	defer release()
	if cond.Kind == driver.MustNotExist {
		err := d.create(ctx, doc, fields)
		if isCode(err, gcerrors.AlreadyExists) {
			return d.settle(ctx, doc, nil, err, errExists)
		}
		return nil, err
	}
	for round := range d.rounds {
		if err := backoff(ctx, round); err != nil {
			return nil, busy(ctx, round, err, errBusy)
		}
		cur, cas, err := d.read(ctx, doc.Key)
		if err != nil && err != errNotFound {
			// Every write sent before this read failed definitely.
			return nil, notApplied(busy(ctx, round, err, errBusy))
		}
		if cond.Kind == driver.MustMatchRevision && (cur == nil || cur.Revision != cond.Revision) {
			return nil, errRevision
		}
		if cur == nil {
			err = d.create(ctx, doc, fields)
			if !isCode(err, gcerrors.AlreadyExists) {
				return nil, err
			}
		} else {
			err = d.replace(ctx, doc, fields, cas)
			if err == nil {
				return cur, nil
			}
			if !isCode(err, gcerrors.FailedPrecondition, gcerrors.NotFound) {
				return nil, err
			}
		}
		// Another writer changed the document since it was read, or the
		// client re-sent this write after its first attempt applied.
		if prev, err := d.settle(ctx, doc, cur, err, errLostRace); err != errLostRace {
			return prev, err
		}
		if cond.Kind == driver.MustMatchRevision {
			return nil, errRevision
		}
	}
	return nil, errBusy
}

// backoff waits before round (none before the first), a random time
// that grows with round up to 50 ms, so that writers that keep losing
// races to each other spread out.
func backoff(ctx context.Context, round int) error {
	if round == 0 {
		return nil
	}
	limit := min(time.Millisecond<<min(round, 6), 50*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// busy returns err, the error that ended round, or lost if the context
// ended after the call lost a race: lost says what the writes it sent
// did (errBusy: each failed definitely, so nothing was written), which
// the context error would not say.
func busy(ctx context.Context, round int, err, lost error) error {
	if round > 0 && ctx.Err() != nil {
		return lost
	}
	return err
}

// notApplied marks err, the failure of a write none of whose requests
// was applied, with driver.ErrNotApplied.
func notApplied(err error) error {
	if errors.Is(err, driver.ErrNotApplied) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, driver.ErrNotApplied)
}

// create writes doc with a Create.
func (d *Driver) create(ctx context.Context, doc *driver.Document, fields map[string]any) error {
	m := d.encodeDoc(doc, fields, nil)
	ctx, n := withAttempts(ctx)
	err := d.coll.Create(ctx, m)
	n.done(err)
	if err == nil {
		return d.checkCAS(m, doc.Revision)
	}
	return withAttemptsErr(err, n)
}

// replace writes doc with a Replace conditioned on cas.
func (d *Driver) replace(ctx context.Context, doc *driver.Document, fields map[string]any, cas any) error {
	m := d.encodeDoc(doc, fields, cas)
	ctx, n := withAttempts(ctx)
	err := d.coll.Replace(ctx, m)
	n.done(err)
	if err == nil {
		return nil
	}
	return withAttemptsErr(err, n)
}

// checkCAS checks, after the first Create, that the collection keeps the
// compare-and-swap field (it set m's) and left docblob's revision alone:
// a collection opened with another revision field would make every
// conditional write unconditional.
func (d *Driver) checkCAS(m map[string]any, rev string) error {
	if d.checked.Load() {
		return nil
	}
	got, _ := m[driver.DefaultRevisionKey].(string)
	if m[d.cas] == nil || got != rev {
		return &driver.Error{Code: driver.Unknown, Err: errors.New("gocloud: the collection does not keep its revision in the field " + d.cas + " (open it with that RevisionField); the document was written without protection")}
	}
	d.checked.Store(true)
	return nil
}

// settle decides what a failed condition of a write of doc means. A
// collection that never re-sends writes (RetriesNone), or sent this one
// once (RetriesCounted), failed it definitely: settle returns (nil,
// definite). Otherwise the condition may have failed on the client's own
// earlier attempt, applied with its response lost: settle reads the
// document, and if it holds doc's revision the write was applied over the
// version the attempt was conditioned on, prev (nil for a Create), which
// it returns with a nil error; else the outcome is Unknown.
func (d *Driver) settle(ctx context.Context, doc *driver.Document, prev *driver.Document, err, definite error) (*driver.Document, error) {
	if !mayHaveRetried(d.retries, err) {
		return nil, definite
	}
	cur, _, rerr := d.read(ctx, doc.Key)
	switch {
	case rerr == nil && doc.Revision != "" && cur.Revision == doc.Revision:
		return prev, nil
	case rerr != nil && rerr != errNotFound:
		return nil, rerr
	}
	return nil, &driver.Error{Code: driver.Unknown, Err: errors.Join(errors.New("gocloud: a condition failed after the client may have sent the write more than once; the write may have been applied and since replaced"), err)}
}

// DeleteDocument implements driver.Driver: it reads the document, checks
// the condition on what it read, and deletes exactly the version read
// (see deleteExact), which it returns. It takes the document's turn like
// PutDocument.
func (d *Driver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	release, err := d.turns.take(ctx, key)
	if err != nil {
		return nil, notApplied(fmt.Errorf("gocloud: waiting for the document's turn: %w", err))
	}
	defer release()
	lost := errBusy // what the deletes sent did, if every round loses
	for round := range d.rounds {
		if err := backoff(ctx, round); err != nil {
			return nil, busy(ctx, round, err, lost)
		}
		cur, cas, err := d.read(ctx, key)
		if err != nil && err != errNotFound {
			return nil, busy(ctx, round, err, lost)
		}
		switch {
		case err == errNotFound:
			if cond.Kind == driver.MustMatchRevision {
				return nil, errRevision
			}
			return nil, nil
		case err != nil:
			return nil, err
		}
		switch cond.Kind {
		case driver.MustNotExist:
			return nil, errExists
		case driver.MustMatchRevision:
			if cur.Revision != cond.Revision {
				return nil, errRevision
			}
		}
		err = d.deleteExact(ctx, key, cas)
		if err == nil {
			return cur, nil
		}
		if !isCode(err, gcerrors.FailedPrecondition, gcerrors.NotFound) {
			return nil, err
		}
		// Lost a race. An unconditional delete needs no settling: if an
		// earlier attempt of the client was applied, reading again finds
		// the document gone (its payloads are left to the sweeper), or
		// another writer's newer version, which the next round deletes,
		// as if this delete came after that write. A conditional one
		// whose condition failed on the client's own applied attempt
		// was applied: that may be so if the client sent it twice.
		if mayHaveRetried(d.retries, err) {
			if cond.Kind == driver.MustMatchRevision {
				return nil, &driver.Error{Code: driver.Unknown, Err: errors.Join(errors.New("gocloud: a delete's condition failed after the client may have sent it more than once; it may have been applied"), err)}
			}
			lost = errBusyMaybeApplied
		}
		if cond.Kind == driver.MustMatchRevision {
			return nil, errRevision
		}
	}
	return nil, lost
}

// deleteExact deletes the version of the document whose compare-and-swap
// token is cas. On DynamoDB that is one conditional Delete. Other
// backends may let a Delete with a stale revision of a missing document
// succeed (memdocstore and mongodocstore do), which would report a
// version deleted by another writer as deleted here: there an Update
// that changes nothing, conditioned on cas, first proves the version is
// still there (and gives a new token), then the Delete is conditioned on
// that token.
func (d *Driver) deleteExact(ctx context.Context, key driver.Key, cas any) error {
	m := d.keyDoc(key)
	m[d.cas] = cas
	if d.guardDel {
		ctx, n := withAttempts(ctx)
		err := d.coll.Update(ctx, m, docstore.Mods{guardField: nil})
		n.done(err)
		if err != nil {
			return withAttemptsErr(err, n)
		}
	}
	ctx, n := withAttempts(ctx)
	err := d.coll.Delete(ctx, m)
	n.done(err)
	return withAttemptsErr(err, n)
}

// guardField is the field that the Update of deleteExact removes: no
// document has it.
const guardField = "~docblob-delete-guard"

// defaultPageSize is the page size when a query sets no limit.
const defaultPageSize = 1000

// cursor is the page token of a query: the key of the last document of
// the previous page.
type cursor struct {
	P string `json:"p,omitempty"`
	S string `json:"s,omitempty"`
}

func encodeCursor(k driver.Key) string {
	raw, _ := json.Marshal(cursor{P: k.Partition, S: k.Sort})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(tok string) (*cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	var c cursor
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return nil, errToken
	}
	return &c, nil
}

// bound is one end of a range of sort keys.
type bound struct {
	set, incl bool
	v         string
}

// QueryDocuments implements driver.Driver. A partition query is one
// docstore query with an equality on the partition key and one bound on
// the sort key, ordered by sort key; the driver applies the rest of the
// condition, and pages by key (gocloud has no cursor): a page token is
// the last key returned. See scan for queries of every partition.
func (d *Driver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if err := q.CheckSegments(); err != nil {
		return nil, err
	}
	var after *cursor
	if q.PageToken != "" {
		c, err := decodeCursor(q.PageToken)
		if err != nil {
			return nil, err
		}
		after = c
	} else if q.StartAfter != "" && q.Partition != "" {
		after = &cursor{S: q.StartAfter}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	if q.Partition == "" {
		return d.scan(ctx, q, after, limit)
	}
	page := &driver.QueryPage{}
	if d.sk == "" {
		// One document at most.
		if after != nil {
			return page, nil
		}
		doc, _, err := d.read(ctx, driver.Key{Partition: q.Partition})
		if err == errNotFound {
			return page, nil
		}
		if err != nil {
			return nil, err
		}
		page.Documents = append(page.Documents, doc)
		return page, nil
	}
	lo, hi := sortBounds(q)
	if after != nil {
		if q.Descending {
			if !hi.set || after.S <= hi.v {
				hi = bound{set: true, v: after.S}
			}
		} else if !lo.set || after.S >= lo.v {
			lo = bound{set: true, v: after.S}
		}
	}
	if hi.set && (hi.v < lo.v || hi.v == lo.v && !(hi.incl && lo.incl)) || hi.set && hi.v == "" && !hi.incl {
		return page, nil // an empty range
	}
	// Send one bound: the one the results start from, if there is one.
	first, op := lo, ">"
	if q.Descending && hi.set || !lo.set {
		first, op = hi, "<"
	}
	if first.incl {
		op += "="
	}
	query := d.coll.Query().Where(docstore.FieldPath(d.pk), "=", q.Partition)
	if first.set && first.v != "" {
		query = query.Where(docstore.FieldPath(d.sk), op, first.v)
	} else {
		// OrderBy needs a Where on its field: every sort key is at least
		// "\x00".
		query = query.Where(docstore.FieldPath(d.sk), ">=", "\x00")
	}
	dir := docstore.Ascending
	if q.Descending {
		dir = docstore.Descending
	}
	query = query.OrderBy(d.sk, dir)
	query = d.beforeQuery(query, limit, nil)
	it := query.Get(ctx)
	defer it.Stop()
	for len(page.Documents) < limit {
		doc, err := d.nextDocument(ctx, it)
		if err == io.EOF {
			return page, nil
		}
		if err != nil {
			return nil, err
		}
		s := doc.Key.Sort
		if q.Descending && lo.set && (s < lo.v || s == lo.v && !lo.incl) ||
			!q.Descending && hi.set && (s > hi.v || s == hi.v && !hi.incl) {
			return page, nil // past the far end
		}
		if !q.SelectsSort(s) || after != nil && (q.Descending && s >= after.S || !q.Descending && s <= after.S) {
			continue
		}
		page.Documents = append(page.Documents, doc)
	}
	page.NextPageToken = encodeCursor(page.Documents[limit-1].Key)
	return page, nil
}

// sortBounds returns the range of sort keys that q's condition selects,
// at least (a prefix's upper bound is the prefix's successor, an
// exclusive bound past every key with the prefix).
func sortBounds(q *driver.Query) (lo, hi bound) {
	v := q.Value
	switch q.Sort {
	case driver.SortEqual:
		return bound{true, true, v}, bound{true, true, v}
	case driver.SortPrefix:
		lo = bound{true, true, v}
		if next, ok := successor(v); ok {
			hi = bound{true, false, next}
		}
		return lo, hi
	case driver.SortBetween:
		return bound{true, true, v}, bound{true, true, q.Value2}
	case driver.SortLess:
		return bound{}, bound{true, false, v}
	case driver.SortLessOrEqual:
		return bound{}, bound{true, true, v}
	case driver.SortGreater:
		return bound{true, false, v}, bound{}
	case driver.SortGreaterOrEqual:
		return bound{true, true, v}, bound{}
	}
	return bound{}, bound{}
}

// successor returns the least valid UTF-8 string greater than every
// string that begins with prefix, if there is one: prefix with its last
// rune that is not the greatest replaced by the next rune.
func successor(prefix string) (string, bool) {
	for prefix != "" {
		r, n := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-n]
		if r == utf8.RuneError && n <= 1 || r == utf8.MaxRune {
			if r == utf8.RuneError {
				return "", false // not UTF-8: no bound
			}
			continue
		}
		r++
		if r == 0xD800 {
			r = 0xE000 // skip the surrogates
		}
		return prefix + string(r), true
	}
	return "", false
}

// scan returns one page of a query of every partition. DynamoDB's is a
// Scan resumed after the last key (see dynamoScan). Other backends are
// queried in partition key order (docstore's OrderBy), the documents of
// each partition sorted by sort key in the driver, so that a page resumes
// after the last key; a segment is the partitions that
// driver.ScanSegment assigns it, filtered in the driver.
func (d *Driver) scan(ctx context.Context, q *driver.Query, after *cursor, limit int) (*driver.QueryPage, error) {
	if d.dynamo != nil {
		return d.dynamoScan(ctx, q, after, limit)
	}
	page := &driver.QueryPage{}
	query := d.coll.Query()
	if after != nil && after.P != "" {
		query = query.Where(docstore.FieldPath(d.pk), ">=", after.P)
	} else {
		query = query.Where(docstore.FieldPath(d.pk), ">=", "\x00")
	}
	query = query.OrderBy(d.pk, docstore.Ascending)
	it := query.Get(ctx)
	defer it.Stop()
	var group []*driver.Document // the documents of one partition
	flush := func() bool {
		slices.SortFunc(group, func(a, b *driver.Document) int { return strings.Compare(a.Key.Sort, b.Key.Sort) })
		for _, doc := range group {
			if after != nil && doc.Key.Partition == after.P && doc.Key.Sort <= after.S {
				continue
			}
			page.Documents = append(page.Documents, doc)
			if len(page.Documents) == limit {
				page.NextPageToken = encodeCursor(doc.Key)
				return true
			}
		}
		group = group[:0]
		return false
	}
	for {
		doc, err := d.nextDocument(ctx, it)
		if err == io.EOF {
			flush()
			return page, nil
		}
		if err != nil {
			return nil, err
		}
		if !q.InSegment(doc.Key.Partition) {
			continue
		}
		if len(group) > 0 && group[0].Key.Partition != doc.Key.Partition && flush() {
			return page, nil
		}
		group = append(group, doc)
	}
}

// nextDocument decodes the query's next document; io.EOF ends the query.
func (d *Driver) nextDocument(ctx context.Context, it *docstore.DocumentIterator) (*driver.Document, error) {
	m := map[string]any{}
	if err := it.Next(ctx, m); err != nil {
		return nil, err
	}
	doc, _, err := d.decodeDoc(m)
	return doc, err
}

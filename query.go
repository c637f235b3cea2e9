package docblob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/docblob/docblob/driver"
)

// SortCondition restricts the sort key in a Query. The zero value selects
// every document of the partition. Sort keys compare as byte strings (as
// DynamoDB compares strings).
type SortCondition struct {
	op   driver.SortOp
	a, b string
}

// SortEqual selects the document whose sort key is v.
func SortEqual(v string) SortCondition { return SortCondition{op: driver.SortEqual, a: v} }

// SortPrefix selects the documents whose sort key starts with prefix.
func SortPrefix(prefix string) SortCondition {
	return SortCondition{op: driver.SortPrefix, a: prefix}
}

// SortBetween selects the documents whose sort key is in [lo, hi], both
// ends included.
func SortBetween(lo, hi string) SortCondition {
	return SortCondition{op: driver.SortBetween, a: lo, b: hi}
}

// SortLess selects the documents whose sort key is less than v.
func SortLess(v string) SortCondition { return SortCondition{op: driver.SortLess, a: v} }

// SortLessOrEqual selects the documents whose sort key is at most v.
func SortLessOrEqual(v string) SortCondition {
	return SortCondition{op: driver.SortLessOrEqual, a: v}
}

// SortGreater selects the documents whose sort key is greater than v.
func SortGreater(v string) SortCondition { return SortCondition{op: driver.SortGreater, a: v} }

// SortGreaterOrEqual selects the documents whose sort key is at least v.
func SortGreaterOrEqual(v string) SortCondition {
	return SortCondition{op: driver.SortGreaterOrEqual, a: v}
}

// Query selects documents of one partition.
type Query struct {
	// Partition is the partition key value. Required.
	Partition string
	// Sort restricts the sort key; the zero value selects all.
	Sort SortCondition
	// Descending returns documents by descending sort key (default
	// ascending).
	Descending bool
	// Limit is the most documents the iterator returns; 0 means no limit.
	// With PageToken it makes pages: read up to Limit documents, then pass
	// Iterator.PageToken to the next query.
	Limit int
	// PageToken resumes after the last document returned by an earlier
	// iterator of the same query (see Iterator.PageToken).
	PageToken string
}

// Iterator iterates over the results of a query. It is not safe for
// concurrent use.
type Iterator struct {
	s     *Store
	ctx   context.Context
	q     driver.Query
	key   Key // the partition, for errors
	limit int // documents still to return; -1 for no limit
	buf   []*driver.Document
	after string // sort key of the last document returned, or of the token resumed
	next  string // driver token of the following page
	more  bool   // a following page may exist
	err   error
}

// pageToken is the portable page token: the sort key of the last document
// returned, and a fingerprint of the query, so that a token is never used
// with another query. It names a position by key, so resuming is exact
// under concurrent inserts and deletes.
type pageToken struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// queryFingerprint identifies a query for its page tokens.
func queryFingerprint(q *driver.Query) string {
	h := sha256.New()
	for _, part := range []string{q.Partition, strconv.Itoa(int(q.Sort)), q.Value, q.Value2, strconv.FormatBool(q.Descending)} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// Query returns an iterator over the documents that q selects. It reads
// lazily, a page at a time; payloads are never downloaded.
func (s *Store) Query(ctx context.Context, q *Query) *Iterator {
	it := &Iterator{s: s, ctx: ctx, limit: -1, more: true}
	it.err = it.init(q)
	return it
}

func (it *Iterator) init(q *Query) error {
	const op = "query"
	s := it.s
	if err := s.checkOpen(op); err != nil {
		return err
	}
	if q == nil {
		return errorf(InvalidArgument, op, noKey, "nil query")
	}
	it.key = Key{Partition: q.Partition}
	if err := validateKeyPart(s.info.PartitionKey, q.Partition, s.info.MaxPartitionKeyBytes); err != nil {
		return newError(InvalidArgument, op, Key{Partition: q.Partition}, err)
	}
	if q.Limit < 0 {
		return errorf(InvalidArgument, op, Key{Partition: q.Partition}, "negative Limit")
	}
	if q.Limit > 0 {
		it.limit = q.Limit
	}
	if q.Sort.op != driver.SortAny && s.info.SortKey == "" {
		return errorf(InvalidArgument, op, Key{Partition: q.Partition}, "sort-key condition on a store without sort keys")
	}
	it.q = driver.Query{Partition: q.Partition, Sort: q.Sort.op, Value: q.Sort.a, Value2: q.Sort.b,
		Descending: q.Descending}
	if q.PageToken != "" {
		var t pageToken
		raw, err := base64.RawURLEncoding.DecodeString(q.PageToken)
		if err == nil {
			err = json.Unmarshal(raw, &t)
		}
		switch {
		case err != nil || t.After == "":
			return errorf(InvalidArgument, op, Key{Partition: q.Partition}, "malformed page token")
		case t.Query != queryFingerprint(&it.q):
			return errorf(InvalidArgument, op, Key{Partition: q.Partition}, "the page token belongs to another query")
		}
		it.after = t.After
	}
	return nil
}

// Next decodes the next document into doc (a pointer to a struct, or a
// map[string]any). It returns io.EOF when there are no more.
func (it *Iterator) Next(doc any) error {
	for len(it.buf) == 0 {
		if it.err != nil {
			return it.err
		}
		if it.limit == 0 || !it.more {
			return io.EOF
		}
		if err := it.fetch(); err != nil {
			it.err = err
			return err
		}
	}
	d, err := it.s.newDocument("query", doc)
	if err != nil {
		return err
	}
	got := it.buf[0]
	it.buf = it.buf[1:]
	it.after = got.Key.Sort
	if it.limit > 0 {
		it.limit--
	}
	if err := it.s.decodeInto(d, got); err != nil {
		return newError(InvalidArgument, "query", got.Key, err)
	}
	return nil
}

func (it *Iterator) fetch() (err error) {
	if err := it.ctx.Err(); err != nil {
		return err
	}
	ctx, sp := it.s.startSpan(it.ctx, "Query")
	defer func() { sp.end(err) }()
	exit, err := it.s.enter("query")
	if err != nil {
		return err
	}
	defer exit()
	q := it.q
	q.PageToken = it.next
	if q.PageToken == "" {
		q.StartAfter = it.after // resuming from a page token
	}
	if it.limit > 0 {
		q.Limit = it.limit
	}
	page, err := it.s.drv.QueryDocuments(ctx, &q)
	if err != nil {
		return it.s.wrap("query", it.key, err)
	}
	it.next, it.buf = page.NextPageToken, page.Documents
	it.more = page.NextPageToken != ""
	return nil
}

// PageToken returns a token that resumes the query after the last document
// Next returned (or where the query it resumed began), or "" if no
// documents follow it. The token names that document's key, not an offset,
// so resuming is exact even if documents were inserted or deleted in
// between; it is valid only for the same query (Partition, Sort and
// Descending), and refused with code InvalidArgument for another.
func (it *Iterator) PageToken() string {
	if it.after == "" || (len(it.buf) == 0 && (!it.more || it.err != nil)) {
		return ""
	}
	raw, _ := json.Marshal(pageToken{After: it.after, Query: queryFingerprint(&it.q)})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// All returns the documents that q selects as a sequence of *T (T is a
// struct type or map[string]any), for use with range. Iteration stops at
// the first error, which is yielded with a nil document. To page (a "next"
// link), use Page, or Query's Iterator and its PageToken.
func All[T any](ctx context.Context, s *Store, q *Query) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		it := s.Query(ctx, q)
		for {
			doc, err := nextOf[T](it)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(doc, nil) {
				return
			}
		}
	}
}

// DefaultPageSize is the number of documents Page returns when q.Limit is
// zero.
const DefaultPageSize = 100

// Page returns one page of the documents that q selects, as *T (a struct
// type or map[string]any): at most q.Limit of them (DefaultPageSize if
// zero), and the token of the next page, "" when there is none. Give that
// token as q.PageToken, with the same query otherwise, to get the next
// page; it may turn out empty. A web handler serves one page per request
// with it:
//
//	invs, next, err := docblob.Page[Invoice](ctx, store, &docblob.Query{
//		Partition: customer, Descending: true, Limit: 20, PageToken: r.FormValue("page")})
func Page[T any](ctx context.Context, s *Store, q *Query) ([]*T, string, error) {
	if q == nil {
		return nil, "", errorf(InvalidArgument, "query", noKey, "nil query")
	}
	pq := *q
	if pq.Limit == 0 {
		pq.Limit = DefaultPageSize
	}
	it := s.Query(ctx, &pq)
	var docs []*T
	for {
		doc, err := nextOf[T](it)
		if err == io.EOF {
			return docs, it.PageToken(), nil
		}
		if err != nil {
			return nil, "", err
		}
		docs = append(docs, doc)
	}
}

// nextOf returns the iterator's next document as a new *T.
func nextOf[T any](it *Iterator) (*T, error) {
	doc := new(T)
	var dst any = doc
	if m, ok := any(doc).(*map[string]any); ok {
		*m = map[string]any{}
		dst = *m
	}
	if err := it.Next(dst); err != nil {
		return nil, err
	}
	return doc, nil
}

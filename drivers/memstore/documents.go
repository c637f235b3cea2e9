package memstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/docblob/docblob/driver"
)

// partition holds the documents of one partition, by sort key, with the
// sort keys kept sorted for queries.
type partition struct {
	sorted []string
	docs   map[string]*driver.Document
}

// GetDocument implements driver.Driver.
func (d *Driver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.RLock()
	defer d.st.mu.RUnlock()
	if p := d.coll.parts[key.Partition]; p != nil {
		if doc := p.docs[key.Sort]; doc != nil {
			return doc.Clone(), nil
		}
	}
	return nil, errNotFound
}

// PutDocument implements driver.Driver.
func (d *Driver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if err := driver.CheckDynamoDBValues(doc.Fields); err != nil {
		return nil, err
	}
	if max := d.info.MaxDocumentBytes; max > 0 && driver.DocumentSize(doc, d.info) > max {
		return nil, errTooLarge
	}
	stored := doc.Clone()
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	p := d.coll.parts[doc.Key.Partition]
	var prev *driver.Document
	if p != nil {
		prev = p.docs[doc.Key.Sort]
	}
	if err := checkCondition(prev, cond); err != nil {
		return nil, err
	}
	if p == nil {
		p = &partition{docs: map[string]*driver.Document{}}
		d.coll.parts[doc.Key.Partition] = p
	}
	if prev == nil {
		i, _ := slices.BinarySearch(p.sorted, doc.Key.Sort)
		p.sorted = slices.Insert(p.sorted, i, doc.Key.Sort)
	}
	p.docs[doc.Key.Sort] = stored
	// prev is no longer reachable from the storage, so the caller may have it.
	return prev, nil
}

// DeleteDocument implements driver.Driver.
func (d *Driver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	p := d.coll.parts[key.Partition]
	var prev *driver.Document
	if p != nil {
		prev = p.docs[key.Sort]
	}
	if err := checkCondition(prev, cond); err != nil {
		return nil, err
	}
	if prev == nil {
		return nil, nil
	}
	delete(p.docs, key.Sort)
	i, _ := slices.BinarySearch(p.sorted, key.Sort)
	p.sorted = slices.Delete(p.sorted, i, i+1)
	if len(p.docs) == 0 {
		delete(d.coll.parts, key.Partition)
	}
	return prev, nil
}

func checkCondition(prev *driver.Document, cond driver.Condition) error {
	switch cond.Kind {
	case driver.MustNotExist:
		if prev != nil {
			return errExists
		}
	case driver.MustMatchRevision:
		if prev == nil || prev.Revision != cond.Revision {
			return errRevision
		}
	}
	return nil
}

// defaultPageSize is the page size when a query sets no limit.
const defaultPageSize = 1000

// A page that stops at the query's Limit has a NextPageToken even when no
// document follows, as DynamoDB returns a LastEvaluatedKey whenever a
// Query or Scan stops at its Limit: the caller then meets the empty last
// page that it meets on s3dynamo. A page that stops at defaultPageSize
// (no Limit, where DynamoDB stops at 1 MB of data instead) has one only
// when documents follow.

// cursor is the page token of a query: the key of the last document of the
// previous page.
type cursor struct {
	P string `json:"p,omitempty"` // partition, for scans
	S string `json:"s"`
}

// QueryDocuments implements driver.Driver.
func (d *Driver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if err := q.CheckSegments(); err != nil {
		return nil, err
	}
	var after *cursor
	switch {
	case q.PageToken != "":
		after = &cursor{}
		raw, err := base64.RawURLEncoding.DecodeString(q.PageToken)
		if err != nil || json.Unmarshal(raw, after) != nil {
			return nil, errInvalidCursor
		}
	case q.StartAfter != "" && q.Partition != "" && d.info.SortKey != "":
		// A position by key is what a cursor is.
		after = &cursor{S: q.StartAfter}
	}
	limit, cutAtLimit := q.Limit, true
	if limit <= 0 {
		limit, cutAtLimit = defaultPageSize, false
	}
	d.st.mu.RLock()
	defer d.st.mu.RUnlock()
	if q.Partition == "" {
		return d.scan(q, after, limit, cutAtLimit), nil
	}
	page := &driver.QueryPage{}
	p := d.coll.parts[q.Partition]
	if p == nil {
		return page, nil
	}
	lo, hi := sortRange(p.sorted, q)
	step, i, end := 1, lo, hi
	if q.Descending {
		step, i, end = -1, hi-1, lo-1
	}
	if after != nil {
		j, found := slices.BinarySearch(p.sorted, after.S)
		if q.Descending {
			i = min(i, j-1)
		} else {
			if found {
				j++
			}
			i = max(i, j)
		}
	}
	inRange := func(i int) bool { return step > 0 && i < end || step < 0 && i > end }
	for ; inRange(i) && len(page.Documents) < limit; i += step {
		page.Documents = append(page.Documents, p.docs[p.sorted[i]].Clone())
	}
	if len(page.Documents) == limit && (cutAtLimit || inRange(i)) {
		page.NextPageToken = encodeCursor(cursor{S: page.Documents[limit-1].Key.Sort})
	}
	return page, nil
}

// sortRange returns the index range [lo, hi) of sorted that q selects.
func sortRange(sorted []string, q *driver.Query) (lo, hi int) {
	search := func(v string) int { i, _ := slices.BinarySearch(sorted, v); return i }
	after := func(v string) int {
		i, found := slices.BinarySearch(sorted, v)
		if found {
			i++
		}
		return i
	}
	lo, hi = 0, len(sorted)
	switch q.Sort {
	case driver.SortEqual:
		lo, hi = search(q.Value), after(q.Value)
	case driver.SortPrefix:
		lo = search(q.Value)
		hi = lo
		for hi < len(sorted) && strings.HasPrefix(sorted[hi], q.Value) {
			hi++
		}
	case driver.SortBetween:
		lo, hi = search(q.Value), after(q.Value2)
	case driver.SortLess:
		hi = search(q.Value)
	case driver.SortLessOrEqual:
		hi = after(q.Value)
	case driver.SortGreater:
		lo = after(q.Value)
	case driver.SortGreaterOrEqual:
		lo = search(q.Value)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// scan returns a page of every document of q's scan segment (partitions
// assigned by driver.ScanSegment), by partition then sort key. The page
// has a NextPageToken if documents follow it, or if it holds limit
// documents and cutAtLimit is set.
func (d *Driver) scan(q *driver.Query, after *cursor, limit int, cutAtLimit bool) *driver.QueryPage {
	names := make([]string, 0, len(d.coll.parts))
	for name := range d.coll.parts {
		if (after == nil || name >= after.P) && q.InSegment(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	page := &driver.QueryPage{}
	for _, name := range names {
		p := d.coll.parts[name]
		i := 0
		if after != nil && name == after.P {
			var found bool
			i, found = slices.BinarySearch(p.sorted, after.S)
			if found {
				i++
			}
		}
		for ; i < len(p.sorted); i++ {
			if len(page.Documents) == limit {
				return withCursor(page)
			}
			page.Documents = append(page.Documents, p.docs[p.sorted[i]].Clone())
		}
	}
	if cutAtLimit && len(page.Documents) == limit {
		return withCursor(page)
	}
	return page
}

// withCursor sets a scan page's NextPageToken to resume after its last
// document.
func withCursor(page *driver.QueryPage) *driver.QueryPage {
	last := page.Documents[len(page.Documents)-1].Key
	page.NextPageToken = encodeCursor(cursor{P: last.Partition, S: last.Sort})
	return page
}

func encodeCursor(c cursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

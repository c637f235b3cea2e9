package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
)

// TestDriver checks the primitives of drv directly, as testing/fstest's
// TestFS checks a file system: every method of driver.Driver, against the
// contract that package driver documents. Documents: GetDocument,
// PutDocument and DeleteDocument under each condition, the documents they
// return, values given and read back, the size limit, and concurrent
// conditional writes; QueryDocuments under each sort condition, in both
// orders, page by page and with StartAfter, and scans, whole and in
// parallel segments (Query.Segment and TotalSegments). Payloads:
// WriteBlob (streamed, failing, cancelled), OpenBlob of ranges, StatBlob,
// ListBlobs by prefix and page, DeleteBlob. Errors: the codes of missing
// documents and payloads, failed conditions and refused writes, as the
// portable layer classifies them (driver.Classify); SignedURL, As and
// ErrorAs as Info says.
//
// It returns nil if drv behaves as documented, and otherwise an error
// that lists every deviation it found, one a line, each naming the
// method, its input and what was expected, such as
//
//	PutDocument(("conformance-1f2e3d4c", "cond"), MustNotExist) of an existing document: succeeded, want an error with code already exists
//
// so that a driver bug is reported as one, rather than as a symptom of the
// docblob.Store above it. The error unwraps to one error per line
// (interface{ Unwrap() []error }). Run calls TestDriver as its Driver
// group; a driver author can call it alone, from any test:
//
//	if err := conformance.TestDriver(ctx, drv); err != nil {
//		t.Fatal(err)
//	}
//
// drv must be open; other code may use its storage at the same time.
// TestDriver writes documents only in partitions whose names begin with
// "conformance-" and a random id, and payloads only under keys that begin
// with "conformance-", the id and "/", and removes what it wrote before it
// returns. It does not close drv. It takes a few seconds against a server;
// ctx bounds it.
func TestDriver(ctx context.Context, drv driver.Driver) error {
	id := make([]byte, 4)
	rand.Read(id)
	c := &driverTest{ctx: ctx, d: drv, info: drv.Info(), id: "conformance-" + hex.EncodeToString(id), keys: map[driver.Key]bool{}}
	c.checkInfo()
	c.checkDocuments()
	c.checkConditions()
	c.checkTooLarge()
	c.checkConcurrentWrites()
	c.checkQueries()
	c.checkPayloads()
	c.checkListing()
	c.checkFailedWrites()
	c.checkBatches()
	c.checkEscapeHatches()
	c.cleanup()
	return errors.Join(c.errs...)
}

// driverTest is one run of TestDriver.
type driverTest struct {
	ctx  context.Context
	d    driver.Driver
	info driver.Info
	id   string // the prefix of every partition and payload key written

	mu   sync.Mutex
	errs []error
	keys map[driver.Key]bool // every document key written
}

// maxErrors bounds the errors TestDriver reports.
const maxErrors = 100

// errorf records a deviation.
func (c *driverTest) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < maxErrors {
		c.errs = append(c.errs, fmt.Errorf(format, args...))
	} else if len(c.errs) == maxErrors {
		c.errs = append(c.errs, errors.New("too many errors; stopping the list"))
	}
}

// key returns the key of the document named name: in the partition of the
// run if the driver has sort keys, else in a partition of its own.
func (c *driverTest) key(name string) driver.Key {
	if c.info.SortKey == "" {
		return driver.Key{Partition: c.id + "-" + name}
	}
	return driver.Key{Partition: c.id, Sort: name}
}

// blobKey returns the payload key named name.
func (c *driverTest) blobKey(name string) string { return c.id + "/" + name }

// code classifies err as the portable layer does.
func (c *driverTest) code(err error) driver.ErrorCode { return driver.Classify(c.d, err) }

// wantCode records a deviation unless err has the code.
func (c *driverTest) wantCode(call string, err error, want driver.ErrorCode) bool {
	switch got := c.code(err); {
	case err == nil:
		c.errorf("%s: succeeded, want an error with code %v", call, want)
	case got != want:
		c.errorf("%s: error %q has code %v, want %v", call, err, got, want)
	default:
		return true
	}
	return false
}

// noError records a deviation if err is not nil.
func (c *driverTest) noError(call string, err error) bool {
	if err != nil {
		c.errorf("%s: %v (code %v)", call, err, c.code(err))
		return false
	}
	return true
}

func condString(cond driver.Condition) string {
	switch cond.Kind {
	case driver.Always:
		return "Always"
	case driver.MustNotExist:
		return "MustNotExist"
	case driver.MustMatchRevision:
		return fmt.Sprintf("MustMatchRevision(%q)", cond.Revision)
	}
	return fmt.Sprintf("Condition(%d)", cond.Kind)
}

func always() driver.Condition       { return driver.Condition{Kind: driver.Always} }
func mustNotExist() driver.Condition { return driver.Condition{Kind: driver.MustNotExist} }
func mustMatch(rev string) driver.Condition {
	return driver.Condition{Kind: driver.MustMatchRevision, Revision: rev}
}

// put calls PutDocument and returns the document it replaced, describing
// the call as call.
func (c *driverTest) put(ctx context.Context, doc *driver.Document, cond driver.Condition) (call string, prev *driver.Document, err error) {
	c.mu.Lock()
	c.keys[doc.Key] = true
	c.mu.Unlock()
	call = fmt.Sprintf("PutDocument(%v, %s)", doc.Key, condString(cond))
	prev, err = c.d.PutDocument(ctx, doc, cond)
	return call, prev, err
}

// wantDoc records a deviation unless got is want (nil for none).
func (c *driverTest) wantDoc(call, what string, got, want *driver.Document) {
	switch {
	case want == nil && got != nil:
		c.errorf("%s: %s is the document with revision %q, want none", call, what, got.Revision)
	case want == nil:
	case got == nil:
		c.errorf("%s: %s is nil, want the document with revision %q", call, what, want.Revision)
	case got.Key != want.Key:
		c.errorf("%s: %s has key %v, want %v", call, what, got.Key, want.Key)
	case got.Revision != want.Revision:
		c.errorf("%s: %s has revision %q, want %q", call, what, got.Revision, want.Revision)
	default:
		for _, d := range fieldDiffs(got.Fields, want.Fields) {
			c.errorf("%s: %s: %s", call, what, d)
		}
	}
}

// fieldDiffs describes how got differs from want.
func fieldDiffs(got, want map[string]any) []string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("field %q is missing, want %s", k, show(w)))
		case !reflect.DeepEqual(g, w):
			out = append(out, fmt.Sprintf("field %q is %s, want %s", k, show(g), show(w)))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("field %q = %s is not in the document written", k, show(g)))
		}
	}
	sort.Strings(out)
	return out
}

// get returns the document under key, or nil if there is none, recording a
// deviation on any other error.
func (c *driverTest) get(key driver.Key) (*driver.Document, bool) {
	call := fmt.Sprintf("GetDocument(%v)", key)
	doc, err := c.d.GetDocument(c.ctx, key)
	switch {
	case err == nil && doc == nil:
		c.errorf("%s returned nil and no error", call)
		return nil, false
	case err == nil:
		return doc, true
	case c.code(err) == driver.NotFound:
		return nil, true
	}
	c.errorf("%s: %v (code %v), want the document or NotFound", call, err, c.code(err))
	return nil, false
}

// wantStored records a deviation unless the document under key is want
// (nil for none).
func (c *driverTest) wantStored(when string, key driver.Key, want *driver.Document) {
	if got, ok := c.get(key); ok {
		c.wantDoc(fmt.Sprintf("GetDocument(%v) %s", key, when), "the document", got, want)
	}
}

// sampleFields returns fields of every value type, in canonical form.
func sampleFields(title string) map[string]any {
	return driver.CanonicalFields(map[string]any{
		"title": title,
		"int":   int64(-42),
		"float": 1.5,
		"big":   driver.Decimal("12345678901234567890.5"),
		"bool":  true,
		"bytes": []byte{0, 1, 255},
		"null":  nil,
		"list":  []any{"a", int64(1), map[string]any{"x": false}},
		"map":   map[string]any{"nested": map[string]any{"s": "é"}, "empty": []any{}},
		"ss":    driver.StringSet{"b", "a"},
		"ns":    driver.NumberSet{"2", "1.5"},
		"bs":    driver.BinarySet{{2}, {1}},
	})
}

func doc(key driver.Key, rev, title string) *driver.Document {
	return &driver.Document{Key: key, Revision: rev, Fields: sampleFields(title)}
}

// checkInfo checks what Info reports.
func (c *driverTest) checkInfo() {
	info := c.info
	if info.PartitionKey == "" {
		c.errorf("Info().PartitionKey is empty, want the partition key's attribute name")
	}
	if info.SortKey != "" && info.SortKey == info.PartitionKey {
		c.errorf("Info(): PartitionKey and SortKey are both %q", info.PartitionKey)
	}
	if len(info.Collection) > 255 || strings.ContainsFunc(info.Collection, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) {
		c.errorf("Info().Collection = %q, want at most 255 letters, digits, '.', '-' and '_'", info.Collection)
	}
	if !info.DynamoDBValues {
		c.errorf("Info().DynamoDBValues is false: every driver holds documents to DynamoDB's rules (see driver.CheckDynamoDBValues), so that the portable layer refuses bad input before it uploads anything")
	}
	if again := c.d.Info(); !reflect.DeepEqual(again, info) {
		c.errorf("Info() changed between calls: %+v, then %+v", info, again)
	}
}

// checkDocuments checks that documents are stored, read back, replaced and
// deleted as given, and that the driver keeps no memory of the caller's.
func (c *driverTest) checkDocuments() {
	k := c.key("doc")
	if _, err := c.d.GetDocument(c.ctx, k); !c.wantCode(fmt.Sprintf("GetDocument(%v) of a document never written", k), err, driver.NotFound) {
		return
	}
	in := doc(k, "rev-1", "first")
	want := in.Clone()
	call, prev, err := c.put(c.ctx, in, always())
	if !c.noError(call+" of a new document", err) {
		return // nothing to read back
	}
	c.wantDoc(call+" of a new document", "the document it replaced", prev, nil)
	// The driver must not retain the document it was given.
	in.Fields["title"] = "changed by the caller"
	in.Fields["bytes"].([]byte)[0] = 9
	in.Fields["list"].([]any)[0] = "changed"
	got, ok := c.get(k)
	if !ok || got == nil {
		c.errorf("GetDocument(%v) after %s: no document", k, call)
		return
	}
	c.wantDoc(fmt.Sprintf("GetDocument(%v) after %s and the caller changed its document", k, call), "the document", got, want)
	// The caller may change the document it was given.
	got.Fields["title"] = "changed by the reader"
	if b, ok := got.Fields["bytes"].([]byte); ok && len(b) > 0 {
		b[0] = 9
	}
	if m, ok := got.Fields["map"].(map[string]any); ok {
		m["added"] = "x"
	}
	c.wantStored("after the caller changed the document a GetDocument returned", k, want)

	// Replacing returns the replaced document.
	second := doc(k, "rev-2", "second")
	call, prev, err = c.put(c.ctx, second.Clone(), always())
	if c.noError(call+" of an existing document", err) {
		c.wantDoc(call+" of an existing document", "the document it replaced", prev, want)
	}
	c.wantStored("after "+call, k, second)

	// Non-canonical values are accepted; they read back as given or in
	// canonical form.
	raw := &driver.Document{Key: k, Revision: "rev-raw", Fields: map[string]any{
		"time": time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("", 3600)), "float": 3.0, "dec": driver.Decimal("1.50"),
		"ss": driver.StringSet{"b", "a"}, "nilbytes": []byte(nil), "nillist": []any(nil),
	}}
	call, _, err = c.put(c.ctx, raw.Clone(), always())
	if c.noError(call+" of values not in canonical form", err) {
		if got, ok := c.get(k); ok && got != nil {
			canon := driver.CanonicalFields(raw.Fields)
			for name, v := range got.Fields {
				if !reflect.DeepEqual(v, raw.Fields[name]) && !reflect.DeepEqual(v, canon[name]) {
					c.errorf("GetDocument(%v) after %s: field %q is %s, want %s as given or %s in canonical form",
						k, call, name, show(v), show(raw.Fields[name]), show(canon[name]))
				}
			}
			if len(got.Fields) != len(raw.Fields) {
				c.errorf("GetDocument(%v) after %s: %d fields, want %d", k, call, len(got.Fields), len(raw.Fields))
			}
		}
	}

	// Delete returns what it removed; deleting nothing is no error.
	call = fmt.Sprintf("DeleteDocument(%v, Always)", k)
	removed, err := c.d.DeleteDocument(c.ctx, k, always())
	if c.noError(call, err) {
		if removed == nil || removed.Revision != "rev-raw" {
			c.errorf("%s: returned %v, want the document with revision %q", call, revisionOf(removed), "rev-raw")
		}
	}
	c.wantStored("after "+call, k, nil)
	removed, err = c.d.DeleteDocument(c.ctx, k, always())
	if c.noError(call+" of a missing document", err) && removed != nil {
		c.errorf("%s of a missing document: returned a document with revision %q, want nil", call, removed.Revision)
	}

	// A document without a revision (written by another tool).
	norev := doc(c.key("norev"), "", "no revision")
	call, _, err = c.put(c.ctx, norev.Clone(), always())
	if c.noError(call+" of a document without a revision", err) {
		c.wantStored("after "+call, norev.Key, norev)
	}

	// Values DynamoDB refuses are refused.
	for name, fields := range map[string]map[string]any{
		"a NaN":                 {"n": math.NaN()},
		"an empty field name":   {"": "x"},
		"a nested empty name":   {"m": map[string]any{"": "x"}},
		"a set with duplicates": {"ss": driver.StringSet{"a", "a"}},
	} {
		bad := &driver.Document{Key: c.key("refused"), Revision: "rev-1", Fields: fields}
		call, _, err := c.put(c.ctx, bad, always())
		c.wantCode(fmt.Sprintf("%s of a document with %s (see driver.CheckDynamoDBValues)", call, name), err, driver.InvalidArgument)
		c.wantStored("after "+call+" of a document with "+name, bad.Key, nil)
	}

	// A write whose context is done is not applied.
	cancelled, cancel := context.WithCancel(c.ctx)
	cancel()
	late := doc(c.key("cancelled"), "rev-1", "never")
	call, _, err = c.put(cancelled, late, always())
	if err == nil {
		c.errorf("%s with a cancelled context: succeeded, want an error", call)
	}
	c.wantStored(fmt.Sprintf("after %s with a cancelled context", call), late.Key, nil)
	if _, err := c.d.GetDocument(cancelled, norev.Key); err == nil {
		c.errorf("GetDocument(%v) with a cancelled context: succeeded, want an error", norev.Key)
	}
}

func revisionOf(d *driver.Document) string {
	if d == nil {
		return "nil"
	}
	return fmt.Sprintf("the document with revision %q", d.Revision)
}

// checkConditions checks MustNotExist and MustMatchRevision on writes and
// deletes.
func (c *driverTest) checkConditions() {
	k := c.key("cond")
	first := doc(k, "rev-1", "first")
	call, prev, err := c.put(c.ctx, first.Clone(), mustNotExist())
	if !c.noError(call+" of a new document", err) {
		return
	}
	c.wantDoc(call+" of a new document", "the document it replaced", prev, nil)

	call, _, err = c.put(c.ctx, doc(k, "rev-x", "refused"), mustNotExist())
	c.wantCode(call+" of an existing document", err, driver.AlreadyExists)
	c.wantStored("after a refused "+call, k, first)

	call, _, err = c.put(c.ctx, doc(k, "rev-x", "refused"), mustMatch("rev-0"))
	c.wantCode(call+" of a document with revision \"rev-1\"", err, driver.FailedPrecondition)
	c.wantStored("after a refused "+call, k, first)

	call, _, err = c.put(c.ctx, doc(k, "rev-x", "refused"), mustMatch(""))
	c.wantCode(call+" of a document with revision \"rev-1\"", err, driver.FailedPrecondition)
	c.wantStored("after a refused "+call, k, first)

	second := doc(k, "rev-2", "second")
	call, prev, err = c.put(c.ctx, second.Clone(), mustMatch("rev-1"))
	if c.noError(call+" of a document with that revision", err) {
		c.wantDoc(call, "the document it replaced", prev, first)
	}
	c.wantStored("after "+call, k, second)

	missing := c.key("cond-missing")
	call, _, err = c.put(c.ctx, doc(missing, "rev-1", "refused"), mustMatch("rev-0"))
	c.wantCode(call+" of a missing document", err, driver.FailedPrecondition)
	call, _, err = c.put(c.ctx, doc(missing, "rev-1", "refused"), mustMatch(""))
	c.wantCode(call+" of a missing document", err, driver.FailedPrecondition)
	c.wantStored("after refused writes with MustMatchRevision", missing, nil)

	// A revision of "" matches a document that has none.
	norev := doc(c.key("cond-norev"), "", "no revision")
	call, _, err = c.put(c.ctx, norev.Clone(), always())
	if c.noError(call, err) {
		next := doc(norev.Key, "rev-1", "revised")
		call, prev, err = c.put(c.ctx, next.Clone(), mustMatch(""))
		if c.noError(call+" of a document without a revision", err) {
			c.wantDoc(call, "the document it replaced", prev, norev)
		}
	}

	// Conditional deletes.
	call = fmt.Sprintf("DeleteDocument(%v, %s)", k, condString(mustMatch("rev-1")))
	_, err = c.d.DeleteDocument(c.ctx, k, mustMatch("rev-1"))
	c.wantCode(call+" of a document with revision \"rev-2\"", err, driver.FailedPrecondition)
	c.wantStored("after a refused "+call, k, second)
	call = fmt.Sprintf("DeleteDocument(%v, %s)", k, condString(mustMatch("rev-2")))
	removed, err := c.d.DeleteDocument(c.ctx, k, mustMatch("rev-2"))
	if c.noError(call+" of a document with that revision", err) {
		c.wantDoc(call, "the document it removed", removed, second)
	}
	c.wantStored("after "+call, k, nil)
	call = fmt.Sprintf("DeleteDocument(%v, %s)", k, condString(mustMatch("rev-2")))
	_, err = c.d.DeleteDocument(c.ctx, k, mustMatch("rev-2"))
	c.wantCode(call+" of a missing document", err, driver.FailedPrecondition)
}

// checkTooLarge checks that a document over Info.MaxDocumentBytes is
// refused with TooLarge.
func (c *driverTest) checkTooLarge() {
	if c.info.MaxDocumentBytes <= 0 {
		return
	}
	big := &driver.Document{Key: c.key("too-large"), Revision: "rev-1", Fields: map[string]any{"title": strings.Repeat("x", c.info.MaxDocumentBytes)}}
	call, _, err := c.put(c.ctx, big, always())
	c.wantCode(fmt.Sprintf("%s of a document of %d bytes (Info().MaxDocumentBytes is %d)", call, driver.DocumentSize(big, c.info), c.info.MaxDocumentBytes), err, driver.TooLarge)
	c.wantStored("after "+call+" of a document too large", big.Key, nil)
}

// checkConcurrentWrites checks that conditions hold under concurrency:
// of writers racing to create a document, or to replace one revision,
// exactly one wins.
func (c *driverTest) checkConcurrentWrites() {
	const writers = 8
	race := func(what string, key driver.Key, cond driver.Condition, loser driver.ErrorCode) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for w := range writers {
			wg.Go(func() {
				rev := fmt.Sprintf("rev-%s-%d", what, w)
				call, _, err := c.put(c.ctx, doc(key, rev, rev), cond)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, rev)
					mu.Unlock()
				case c.code(err) != loser:
					c.errorf("%s racing %d writers: error %q has code %v, want success or %v", call, writers, err, c.code(err), loser)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			c.errorf("PutDocument(%v, %s) racing %d writers: %d succeeded, want exactly 1", key, condString(cond), writers, len(winners))
			return
		}
		if got, ok := c.get(key); ok && (got == nil || got.Revision != winners[0]) {
			c.errorf("GetDocument(%v) after %d writers raced with %s: %s, want the winner's revision %q", key, writers, condString(cond), revisionOf(got), winners[0])
		}
	}
	k := c.key("race")
	race("create", k, mustNotExist(), driver.AlreadyExists)
	if cur, ok := c.get(k); ok && cur != nil {
		race("replace", k, mustMatch(cur.Revision), driver.FailedPrecondition)
	}
}

// queryCase is one query of checkQueries.
type queryCase struct {
	op    driver.SortOp
	v, v2 string
	want  []string // sort keys, ascending
}

// checkQueries checks QueryDocuments: sort conditions, orders, pages,
// StartAfter, and scans.
func (c *driverTest) checkQueries() {
	if c.info.SortKey == "" {
		c.checkQueriesNoSortKey()
		return
	}
	part := c.id + "-query"
	all := []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-03a", "2026-04", "2027-01", "é"}
	for _, sk := range all {
		call, _, err := c.put(c.ctx, doc(driver.Key{Partition: part, Sort: sk}, "rev-"+sk, "t"+sk), always())
		if !c.noError(call, err) {
			return
		}
	}
	// Another partition, whose names begins with the first's, that no
	// query of it may return.
	call, _, err := c.put(c.ctx, doc(driver.Key{Partition: part + "2", Sort: "2026-01"}, "rev", "other"), always())
	if !c.noError(call, err) {
		return
	}
	cases := []queryCase{
		{driver.SortAny, "", "", all},
		{driver.SortEqual, "2026-03", "", []string{"2026-03"}},
		{driver.SortEqual, "2026-05", "", nil},
		{driver.SortPrefix, "2026-", "", all[1:6]},
		{driver.SortPrefix, "2026-03", "", []string{"2026-03", "2026-03a"}},
		{driver.SortBetween, "2026-02", "2026-04", all[2:6]},
		{driver.SortLess, "2026-02", "", all[:2]},
		{driver.SortLessOrEqual, "2026-02", "", all[:3]},
		{driver.SortGreater, "2026-03a", "", all[5:]},
		{driver.SortGreaterOrEqual, "2026-03a", "", all[4:]},
	}
	for _, tc := range cases {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 1, 3} {
				q := &driver.Query{Partition: part, Sort: tc.op, Value: tc.v, Value2: tc.v2, Descending: desc, Limit: limit}
				c.wantQuery(q, ordered(tc.want, desc), true)
			}
		}
	}
	// StartAfter, at each document and between two, alone and with a
	// sort condition.
	for _, desc := range []bool{false, true} {
		for _, after := range append(slices.Clone(all), "2026-025", "0", "z") {
			want := ordered(all, desc)
			want = slices.DeleteFunc(want, func(sk string) bool { return (!desc && sk <= after) || (desc && sk >= after) })
			c.wantQuery(&driver.Query{Partition: part, Descending: desc, StartAfter: after, Limit: 2}, want, true)
		}
		want := ordered(all[3:6], desc)
		after := "2026-03"
		want = slices.DeleteFunc(want, func(sk string) bool { return (!desc && sk <= after) || (desc && sk >= after) })
		c.wantQuery(&driver.Query{Partition: part, Sort: driver.SortBetween, Value: "2026-025", Value2: "2026-04", Descending: desc, StartAfter: after}, want, true)
	}
	c.wantQuery(&driver.Query{Partition: c.id + "-nobody"}, nil, true)
	c.checkScan()
}

// checkQueriesNoSortKey checks QueryDocuments on a driver whose documents
// have a partition key only.
func (c *driverTest) checkQueriesNoSortKey() {
	for _, name := range []string{"query-a", "query-b"} {
		call, _, err := c.put(c.ctx, doc(c.key(name), "rev-"+name, "t"+name), always())
		if !c.noError(call, err) {
			return
		}
		c.wantQuery(&driver.Query{Partition: c.key(name).Partition}, []string{""}, true)
	}
	c.wantQuery(&driver.Query{Partition: c.id + "-nobody"}, nil, true)
	c.checkScan()
}

func ordered(keys []string, desc bool) []string {
	out := slices.Clone(keys)
	if desc {
		slices.Reverse(out)
	}
	return out
}

func queryString(q *driver.Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Partition: %q", q.Partition)
	ops := []string{"SortAny", "SortEqual", "SortPrefix", "SortBetween", "SortLess", "SortLessOrEqual", "SortGreater", "SortGreaterOrEqual"}
	if q.Sort != driver.SortAny && int(q.Sort) < len(ops) {
		fmt.Fprintf(&b, ", Sort: %s %q", ops[q.Sort], q.Value)
		if q.Sort == driver.SortBetween {
			fmt.Fprintf(&b, " and %q", q.Value2)
		}
	}
	if q.Descending {
		b.WriteString(", Descending")
	}
	if q.Limit != 0 {
		fmt.Fprintf(&b, ", Limit: %d", q.Limit)
	}
	if q.StartAfter != "" {
		fmt.Fprintf(&b, ", StartAfter: %q", q.StartAfter)
	}
	if q.Segment != 0 || q.TotalSegments != 0 {
		fmt.Fprintf(&b, ", Segment: %d, TotalSegments: %d", q.Segment, q.TotalSegments)
	}
	return "QueryDocuments({" + b.String() + "})"
}

// query pages through q and returns the documents, recording deviations in
// the pages.
func (c *driverTest) query(q *driver.Query) ([]*driver.Document, bool) {
	call := queryString(q)
	var docs []*driver.Document
	qc := *q
	q = &qc
	for pages := 0; ; pages++ {
		if pages > 100 {
			c.errorf("%s: still returning pages after 100", call)
			return nil, false
		}
		page, err := c.d.QueryDocuments(c.ctx, q)
		if !c.noError(call, err) {
			return nil, false
		}
		if page == nil {
			c.errorf("%s returned a nil page and no error", call)
			return nil, false
		}
		if q.Limit > 0 && len(page.Documents) > q.Limit {
			c.errorf("%s: a page of %d documents, over the limit", call, len(page.Documents))
		}
		docs = append(docs, page.Documents...)
		if page.NextPageToken == "" {
			return docs, true
		}
		q.PageToken = page.NextPageToken
	}
}

// wantQuery records a deviation unless the query returns the documents
// with the sort keys want, in that order, as written by checkQueries.
func (c *driverTest) wantQuery(q *driver.Query, want []string, checkFields bool) {
	docs, ok := c.query(q)
	if !ok {
		return
	}
	var got []string
	for _, d := range docs {
		if d == nil {
			c.errorf("%s returned a nil document", queryString(q))
			return
		}
		got = append(got, d.Key.Sort)
		if d.Key.Partition != q.Partition {
			c.errorf("%s returned a document of partition %q", queryString(q), d.Key.Partition)
		}
		if checkFields {
			name := d.Key.Sort
			if c.info.SortKey == "" {
				name = strings.TrimPrefix(d.Key.Partition, c.id+"-")
			}
			c.wantDoc(queryString(q), fmt.Sprintf("the document %v", d.Key), d, doc(d.Key, "rev-"+name, "t"+name))
		}
	}
	if !slices.Equal(got, want) {
		c.errorf("%s returned sort keys %q, want %q", queryString(q), got, want)
	}
}

// checkScan checks that a scan (a query of every partition) returns every
// document TestDriver stored, once.
func (c *driverTest) checkScan() {
	for _, limit := range []int{0, 2} {
		q := &driver.Query{Limit: limit}
		docs, ok := c.query(q)
		if !ok {
			return
		}
		seen := map[driver.Key]int{}
		for _, d := range docs {
			if d != nil && strings.HasPrefix(d.Key.Partition, c.id) {
				seen[d.Key]++
			}
		}
		for _, k := range c.storedKeys() {
			if seen[k] != 1 {
				c.errorf("%s returned the document %v %d times, want once", queryString(q), k, seen[k])
			}
			delete(seen, k)
		}
		for k := range seen {
			c.errorf("%s returned the document %v, which is not stored", queryString(q), k)
		}
	}
	c.checkScanSegments()
}

// checkScanSegments checks that the segments of a parallel scan
// (Query.Segment and TotalSegments) partition the documents: each
// document TestDriver stored is returned by exactly one segment, once, and
// no segment returns a document that is not stored. It first stores a
// document in each of 16 partitions more, since drivers may put a whole
// partition in one segment. Out-of-range segments must fail with
// InvalidArgument.
func (c *driverTest) checkScanSegments() {
	for i := range 16 {
		k := driver.Key{Partition: fmt.Sprintf("%s-segment-%02d", c.id, i)}
		if c.info.SortKey != "" {
			k.Sort = "s"
		}
		call, _, err := c.put(c.ctx, doc(k, "rev-segment", "segment"), always())
		if !c.noError(call, err) {
			return
		}
	}
	stored := c.storedKeys()
	for _, total := range []int{2, 3, 7} {
		where := map[driver.Key][]int{} // the segments that returned each key
		for seg := range total {
			q := &driver.Query{Segment: seg, TotalSegments: total, Limit: 3}
			docs, ok := c.query(q)
			if !ok {
				return
			}
			for _, d := range docs {
				if d != nil && strings.HasPrefix(d.Key.Partition, c.id) {
					where[d.Key] = append(where[d.Key], seg)
				}
			}
		}
		for _, k := range stored {
			if segs := where[k]; len(segs) != 1 {
				c.errorf("a scan in %d segments (QueryDocuments({Partition: \"\", Segment: 0 to %d, TotalSegments: %d})) returned the document %v from segments %v, want from exactly one", total, total-1, total, k, segs)
			}
			delete(where, k)
		}
		for k, segs := range where {
			c.errorf("a scan in %d segments returned the document %v from segments %v, which is not stored", total, k, segs)
		}
	}
	for _, q := range []*driver.Query{
		{Segment: 2, TotalSegments: 2},
		{Segment: -1, TotalSegments: 2},
		{TotalSegments: driver.MaxScanSegments + 1},
	} {
		_, err := c.d.QueryDocuments(c.ctx, q)
		c.wantCode(queryString(q), err, driver.InvalidArgument)
	}
}

// storedKeys returns the keys of the documents that TestDriver wrote and
// that GetDocument finds.
func (c *driverTest) storedKeys() []driver.Key {
	c.mu.Lock()
	keys := make([]driver.Key, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	var out []driver.Key
	for _, k := range keys {
		if d, ok := c.get(k); ok && d != nil {
			out = append(out, k)
		}
	}
	return out
}

// write calls WriteBlob with data, from a reader that is not an
// io.Seeker if stream is set (a payload of unknown origin), and reports
// whether it succeeded.
func (c *driverTest) write(key string, data []byte, stream bool, opts *driver.WriteOptions) bool {
	call := fmt.Sprintf("WriteBlob(%q) of %d bytes", key, len(data))
	var r io.Reader = bytes.NewReader(data)
	if stream {
		r = io.MultiReader(r)
	}
	attrs, err := c.d.WriteBlob(c.ctx, key, r, opts)
	if !c.noError(call, err) {
		return false
	}
	if attrs == nil {
		c.errorf("%s returned nil *BlobAttrs and no error", call)
		return true
	}
	alg := opts.Algorithm()
	if want := alg.Sum(data); attrs.Checksum.Algorithm != alg || !bytes.Equal(attrs.Checksum.Sum, want) {
		c.errorf("%s: BlobAttrs.Checksum = %s, want %s", call, attrs.Checksum, driver.Checksum{Algorithm: alg, Sum: want})
	}
	return true
}

// read reads length bytes of the payload from offset.
func (c *driverTest) read(key string, offset, length int64) ([]byte, error) {
	r, err := c.d.OpenBlob(c.ctx, key, offset, length, nil)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("Close: %w", cerr)
	}
	return data, err
}

// checkPayloads checks that payloads of several sizes (one more than a
// part of a multipart upload to S3) are written, read by range and
// described, with each checksum algorithm, known in advance or not; and
// that missing payloads are NotFound.
func (c *driverTest) checkPayloads() {
	for _, size := range []int{0, 1, 1000, 5<<20 + 123} {
		data := patternBytes(uint64(size), int64(size))
		key := c.blobKey(fmt.Sprintf("payload/%d", size))
		before := time.Now()
		if c.write(key, data, true, &driver.WriteOptions{ContentType: "text/plain; charset=utf-8", Size: -1}) {
			info := c.wantStat(key, data, before)
			if info != nil && info.ContentType != "" && info.ContentType != "text/plain; charset=utf-8" {
				c.errorf("StatBlob(%q).ContentType = %q, want the type written, %q, or none", key, info.ContentType, "text/plain; charset=utf-8")
			}
			c.checkRanges(key, data)
		}
		// WriteBlob reports the checksum asked for; a driver that keeps
		// a checksum reports the right one from StatBlob, one whose
		// backend cannot reports none.
		for _, alg := range driver.ChecksumAlgorithms {
			for name, opts := range map[string]*driver.WriteOptions{
				"stream": {Size: -1, Checksum: alg},
				"sized":  {Size: int64(size), Checksum: alg},
				"known":  {Size: int64(size), Checksum: alg, Sum: alg.Sum(data)},
			} {
				key := c.blobKey(fmt.Sprintf("payload/%d-%s-%s", size, alg, name))
				if c.write(key, data, opts.Size < 0, opts) {
					c.wantStat(key, data, before)
					if name == "stream" {
						c.checkVerifiedRead(key, data, alg)
					}
				}
			}
		}
	}

	// Deleting.
	key := c.blobKey("payload/1000-sha256-stream")
	call := fmt.Sprintf("DeleteBlob(%q)", key)
	if c.noError(call, c.d.DeleteBlob(c.ctx, key)) {
		_, err := c.d.StatBlob(c.ctx, key)
		c.wantCode(fmt.Sprintf("StatBlob(%q) after %s", key, call), err, driver.NotFound)
		_, err = c.read(key, 0, -1)
		c.wantCode(fmt.Sprintf("OpenBlob(%q, 0, -1) after %s", key, call), err, driver.NotFound)
		c.noError(call+" of a deleted payload", c.d.DeleteBlob(c.ctx, key))
	}
	missing := c.blobKey("never-written")
	_, err := c.d.StatBlob(c.ctx, missing)
	c.wantCode(fmt.Sprintf("StatBlob(%q) of a payload never written", missing), err, driver.NotFound)
	_, err = c.read(missing, 0, -1)
	c.wantCode(fmt.Sprintf("OpenBlob(%q, 0, -1) of a payload never written", missing), err, driver.NotFound)
	c.noError(fmt.Sprintf("DeleteBlob(%q) of a payload never written", missing), c.d.DeleteBlob(c.ctx, missing))
}

// checkRanges reads ranges of the payload data stored under key: whole,
// to the end, of one byte and in the middle.
func (c *driverTest) checkRanges(key string, data []byte) {
	n := int64(len(data))
	ranges := [][2]int64{{0, -1}}
	if n > 0 {
		ranges = append(ranges, [2]int64{0, n}, [2]int64{0, 1}, [2]int64{n - 1, 1}, [2]int64{n - 1, -1}, [2]int64{n / 3, n / 2}, [2]int64{n / 2, -1})
	}
	for _, r := range ranges {
		call := fmt.Sprintf("OpenBlob(%q, %d, %d) of a payload of %d bytes", key, r[0], r[1], n)
		end := n
		if r[1] >= 0 {
			end = r[0] + r[1]
		}
		switch got, err := c.read(key, r[0], r[1]); {
		case err != nil:
			c.errorf("%s: %v (code %v)", call, err, c.code(err))
		case !bytes.Equal(got, data[r[0]:end]):
			c.errorf("%s read %d bytes that differ from the %d written there", call, len(got), end-r[0])
		}
	}
}

// wantStat checks StatBlob's description of a payload of data written
// since before, and returns it.
func (c *driverTest) wantStat(key string, data []byte, before time.Time) *driver.BlobInfo {
	call := fmt.Sprintf("StatBlob(%q) of a payload of %d bytes", key, len(data))
	info, err := c.d.StatBlob(c.ctx, key)
	if !c.noError(call, err) {
		return nil
	}
	if info == nil {
		c.errorf("%s returned nil and no error", call)
		return nil
	}
	if info.Key != key {
		c.errorf("%s: Key = %q", call, info.Key)
	}
	if info.Size != int64(len(data)) {
		c.errorf("%s: Size = %d", call, info.Size)
	}
	// Backends keep times to the second, and servers' clocks drift.
	if lo, hi := before.Add(-time.Minute), time.Now().Add(time.Minute); info.ModTime.Before(lo) || info.ModTime.After(hi) {
		c.errorf("%s: ModTime = %v, want a time near %v", call, info.ModTime, before)
	}
	if got := info.Checksum; got.Algorithm != "" || got.Sum != nil {
		if want := got.Algorithm.Sum(data); !got.Valid() || !bytes.Equal(got.Sum, want) {
			c.errorf("%s: Checksum = %s, want none or the payload's, %s", call, got, driver.Checksum{Algorithm: got.Algorithm, Sum: want})
		}
	}
	return info
}

// checkVerifiedRead reads the whole payload data stored under key with
// its checksum of algorithm alg in OpenOptions, and with another sum,
// which a driver that reports the read Verified must refuse.
func (c *driverTest) checkVerifiedRead(key string, data []byte, alg driver.ChecksumAlgorithm) {
	for _, tc := range []struct {
		name  string
		sum   []byte
		right bool
	}{
		{"recorded", alg.Sum(data), true},
		{"other", alg.Sum(append([]byte("other"), data...)), false},
	} {
		call := fmt.Sprintf("OpenBlob(%q, 0, -1) with the %s %s checksum", key, tc.name, alg)
		r, err := c.d.OpenBlob(c.ctx, key, 0, -1, &driver.OpenOptions{Checksum: driver.Checksum{Algorithm: alg, Sum: tc.sum}})
		if err != nil {
			if tc.right || c.code(err) != driver.Corrupt {
				c.errorf("%s: %v (code %v)", call, err, c.code(err))
			}
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		switch {
		case tc.right && (err != nil || !bytes.Equal(got, data)):
			c.errorf("%s: read %d bytes, error %v", call, len(got), err)
		case !tc.right && r.Verified && (err == nil || c.code(err) != driver.Corrupt):
			c.errorf("%s: a Verified reader ended with %v (code %v), want an error with code Corrupt", call, err, c.code(err))
		}
	}
}

// checkListing checks ListBlobs: prefixes, key order, sizes and pages.
func (c *driverTest) checkListing() {
	dir := c.blobKey("list/")
	want := map[string]int{}
	for i := range 25 {
		want[fmt.Sprintf("%s%02d/%d", dir, i%7, i)] = i
	}
	// Keys that the prefix does not select: a sibling that begins like
	// it, and a key that sorts right before it.
	outside := []string{strings.TrimSuffix(dir, "/") + "x", strings.TrimSuffix(dir, "/") + ".", c.blobKey("lisu")}
	for key, size := range want {
		if !c.write(key, patternBytes(1, int64(size)), true, &driver.WriteOptions{Size: -1}) {
			return
		}
	}
	for _, key := range outside {
		if !c.write(key, []byte("outside"), true, &driver.WriteOptions{Size: -1}) {
			return
		}
	}
	for _, prefix := range []string{dir, dir + "03/"} {
		call := fmt.Sprintf("ListBlobs(%q)", prefix)
		var keys []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				c.errorf("%s: still returning pages after 100", call)
				return
			}
			page, err := c.d.ListBlobs(c.ctx, prefix, token)
			if !c.noError(call, err) {
				return
			}
			if page == nil {
				c.errorf("%s returned a nil page and no error", call)
				return
			}
			for _, b := range page.Blobs {
				keys = append(keys, b.Key)
				size, ok := want[b.Key]
				switch {
				case !strings.HasPrefix(b.Key, prefix):
					c.errorf("%s returned %q, outside the prefix", call, b.Key)
				case !ok:
					c.errorf("%s returned %q, which was never written", call, b.Key)
				case b.Size != int64(size):
					c.errorf("%s: %q has Size %d, want %d", call, b.Key, b.Size, size)
				}
				if b.ModTime.IsZero() {
					c.errorf("%s: %q has no ModTime", call, b.Key)
				}
			}
			if token = page.NextPageToken; token == "" {
				break
			}
			call = fmt.Sprintf("ListBlobs(%q, page token %q)", prefix, token)
		}
		call = fmt.Sprintf("ListBlobs(%q)", prefix)
		var wantKeys []string
		for k := range want {
			if strings.HasPrefix(k, prefix) {
				wantKeys = append(wantKeys, k)
			}
		}
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			c.errorf("%s returned %d keys, want %d, in key order:\n got  %q\n want %q", call, len(keys), len(wantKeys), keys, wantKeys)
		}
	}
}

// errSource is the error of the payload readers that fail.
var errSource = errors.New("conformance: the payload source failed")

// failingSource returns n bytes, then fails with errSource.
type failingSource struct{ n int }

func (f *failingSource) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errSource
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

// cancellingSource returns n bytes, then cancels the write's context in
// its next Read and keeps returning bytes.
type cancellingSource struct {
	n      int
	cancel context.CancelFunc
}

func (s *cancellingSource) Read(p []byte) (int, error) {
	if s.n > 0 {
		p = p[:min(len(p), s.n)]
		s.n -= len(p)
	} else {
		s.cancel()
	}
	clear(p)
	return len(p), nil
}

// checkFailedWrites checks that a payload whose source fails, or whose
// context is done, leaves nothing behind.
func (c *driverTest) checkFailedWrites() {
	gone := func(call, key string) {
		if info, err := c.d.StatBlob(c.ctx, key); c.code(err) != driver.NotFound {
			c.errorf("StatBlob(%q) after %s: %v, %v; want code NotFound: a failed write leaves nothing", key, call, statString(info), err)
		}
		if page, err := c.d.ListBlobs(c.ctx, key, ""); err == nil && page != nil && len(page.Blobs) > 0 {
			c.errorf("ListBlobs(%q) after %s lists %q: a failed write leaves nothing", key, call, page.Blobs[0].Key)
		}
	}
	for _, n := range []int{0, 1000, 6 << 20} {
		key := c.blobKey(fmt.Sprintf("failed/source-%d", n))
		call := fmt.Sprintf("WriteBlob(%q) from a reader that fails after %d bytes", key, n)
		_, err := c.d.WriteBlob(c.ctx, key, &failingSource{n: n}, &driver.WriteOptions{Size: -1})
		if !errors.Is(err, errSource) {
			c.errorf("%s: %v, want the reader's error", call, err)
		}
		gone(call, key)
	}
	cancelled, cancel := context.WithCancel(c.ctx)
	cancel()
	key := c.blobKey("failed/cancelled")
	call := fmt.Sprintf("WriteBlob(%q) with a cancelled context", key)
	if _, err := c.d.WriteBlob(cancelled, key, bytes.NewReader([]byte("never")), &driver.WriteOptions{Size: 5}); err == nil {
		c.errorf("%s: succeeded, want an error", call)
	}
	gone(call, key)
	for _, n := range []int{1000, 6 << 20} {
		ctx, cancel := context.WithCancel(c.ctx)
		key := c.blobKey(fmt.Sprintf("failed/cancelled-%d", n))
		call := fmt.Sprintf("WriteBlob(%q) whose context is cancelled after %d bytes", key, n)
		_, err := c.d.WriteBlob(ctx, key, io.LimitReader(&cancellingSource{n: n, cancel: cancel}, 2*int64(n)), &driver.WriteOptions{Size: -1})
		cancel()
		if err == nil {
			c.errorf("%s: succeeded, want an error", call)
		}
		gone(call, key)
	}
	// Reads observe the context.
	key = c.blobKey(fmt.Sprintf("payload/%d", 5<<20+123))
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	call = fmt.Sprintf("OpenBlob(%q, 0, -1)", key)
	r, err := c.d.OpenBlob(ctx, key, 0, -1, nil)
	if c.noError(call, err) {
		defer r.Close()
		if _, err := io.ReadFull(r, make([]byte, 1)); c.noError("Read of "+call, err) {
			cancel()
			if _, err := io.ReadAll(r); err == nil {
				c.errorf("Read of %s after its context was cancelled: read to the end, want an error", call)
			}
		}
	}
	if _, err := c.d.StatBlob(cancelled, key); err == nil {
		c.errorf("StatBlob(%q) with a cancelled context: succeeded, want an error", key)
	}
}

func statString(info *driver.BlobInfo) string {
	if info == nil {
		return "nil"
	}
	return fmt.Sprintf("{Key: %q, Size: %d}", info.Key, info.Size)
}

// unknownType is a type no driver supports in As or ErrorAs.
type unknownType struct{}

func (*unknownType) Error() string { return "conformance: an error no driver returns" }

// checkEscapeHatches checks ErrorCode of an error the driver never
// returned, SignedURL as Info.SignsURLs says, and As and ErrorAs of types
// no driver supports.
func (c *driverTest) checkEscapeHatches() {
	if got := c.d.ErrorCode(errors.New("conformance: an error the driver never returned")); got != driver.Unknown {
		c.errorf("ErrorCode(an error the driver never returned) = %v, want Unknown", got)
	}
	key := c.blobKey("payload/1")
	opts := &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute}
	u, err := c.d.SignedURL(c.ctx, key, opts)
	call := fmt.Sprintf("SignedURL(%q, GET for a minute)", key)
	switch {
	case !c.info.SignsURLs:
		c.wantCode(call+" (Info().SignsURLs is false)", err, driver.Unimplemented)
	case !c.noError(call+" (Info().SignsURLs is true)", err):
	default:
		if pu, perr := url.Parse(u); perr != nil || !pu.IsAbs() {
			c.errorf("%s returned %q, want an absolute URL", call, u)
		}
	}
	var x *unknownType
	if c.d.As(&x) {
		c.errorf("As(%T) reported true for a type no driver supports", &x)
	}
	_, err = c.d.GetDocument(c.ctx, c.key("never-written"))
	if err != nil && c.d.ErrorAs(err, &x) {
		c.errorf("ErrorAs(%q, %T) reported true for a type no driver returns", err, &x)
	}
}

// cleanup removes what TestDriver wrote.
func (c *driverTest) cleanup() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 2*time.Minute)
	defer cancel()
	c.mu.Lock()
	keys := make([]driver.Key, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	for _, k := range keys {
		if _, err := c.d.DeleteDocument(ctx, k, always()); err != nil {
			c.errorf("cleaning up: DeleteDocument(%v, Always): %v", k, err)
		}
	}
	blobs, err := listBlobs(ctx, c.d, c.id+"/")
	if err != nil {
		c.errorf("cleaning up: ListBlobs(%q): %v", c.id+"/", err)
	}
	for key := range blobs {
		if err := c.d.DeleteBlob(ctx, key); err != nil {
			c.errorf("cleaning up: DeleteBlob(%q): %v", key, err)
		}
	}
}

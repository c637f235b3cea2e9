package docblob

import (
	"context"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// FindingKind is the kind of a problem Check reports.
type FindingKind int

// The kinds of findings.
const (
	// DanglingReference: a document references a payload that does not
	// exist.
	DanglingReference FindingKind = iota + 1
	// SizeMismatch: the referenced payload exists with another size than
	// the document records.
	SizeMismatch
	// ChecksumMismatch: the payload's SHA-256 differs from the recorded one
	// (reported only with CheckOptions.VerifyChecksums).
	ChecksumMismatch
	// MalformedAttachment: a document field is marked as an attachment but
	// cannot be decoded.
	MalformedAttachment
	// OrphanPayload: a payload that no document references. Payloads of
	// writes in progress show as orphans until their document is written;
	// see Finding.Stored.
	OrphanPayload
	// ForeignReference: a document field is marked as an attachment but
	// records a payload key outside the document's own namespace (written
	// by another tool or store, or forged). The store keeps it as data and
	// never reads, signs, copies or deletes that payload.
	ForeignReference
)

var findingNames = map[FindingKind]string{
	DanglingReference:   "dangling reference",
	SizeMismatch:        "size mismatch",
	ChecksumMismatch:    "checksum mismatch",
	MalformedAttachment: "malformed attachment",
	OrphanPayload:       "orphan payload",
	ForeignReference:    "foreign reference",
}

// String returns the kind's name, such as "dangling reference".
func (k FindingKind) String() string {
	if n, ok := findingNames[k]; ok {
		return n
	}
	return fmt.Sprintf("FindingKind(%d)", int(k))
}

// Finding is one problem found by Check.
type Finding struct {
	Kind       FindingKind
	Partition  string    // the document's key; empty for orphans
	Sort       string    //
	Field      string    // the attachment field; empty for orphans
	PayloadKey string    // the payload's storage key
	Stored     time.Time // for orphans, when the payload was stored
	Detail     string    // a human-readable description
}

// String describes the finding on one line.
func (f Finding) String() string { return f.Kind.String() + ": " + f.Detail }

// CheckOptions configure Check.
type CheckOptions struct {
	// VerifyChecksums reads every referenced payload (inline ones
	// included) and reports those whose SHA-256 or size no longer match.
	// It reads all the data.
	VerifyChecksums bool
	// BatchSize bounds how many references or payloads are held in memory
	// at once (see SweepOptions.BatchSize). It does not change how much is
	// read. Default 100,000.
	BatchSize int
	// Concurrency bounds the driver requests in flight of each kind
	// (StatBlob of referenced payloads, batched document reads), and the
	// scan of every document runs in min(Concurrency, 64) parallel
	// segments (driver.Query.TotalSegments; DynamoDB's parallel Scan on
	// s3dynamo). While the scan and the StatBlob requests overlap, up to
	// twice Concurrency requests may be in flight. Default 8.
	Concurrency int
	// Progress, if not nil, is called with the counts so far after each
	// batch, from the goroutine iterating the findings.
	Progress func(CheckProgress)
}

// CheckProgress counts what a check has seen so far.
type CheckProgress struct {
	Documents  int // documents read (by the scan of references, then for orphans)
	References int // payload references checked
	Payloads   int // objects listed in the store's namespace
	Findings   int // findings yielded
}

// Check is a read-only consistency check, like fsck: it yields a Finding
// for each dangling reference (a document pointing at a missing or wrongly
// sized payload), each malformed attachment, each orphan payload, and, if
// asked, each payload whose SHA-256 no longer matches. It streams its
// findings and keeps memory bounded by BatchSize on stores of any size. It
// changes nothing; Sweep removes orphans. Iteration stops at the first
// error, which is yielded with a zero Finding. opts may be nil.
func (s *Store) Check(ctx context.Context, opts *CheckOptions) iter.Seq2[Finding, error] {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100_000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	return func(yield func(Finding, error) bool) {
		ctx, sp := s.startSpan(ctx, "Check")
		err := s.check(ctx, o, yield)
		sp.end(err)
		if err != nil {
			yield(Finding{}, err)
		}
	}
}

// check runs a Check, yielding its findings; it returns the error that
// ends it, unless the consumer stopped iterating.
func (s *Store) check(ctx context.Context, o CheckOptions, yield func(Finding, error) bool) error {
	const op = "check"
	ctx, exit, err := s.enterLong(ctx, op)
	if err != nil {
		return err
	}
	defer exit()
	if err := s.claimNamespace(ctx, op); err != nil {
		return err
	}
	c := &checker{s: s, o: o, yield: yield}
	if err := c.references(ctx); err != nil {
		if c.stopped {
			return nil
		}
		return s.wrap(op, noKey, err)
	}
	if err := c.orphans(ctx); err != nil && !c.stopped {
		return s.wrap(op, noKey, err)
	}
	return nil
}

// errStopped ends a check whose consumer stopped iterating.
var errStopped = fmt.Errorf("check stopped")

type checker struct {
	s       *Store
	o       CheckOptions
	yield   func(Finding, error) bool
	stopped bool
	prog    CheckProgress
}

func (c *checker) progress() {
	if c.o.Progress != nil {
		c.o.Progress(c.prog)
	}
}

func (c *checker) emit(f Finding) error {
	c.prog.Findings++
	if !c.yield(f, nil) {
		c.stopped = true
		return errStopped
	}
	return nil
}

// reference is one attachment of one document.
type reference struct {
	key   driver.Key
	field string
	ref   *attach.Ref
}

// references checks every attachment of every document, a batch at a time.
func (c *checker) references(ctx context.Context) error {
	var batch []reference
	flush := func() error {
		err := c.checkBatch(ctx, batch)
		batch = batch[:0]
		return err
	}
	segments := min(c.o.Concurrency, maxCheckSegments)
	err := c.s.scanSegments(ctx, segments, func(doc *driver.Document) error {
		c.prog.Documents++
		for field, v := range doc.Fields {
			ref, err := c.s.honour(doc.Key, field, v)
			if err != nil {
				kind := MalformedAttachment
				if err == errForeign {
					kind = ForeignReference
				}
				if err := c.emit(Finding{Kind: kind, Partition: doc.Key.Partition, Sort: doc.Key.Sort, Field: field,
					Detail: fmt.Sprintf("document %v field %q: %v", doc.Key, field, err)}); err != nil {
					return err
				}
				continue
			}
			if ref == nil {
				continue
			}
			batch = append(batch, reference{key: doc.Key, field: field, ref: ref})
		}
		if len(batch) >= c.o.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// maxCheckSegments bounds the segments of Check's document scan: each
// costs at least one request, even on an empty store.
const maxCheckSegments = 64

// scanSegments calls f with every stored document, as scanDocuments does,
// scanning segments parallel segments of the store at once (see
// driver.Query.TotalSegments), each page by page. f is called from the
// calling goroutine only, with the documents of one page after another,
// pages of different segments interleaved. The first error of f or of a
// query ends the scan and is returned.
func (s *Store) scanSegments(ctx context.Context, segments int, f func(*driver.Document) error) error {
	if segments <= 1 {
		return s.scanDocuments(ctx, f)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []*driver.Document)
	var (
		once    sync.Once
		scanErr error // set before pages is closed
	)
	fail := func(err error) { once.Do(func() { scanErr = err; cancel() }) }
	var wg sync.WaitGroup
	for seg := range segments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := &driver.Query{Segment: seg, TotalSegments: segments}
			for {
				page, err := s.drv.QueryDocuments(ctx, q)
				if err != nil {
					fail(err)
					return
				}
				if len(page.Documents) > 0 {
					select {
					case pages <- page.Documents:
					case <-ctx.Done():
						fail(ctx.Err())
						return
					}
				}
				if page.NextPageToken == "" {
					return
				}
				q.PageToken = page.NextPageToken
			}
		}()
	}
	go func() {
		wg.Wait()
		close(pages)
	}()
	var err error
	for docs := range pages {
		for _, doc := range docs {
			if err != nil {
				break
			}
			if err = f(doc); err != nil {
				cancel() // and drain pages until every scanner has stopped
			}
		}
	}
	if err != nil {
		return err
	}
	return scanErr
}

// checkBatch checks one batch of references, with one StatBlob per
// referenced payload, at most Concurrency at once.
func (c *checker) checkBatch(ctx context.Context, batch []reference) error {
	if len(batch) == 0 {
		return nil
	}
	defer c.progress()
	c.prog.References += len(batch)
	sizes := make([]int64, len(batch))
	errs := make([]error, len(batch))
	parallel(len(batch), 1, c.o.Concurrency, func(i, _ int) {
		r := batch[i]
		if r.ref.IsInline {
			return
		}
		info, err := c.s.drv.StatBlob(ctx, r.ref.Key)
		switch {
		case err == nil:
			sizes[i] = info.Size
		case c.s.errorCode(err) == NotFound:
			sizes[i] = -1
		default:
			errs[i] = err
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	want := make(map[string]int64, len(batch))
	for i, r := range batch {
		if !r.ref.IsInline {
			want[r.ref.Key] = sizes[i]
		}
	}
	for _, r := range batch {
		f := Finding{Partition: r.key.Partition, Sort: r.key.Sort, Field: r.field, PayloadKey: r.ref.Key}
		where := fmt.Sprintf("document %v field %q", r.key, r.field)
		if !r.ref.IsInline {
			switch size := want[r.ref.Key]; {
			case size < 0:
				f.Kind, f.Detail = DanglingReference, fmt.Sprintf("%s references missing payload %q", where, r.ref.Key)
			case size != r.ref.Size:
				f.Kind, f.Detail = SizeMismatch, fmt.Sprintf("%s: payload %q has %d bytes, %d recorded", where, r.ref.Key, size, r.ref.Size)
			}
		}
		if f.Kind == 0 && c.o.VerifyChecksums {
			b := &Blob{ref: r.ref, store: c.s, docKey: r.key, field: r.field}
			_, err := b.CopyTo(ctx, io.Discard)
			switch {
			case Code(err) == Corrupt:
				f.Kind, f.Detail = ChecksumMismatch, fmt.Sprintf("%s: %v", where, err)
			case Code(err) == NotFound:
				f.Kind, f.Detail = DanglingReference, fmt.Sprintf("%s references missing payload %q", where, r.ref.Key)
			case err != nil:
				return err
			}
		}
		if f.Kind != 0 {
			if err := c.emit(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// orphans reports payloads that no document references, reading the
// documents their keys name, a batch at a time (see orphanFinder).
func (c *checker) orphans(ctx context.Context) error {
	f := &orphanFinder{s: c.s, conc: c.o.Concurrency, batchSize: c.o.BatchSize}
	docs0 := c.prog.Documents
	var batch []candidate
	flush := func(final bool) error {
		orphans, _, err := f.orphans(ctx, batch, final)
		batch = batch[:0]
		if err != nil {
			return err
		}
		c.prog.Documents = docs0 + f.docs
		for _, o := range orphans {
			if err := c.emit(Finding{Kind: OrphanPayload, PayloadKey: o.key, Stored: o.mod,
				Detail: fmt.Sprintf("payload %q (stored %s) is referenced by no document", o.key, o.mod.UTC().Format(time.RFC3339))}); err != nil {
				return err
			}
		}
		c.progress()
		return nil
	}
	err := c.s.listPayloads(ctx, func(b driver.BlobInfo) error {
		c.prog.Payloads++
		if !c.s.isPayloadKey(b.Key) {
			return nil
		}
		batch = append(batch, candidate{key: b.Key, mod: b.ModTime})
		if len(batch)+len(f.fallback) >= c.o.BatchSize {
			return flush(false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush(true)
}

// listPayloads calls f with every object in the store's namespace.
func (s *Store) listPayloads(ctx context.Context, f func(driver.BlobInfo) error) error {
	return s.listPayloadsFrom(ctx, "", nil, f)
}

// listPayloadsFrom is listPayloads from the driver's page token, calling
// pageDone (if not nil) with the next page's token after each page.
func (s *Store) listPayloadsFrom(ctx context.Context, token string, pageDone func(next string) error, f func(driver.BlobInfo) error) error {
	for {
		page, err := s.drv.ListBlobs(ctx, s.ns, token)
		if err != nil {
			return err
		}
		for _, b := range page.Blobs {
			if err := f(b); err != nil {
				return err
			}
		}
		token = page.NextPageToken
		if pageDone != nil {
			if err := pageDone(token); err != nil {
				return err
			}
		}
		if token == "" {
			return nil
		}
	}
}

package docblob

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
)

// Why Sweep never deletes a referenced payload, even while writers run,
// is argued once, in the package documentation (doc.go, "Why Sweep is
// safe"), from the commit deadline that put.go enforces. Sweep's part: it
// fixes its cutoff before it reads any document, reads documents strongly
// consistently, and refuses a grace period shorter than CommitDeadline +
// WriteTimeout + 10 minutes. How it finds orphans in one pass is in
// doc.go, "Sweep and Check".

// SweepOptions configure Sweep.
type SweepOptions struct {
	// GracePeriod spares payloads stored less than this long ago, which may
	// belong to writes in progress. Default 24 hours; it must be at least
	// Options.CommitDeadline + Options.WriteTimeout + 10 minutes.
	GracePeriod time.Duration
	// DryRun finds orphans without deleting them.
	DryRun bool
	// BatchSize bounds how many candidate payloads are held in memory at
	// once (twice that, at worst, when many payload keys hold hashed key
	// parts; see the package documentation, Sweep and Check). It does not
	// change how much is read. Default 100,000.
	BatchSize int
	// Concurrency bounds the driver requests in flight: batched document
	// reads (up to 100 documents each) and batched payload deletes (up to
	// 1,000 payloads each). Default 8.
	Concurrency int
	// Progress, if not nil, is called with the counts so far after each
	// batch and at each page of the payload listing, from the goroutine
	// that called Sweep, so that a long sweep can be watched; its
	// SweepResult.Resume resumes the sweep if it is interrupted.
	Progress func(SweepResult)
	// Resume, if set, is a SweepResult.Resume from an earlier sweep of
	// this store: the sweep starts after the payloads that sweep had
	// finished with, instead of at the beginning.
	Resume string
}

// SweepResult counts what a sweep saw and did.
type SweepResult struct {
	Payloads   int // objects listed in the store's namespace
	Foreign    int // objects in the namespace that are not payload keys (its owner marker, say), left alone
	Young      int // payloads within the grace period, left alone
	Referenced int // old payloads that a document references
	Orphans    int // old payloads that no document references
	Deleted    int // orphans deleted (0 in a dry run)
	Failed     int // orphans whose deletion failed
	Documents  int // documents read
	// Resume, in the SweepResults given to SweepOptions.Progress, is a
	// token that resumes the sweep after every payload counted so far
	// (SweepOptions.Resume), or "" where the sweep cannot be resumed
	// exactly there yet. It is "" in the result Sweep returns.
	Resume string
}

// Sweep finds payloads that no document references, left by a crash, a
// failed clean-up or a document deleted behind the store's back (a
// DynamoDB TTL, another tool), and deletes those stored more than the
// grace period ago. It never deletes a payload that a committed document
// references, also while other writers run (see the package
// documentation, Why Sweep is safe). It is safe to run from several
// processes at once. It looks only inside the store's own namespace (see
// Store.Namespace), after checking that the namespace is the store's own;
// objects there whose keys are not payload keys are left alone. It lists
// every payload once and reads each document that has old payloads about
// once, whatever the BatchSize (see the package documentation, Sweep and
// Check). opts may be nil.
func (s *Store) Sweep(ctx context.Context, opts *SweepOptions) (_ *SweepResult, err error) {
	const op = "sweep"
	ctx, sp := s.startSpan(ctx, "Sweep")
	defer func() { sp.end(err) }()
	ctx, exit, err := s.enterLong(ctx, op)
	if err != nil {
		return nil, err
	}
	defer exit()
	var o SweepOptions
	if opts != nil {
		o = *opts
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = 24 * time.Hour
	}
	if min := s.opts.CommitDeadline + s.opts.WriteTimeout + 10*time.Minute; o.GracePeriod < min {
		return nil, errorf(InvalidArgument, op, noKey, "grace period %v is shorter than CommitDeadline + WriteTimeout + 10m = %v, so it could delete the payload of a write still in progress", o.GracePeriod, min)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100_000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if err := s.claimNamespace(ctx, op); err != nil {
		return nil, err
	}
	res := &SweepResult{}
	// The cutoff is fixed before any document is read: see Why Sweep is
	// safe.
	cutoff := s.opts.Now().Add(-o.GracePeriod)
	f := &orphanFinder{s: s, conc: o.Concurrency, batchSize: o.BatchSize}
	var batch []candidate
	handle := func(orphans []candidate, decided int) error {
		res.Documents = f.docs
		res.Orphans += len(orphans)
		res.Referenced += decided - len(orphans)
		if !o.DryRun {
			if err := s.deleteOrphans(ctx, op, orphans, o.Concurrency, res); err != nil {
				return err
			}
		}
		return nil
	}
	flush := func(final bool) error {
		orphans, decided, err := f.orphans(ctx, batch, final)
		batch = batch[:0]
		if err != nil {
			return err
		}
		return handle(orphans, decided)
	}
	report := func() {
		if o.Progress != nil {
			o.Progress(*res)
		}
	}
	start, err := s.resumeToken(o.Resume)
	if err != nil {
		return nil, err
	}
	// With a Progress callback, each page of the listing ends a batch, so
	// that every page boundary where no hashed-key payload is pending is a
	// point to resume from.
	pageDone := func(next string) error {
		if o.Progress == nil || next == "" {
			return nil
		}
		if err := flush(false); err != nil {
			return err
		}
		res.Resume = ""
		if len(f.fallback) == 0 {
			res.Resume = s.sweepToken(next)
		}
		report()
		return nil
	}
	err = s.listPayloadsFrom(ctx, start, pageDone, func(b driver.BlobInfo) error {
		res.Payloads++
		switch {
		case !s.isPayloadKey(b.Key):
			res.Foreign++
		case !b.ModTime.Before(cutoff):
			res.Young++
		default:
			batch = append(batch, candidate{key: b.Key, mod: b.ModTime})
			if len(batch)+len(f.fallback) >= o.BatchSize {
				if err := flush(false); err != nil {
					return err
				}
				res.Resume = ""
				report()
			}
		}
		return nil
	})
	if err == nil {
		err = flush(true)
	}
	res.Documents = f.docs
	res.Resume = ""
	if err == nil {
		report()
	}
	if err != nil {
		return res, s.wrap(op, noKey, err)
	}
	return res, nil
}

// deleteOrphans deletes payloads in batches of driver.MaxDeleteBlobs, at
// most conc batches at once, counting what it did in res.
func (s *Store) deleteOrphans(ctx context.Context, op string, orphans []candidate, conc int, res *SweepResult) error {
	keys := make([]string, len(orphans))
	for i, c := range orphans {
		keys[i] = c.key
	}
	errs := make([]error, len(keys))
	parallel(len(keys), driver.MaxDeleteBlobs, conc, func(lo, hi int) {
		copy(errs[lo:hi], s.drv.DeleteBlobs(ctx, keys[lo:hi]))
	})
	for i, err := range errs {
		if err == nil {
			res.Deleted++
			continue
		}
		if c := contextErr(err); c != nil {
			return c
		}
		res.Failed++
		s.reportCleanup(ctx, s.cleanupError(op, noKey, keys[i], err))
	}
	return nil
}

// parallel calls f for each chunk [lo, hi) of size (the last one
// shorter) of [0, n), at most conc at once, and returns when all are done.
func parallel(n, size, conc int, f func(lo, hi int)) {
	if n <= size {
		if n > 0 {
			f(0, n)
		}
		return
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// candidate is a listed payload that may be an orphan.
type candidate struct {
	key string
	mod time.Time
}

// orphanFinder tells which listed payloads no document references. The
// payloads come in key order, a batch at a time; each payload key names
// the document whose sub-namespace holds it (payloadOwner), and only that
// document may reference it (see Ownership), so the finder reads just
// those documents, each once per batch and once overall unless its
// payloads span batches: it keeps the last document it read for the next
// batch. Payloads whose keys hold a hashed key part cannot name their
// document: they wait in fallback, and are checked against a scan of
// every document once fallback holds a batch (or at the end).
type orphanFinder struct {
	s         *Store
	conc      int
	batchSize int

	last     driver.Key
	lastRefs []string // the payloads that the document last read references
	haveLast bool

	fallback []candidate
	docs     int // documents read
}

// orphans returns the candidates of batch, and of fallback if it holds
// half a batch or final is set, that no document references, and how many
// candidates it decided (the rest wait in fallback).
func (f *orphanFinder) orphans(ctx context.Context, batch []candidate, final bool) (orphans []candidate, decided int, err error) {
	var named []driver.Key // distinct documents to read, in order
	owners := make([]driver.Key, len(batch))
	for i, c := range batch {
		k, ok := f.s.payloadOwner(c.key)
		if !ok {
			f.fallback = append(f.fallback, c)
			continue
		}
		owners[i] = k
		if (len(named) == 0 || named[len(named)-1] != k) && !(f.haveLast && k == f.last) {
			named = append(named, k)
		}
	}
	refs, err := f.read(ctx, named)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := refs[f.last]; f.haveLast && !ok {
		refs[f.last] = f.lastRefs
	}
	for i, c := range batch {
		k := owners[i]
		if k == (driver.Key{}) {
			continue // in fallback
		}
		decided++
		f.last, f.lastRefs, f.haveLast = k, refs[k], true
		if !slices.Contains(refs[k], c.key) {
			orphans = append(orphans, c)
		}
	}
	if len(f.fallback) > 0 && (final || len(f.fallback) >= f.batchSize/2) {
		more, err := f.scan(ctx)
		if err != nil {
			return nil, 0, err
		}
		decided += len(f.fallback)
		orphans = append(orphans, more...)
		f.fallback = f.fallback[:0]
	}
	return orphans, decided, nil
}

// read reads the documents with the keys, in batches of
// driver.MaxGetDocuments, at most f.conc batches at once, and returns the
// payloads each references (a missing document references none).
func (f *orphanFinder) read(ctx context.Context, keys []driver.Key) (map[driver.Key][]string, error) {
	docs, err := f.s.readDocuments(ctx, keys, f.conc)
	f.docs += len(keys)
	if err != nil {
		return nil, err
	}
	refs := make(map[driver.Key][]string, len(keys))
	for i, k := range keys {
		if docs[i] != nil {
			refs[k] = f.s.references(k, docs[i].Fields)
		} else {
			refs[k] = nil
		}
	}
	return refs, nil
}

// scan returns the fallback candidates that no document references,
// scanning every document once.
func (f *orphanFinder) scan(ctx context.Context) ([]candidate, error) {
	left := make(map[string]bool, len(f.fallback))
	for _, c := range f.fallback {
		left[c.key] = true
	}
	n, err := f.s.scanReferences(ctx, func(key string) { delete(left, key) })
	f.docs += n
	if err != nil {
		return nil, err
	}
	var orphans []candidate
	for _, c := range f.fallback {
		if left[c.key] {
			orphans = append(orphans, c)
		}
	}
	return orphans, nil
}

// readDocuments reads the documents with the keys, in batches of
// driver.MaxGetDocuments, at most conc batches at once: docs[i] is the
// document with keys[i], or nil if there is none. Any other failure is
// returned.
func (s *Store) readDocuments(ctx context.Context, keys []driver.Key, conc int) ([]*driver.Document, error) {
	docs, errs := s.getDocuments(ctx, keys, conc)
	for i, err := range errs {
		if err != nil && s.errorCode(err) != NotFound {
			return nil, err
		}
		if err != nil {
			docs[i] = nil
		}
	}
	return docs, nil
}

// getDocuments calls the driver's GetDocuments on batches of keys, at most
// conc at once, and returns its answers for every key.
func (s *Store) getDocuments(ctx context.Context, keys []driver.Key, conc int) ([]*driver.Document, []error) {
	docs, errs := make([]*driver.Document, len(keys)), make([]error, len(keys))
	parallel(len(keys), driver.MaxGetDocuments, conc, func(lo, hi int) {
		d, e := s.drv.GetDocuments(ctx, keys[lo:hi])
		copy(docs[lo:hi], d)
		copy(errs[lo:hi], e)
	})
	return docs, errs
}

// scanReferences calls f with the storage key of every payload that a
// document references, and returns the number of documents read.
func (s *Store) scanReferences(ctx context.Context, f func(key string)) (int, error) {
	n := 0
	err := s.scanDocuments(ctx, func(doc *driver.Document) error {
		n++
		for _, k := range s.references(doc.Key, doc.Fields) {
			f(k)
		}
		return nil
	})
	return n, err
}

// scanDocuments calls f with every stored document, a page at a time.
func (s *Store) scanDocuments(ctx context.Context, f func(*driver.Document) error) error {
	q := &driver.Query{}
	for {
		page, err := s.drv.QueryDocuments(ctx, q)
		if err != nil {
			return err
		}
		for _, doc := range page.Documents {
			if err := f(doc); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		q.PageToken = page.NextPageToken
	}
}

// isID reports whether s is an id made by newID.
func isID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}

// sweepTokenPrefix starts every sweep resume token, naming its format.
const sweepTokenPrefix = "sw1."

// sweepToken makes the resume token of a sweep whose listing continues at
// the driver's page token next.
func (s *Store) sweepToken(next string) string {
	raw, _ := json.Marshal(sweepToken{Namespace: s.ns, Page: next})
	return sweepTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// sweepToken is the content of a sweep resume token.
type sweepToken struct {
	Namespace string `json:"ns"`
	Page      string `json:"p"`
}

// resumeToken returns the driver's page token that a sweep resume token
// names, or "" for none.
func (s *Store) resumeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	var t sweepToken
	raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(token, sweepTokenPrefix))
	if err == nil && strings.HasPrefix(token, sweepTokenPrefix) {
		err = json.Unmarshal(raw, &t)
	} else if err == nil {
		err = errors.New("no format prefix")
	}
	switch {
	case err != nil || t.Page == "":
		return "", errorf(InvalidArgument, "sweep", noKey, "malformed resume token")
	case t.Namespace != s.ns:
		return "", errorf(InvalidArgument, "sweep", noKey, "the resume token belongs to a sweep of namespace %q, not %q", t.Namespace, s.ns)
	}
	return t.Page, nil
}

package docblob

import (
	"context"
	"sync"

	"github.com/docblob/docblob/driver"
)

// BatchOptions configure GetMany and DeleteMany.
type BatchOptions struct {
	// Concurrency bounds the driver requests in flight: batched reads of
	// up to 100 documents (GetMany), single document deletes and batched
	// payload deletes of up to 1,000 payloads (DeleteMany). Default 8.
	Concurrency int
}

func (o *BatchOptions) concurrency() int {
	if o == nil || o.Concurrency <= 0 {
		return 8
	}
	return o.Concurrency
}

// GetMany reads the documents whose key fields are set in docs (each a
// pointer to a struct or a map[string]any, as for Get) and decodes each
// into its element, reading up to 100 documents per request (DynamoDB
// BatchGetItem, strongly consistent) with at most opts.Concurrency
// requests in flight. It returns one error per element of docs, in order:
// nil for a document read, an error with code NotFound for a missing one,
// and otherwise what Get would return; errors.Join(errs...) is nil if all
// were read. Like Get, it never downloads payloads. opts may be nil.
func (s *Store) GetMany(ctx context.Context, docs []any, opts *BatchOptions) (errs []error) {
	const op = "get many"
	ctx, sp := s.startSpan(ctx, "GetMany")
	defer func() { sp.end(firstError(errs)) }()
	errs = make([]error, len(docs))
	exit, err := s.enter(op)
	if err != nil {
		return fill(errs, err)
	}
	defer exit()
	if err := ctx.Err(); err != nil {
		return fill(errs, err)
	}
	ds := make([]*document, len(docs))
	var keys []driver.Key
	var at []int
	for i, doc := range docs {
		if ds[i], errs[i] = s.locate(op, doc); errs[i] == nil {
			keys = append(keys, ds[i].key)
			at = append(at, i)
		}
	}
	got, gerrs := s.getDocuments(ctx, keys, opts.concurrency())
	for j, i := range at {
		switch {
		case gerrs[j] != nil:
			if c := contextErr(gerrs[j]); c != nil {
				errs[i] = c
			} else {
				errs[i] = s.wrap(op, ds[i].key, gerrs[j])
			}
		default:
			if err := s.decodeInto(ds[i], got[j]); err != nil {
				errs[i] = newError(InvalidArgument, op, ds[i].key, err)
			}
		}
	}
	return errs
}

// DeleteMany deletes the documents whose key fields are set in docs, each
// as Delete would (conditionally on its revision field if not nil, each
// learning atomically what it removed), at most opts.Concurrency at once,
// then deletes the payloads they referenced in batches of up to 1,000 (S3
// DeleteObjects). It returns one error per element of docs, in order (nil
// for a document deleted, or missing without a revision). As with Delete,
// a payload that cannot be deleted is reported to Options.OnCleanupError
// and left to Sweep, and does not fail its document. opts may be nil.
func (s *Store) DeleteMany(ctx context.Context, docs []any, opts *BatchOptions) (errs []error) {
	const op = "delete many"
	ctx, sp := s.startSpan(ctx, "DeleteMany")
	defer func() { sp.end(firstError(errs)) }()
	errs = make([]error, len(docs))
	exit, err := s.enter(op)
	if err != nil {
		return fill(errs, err)
	}
	defer exit()
	if err := ctx.Err(); err != nil {
		return fill(errs, err)
	}
	ds := make([]*document, len(docs))
	for i, doc := range docs {
		ds[i], errs[i] = s.locate(op, doc)
	}
	var (
		mu       sync.Mutex
		payloads []string
		owners   []driver.Key
	)
	parallel(len(docs), 1, opts.concurrency(), func(i, _ int) {
		d := ds[i]
		if d == nil {
			return
		}
		cond := driver.Condition{Kind: driver.Always}
		if d.rev != "" {
			cond = matchRevision(d.rev)
		}
		prev, err := s.drv.DeleteDocument(ctx, d.key, cond)
		if err != nil {
			if c := contextErr(err); c != nil {
				errs[i] = c
			} else {
				errs[i] = s.wrap(op, d.key, err)
			}
			return
		}
		if prev != nil {
			keys := s.releasable(d.key, prev.Fields)
			mu.Lock()
			payloads = append(payloads, keys...)
			for range keys {
				owners = append(owners, d.key)
			}
			mu.Unlock()
		}
	})
	if len(payloads) == 0 {
		return errs
	}
	cctx, cancel := s.cleanupContext(ctx)
	defer cancel()
	perrs := make([]error, len(payloads))
	parallel(len(payloads), driver.MaxDeleteBlobs, opts.concurrency(), func(lo, hi int) {
		copy(perrs[lo:hi], s.drv.DeleteBlobs(cctx, payloads[lo:hi]))
	})
	for i, err := range perrs {
		if err != nil {
			s.reportCleanup(ctx, s.cleanupError(op, owners[i], payloads[i], err))
		}
	}
	return errs
}

// firstError returns the first non-nil error of errs, which gives a
// batch's span and metrics their code.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fill sets every element of errs to err and returns errs.
func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

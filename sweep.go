package docblob

import (
	"context"
	"fmt"
	"time"

	"github.com/docblob/docblob/driver"
)

// Why Sweep never deletes a referenced payload, even while writers run,
// is argued once, in the package documentation (doc.go, "Why Sweep is
// safe"), from the commit deadline that put.go enforces. Sweep's part: it
// lists payloads before it reads the documents, and it refuses a grace
// period shorter than CommitDeadline + WriteTimeout + 10 minutes.

// SweepOptions configure Sweep.
type SweepOptions struct {
	// GracePeriod spares payloads stored less than this long ago, which may
	// belong to writes in progress. Default 24 hours; it must be at least
	// Options.CommitDeadline + Options.WriteTimeout + 10 minutes.
	GracePeriod time.Duration
	// DryRun finds orphans without deleting them.
	DryRun bool
	// BatchSize bounds how many candidate payloads are held in memory at
	// once. Default 100,000.
	BatchSize int
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
	Documents  int // documents read, over all batches
}

// Sweep finds payloads that no document references, left by a crash or a
// failed clean-up, and deletes those stored more than the grace period
// ago. It never deletes a payload that a committed document references,
// also while other writers run (see the package documentation, Why Sweep
// is safe). It is safe to run from several processes at once. It looks
// only inside the store's own namespace (see Store.Namespace), after
// checking that the namespace is the store's own; objects there whose keys
// are not payload keys are left alone.
// opts may be nil.
func (s *Store) Sweep(ctx context.Context, opts *SweepOptions) (*SweepResult, error) {
	const op = "sweep"
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
	if err := s.claimNamespace(ctx, op); err != nil {
		return nil, err
	}
	res := &SweepResult{}
	cutoff := s.opts.Now().Add(-o.GracePeriod)
	batch := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := s.scanReferences(ctx, func(key string) {
			if batch[key] {
				delete(batch, key)
				res.Referenced++
			}
		})
		res.Documents += n
		if err != nil {
			return err
		}
		res.Orphans += len(batch)
		for key := range batch {
			if o.DryRun {
				break
			}
			if err := s.drv.DeleteBlob(ctx, key); err != nil {
				if c := contextErr(err); c != nil {
					return c
				}
				res.Failed++
				s.opts.OnCleanupError(fmt.Errorf("%w (payload %q)", s.wrap(op, noKey, err), key))
				continue
			}
			res.Deleted++
		}
		clear(batch)
		return nil
	}
	err = s.listPayloads(ctx, func(b driver.BlobInfo) error {
		res.Payloads++
		switch {
		case !s.isPayloadKey(b.Key):
			res.Foreign++
		case !b.ModTime.Before(cutoff):
			res.Young++
		default:
			batch[b.Key] = true
			if len(batch) >= o.BatchSize {
				return flush()
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return res, s.wrap(op, noKey, err)
	}
	return res, nil
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

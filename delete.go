package docblob

import (
	"context"

	"github.com/docblob/docblob/driver"
)

// Delete removes the document whose key fields are set in doc, then the
// payloads it referenced, learned atomically with the delete. If doc has a
// non-nil revision field, the delete succeeds only if the stored document
// has that revision (code FailedPrecondition otherwise, also if it is
// missing). Without a revision, deleting a missing document is not an
// error. A payload that cannot be deleted after the document is gone does
// not fail the call: it is reported (Options.OnCleanupError) and left to
// Sweep.
func (s *Store) Delete(ctx context.Context, doc any) (err error) {
	const op = "delete"
	ctx, sp := s.startSpan(ctx, "Delete")
	defer func() { sp.end(err) }()
	exit, err := s.enter(op)
	if err != nil {
		return err
	}
	defer exit()
	if err := ctx.Err(); err != nil {
		return err
	}
	var d document // on the stack: Delete keeps nothing of it
	if err := s.locateInto(&d, op, doc); err != nil {
		return err
	}
	cond := driver.Condition{Kind: driver.Always}
	if d.rev != "" {
		cond = matchRevision(d.rev)
	}
	prev, err := s.drv.DeleteDocument(ctx, d.key, cond)
	if err != nil {
		return s.wrap(op, d.key, err)
	}
	if prev != nil {
		s.deletePayloads(ctx, op, d.key, s.releasable(d.key, prev.Fields))
	}
	return nil
}

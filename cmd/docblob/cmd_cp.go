package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/docblob/docblob"
)

// The statuses of a document in cp's results.
const (
	statusCopied   = "copied"   // new in the destination
	statusUpdated  = "updated"  // the destination had another version
	statusSkipped  = "skipped"  // the destination already had the same document and payloads
	statusVanished = "vanished" // deleted from the source since it was listed: nothing done
	statusFailed   = "failed"
)

// copyLine is one of cp's JSON results: one per document.
type copyLine struct {
	Type        string `json:"type"` // "copy"
	Partition   string `json:"partition"`
	Sort        string `json:"sort"`
	Status      string `json:"status"`      // copied, updated, skipped, vanished, failed
	Attachments int    `json:"attachments"` // payloads transferred
	Bytes       int64  `json:"bytes"`       // payload bytes transferred
	Code        string `json:"code"`        // failed: the error's code, as in error lines
	Error       string `json:"error"`       // failed: the error
}

// copySummaryLine is cp's last JSON result.
type copySummaryLine struct {
	Type           string  `json:"type"` // "copy_summary"
	Documents      int64   `json:"documents"`
	Copied         int64   `json:"copied"`
	Updated        int64   `json:"updated"`
	Skipped        int64   `json:"skipped"`
	Vanished       int64   `json:"vanished"`
	Failed         int64   `json:"failed"`
	Attachments    int64   `json:"attachments"`
	Bytes          int64   `json:"bytes"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	Complete       bool    `json:"complete"` // every listed document is in the destination
}

// cpCommand copies documents and their payloads between stores.
func (a *app) cpCommand() *cobra.Command {
	var (
		partition   string
		concurrency int
		verbose     bool
	)
	cmd := &cobra.Command{
		Use:   "cp SRC_URL DST_URL [--partition P]",
		Short: "Copy or migrate a whole store (or one partition) into another, payloads verified",
		Long: `cp copies every document of the store SRC_URL (or of its partition P) into the
store DST_URL, with its fields and attachments. Payloads are streamed from
the source, checked against the SHA-256 and size the source records as they
are read, and checked again as the destination stores them.

cp is resumable: a document that the destination already holds with the
same fields and the same payloads (same SHA-256, size, name, content type
and metadata) is skipped, and an attachment that already matches is kept
rather than copied again. Re-run an interrupted or failed cp to finish it.
Documents of the destination that the source lacks are left alone.

Each write is conditioned on what cp read from the destination, so a
concurrent writer's change is never overwritten (the document fails, exit
code 5; run cp again). cp goes on past documents that fail, and exits with
the code of the first failure.`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("cp takes SRC_URL DST_URL; got %d arguments", len(args))
			}
			if concurrency < 1 {
				return usagef("cp: --concurrency must be at least 1")
			}
			src, ssi, err := openURL(ctx, args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			dst, dsi, err := openURL(ctx, args[1])
			if err != nil {
				return err
			}
			defer dst.Close()
			if ssi.hasSort() != dsi.hasSort() {
				return codedf(docblob.InvalidArgument, nil, "copy into a store with the same key schema (sort_key= makes a partition-only file:// or mem:// store; no_sort_key=true an s3dynamo one)",
					"cannot copy: the source's documents %s, the destination's %s", keySchema(ssi), keySchema(dsi))
			}
			c := &copier{a: a, src: src, dst: dst, ssi: ssi, dsi: dsi, verbose: verbose}
			return c.run(ctx, partition, concurrency)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&partition, "partition", "", "copy only the documents of partition `P`")
	f.IntVar(&concurrency, "concurrency", 8, "documents copied at the same time")
	f.BoolVarP(&verbose, "verbose", "v", false, "print a line per document (--json always does)")
	return cmd
}

// keySchema describes a store's keys for messages.
func keySchema(si storeInfo) string {
	if si.hasSort() {
		return fmt.Sprintf("have sort keys (%q, %q)", si.pk, si.sk)
	}
	return fmt.Sprintf("have a partition key only (%q)", si.pk)
}

// copier runs one cp.
type copier struct {
	a        *app
	src, dst *docblob.Store
	ssi, dsi storeInfo
	verbose  bool
	t        *task

	copied, updated, skipped, vanished, failed, attachments atomic.Int64
}

// listAhead is how many listed documents may wait for a worker: their
// keys are held in memory (about 100 bytes each).
const listAhead = 1 << 16

// copyJob is a document to copy, with the estimated size of its payloads.
type copyJob struct {
	key  docblob.Key
	size int64
}

// run lists the source's documents and copies them with n workers.
//
// An interrupt (ctx done) stops the listing and the start of new
// documents, and lets the documents in flight finish, so that an
// interrupted cp leaves nothing for Sweep; a second interrupt ends the
// process at once (see run in main.go).
func (c *copier) run(ctx context.Context, partition string, n int) error {
	c.t = c.a.startTask("cp", kindCopy, 0)
	c.t.totalDocs.Store(0)
	// work is the context of the documents' copies: not cancelled by an
	// interrupt, only by a failure that ends the whole cp.
	work, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stopNotice := context.AfterFunc(ctx, func() {
		if !c.a.quiet {
			c.t.logf("docblob cp: interrupted: finishing the documents in flight (at most %d); interrupt again to stop at once", n)
		}
	})
	defer stopNotice()

	// The listing runs ahead of the copies, up to listAhead documents, so
	// that the progress display knows the total (and the ETA) early.
	jobs := make(chan copyJob, listAhead)
	results := make(chan copyResult, 4*n)
	var listErr error
	go func() {
		defer close(jobs)
		listErr = c.list(ctx, partition, func(j copyJob) error {
			c.t.totalDocs.Add(1)
			c.t.totalBytes.Add(j.size)
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-work.Done():
				return work.Err()
			}
		})
	}()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil || work.Err() != nil {
					continue // interrupted before it started: the next run copies it
				}
				results <- c.copyOne(work, j)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var firstErr error
	for r := range results {
		c.t.docs.Add(1)
		if r.Status == statusFailed {
			if firstErr == nil {
				firstErr = r.err
			}
			if !c.a.json {
				c.t.logf("docblob cp: %v: %v", r.key, r.err)
			}
		}
		if c.a.json {
			if err := c.a.emit(r.copyLine); err != nil && firstErr == nil {
				abort()
				firstErr = err
			}
		} else if c.verbose {
			c.t.result(c.a, r.text())
		}
	}
	// The listing's goroutine has finished: jobs is closed and drained.
	listFailed := listErr != nil && !errors.Is(listErr, context.Canceled)
	var err error
	switch {
	case ctx.Err() != nil:
		err = context.Canceled
	case listFailed:
		err = listErr
	case firstErr != nil:
		err = firstErr
	}
	c.t.finish(err)
	if perr := c.summary(err == nil); perr != nil && err == nil {
		return perr
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return &cliError{err: err, msg: fmt.Sprintf("interrupted after %d of the %s listed",
			c.t.docs.Load(), plural(c.t.totalDocs.Load(), "document")),
			hint: "run the same cp again: it skips what is already copied, and finishes the rest"}
	case listFailed:
		// The listing's error carries its own advice.
		return &cliError{err: err, msg: fmt.Sprintf("listing the source failed after %s: %v",
			plural(c.t.totalDocs.Load(), "document"), err)}
	}
	return &cliError{err: err, msg: fmt.Sprintf("%s of %s failed; the first: %v",
		plural(c.failed.Load(), "document"), plural(c.t.docs.Load(), "document"), err),
		hint: "fix the cause and run the same cp again: it skips what is already copied"}
}

// list calls f with every document to copy: those of a partition, through
// the Store's query, or of the whole store, through the driver's scan.
func (c *copier) list(ctx context.Context, partition string, f func(copyJob) error) error {
	if partition == "" {
		return scanKeys(ctx, c.ssi, func(k docblob.Key, size int64) error {
			return f(copyJob{key: k, size: size})
		})
	}
	for m, err := range docblob.All[map[string]any](ctx, c.src, &docblob.Query{Partition: partition}) {
		if err != nil {
			return err
		}
		d := c.ssi.splitDoc(*m)
		var size int64
		for _, b := range d.attachments {
			size += b.Size()
		}
		if err := f(copyJob{key: d.key, size: size}); err != nil {
			return err
		}
	}
	return nil
}

// copyResult is the result of one document.
type copyResult struct {
	copyLine
	key docblob.Key
	err error
}

// text is the result's line in cp --verbose.
func (r copyResult) text() string {
	switch r.Status {
	case statusFailed:
		return fmt.Sprintf("failed   %v: %v\n", r.key, r.err)
	case statusSkipped, statusVanished:
		return fmt.Sprintf("%-8s %v\n", r.Status, r.key)
	}
	return fmt.Sprintf("%-8s %v: %s, %s\n", r.Status, r.key, plural(int64(r.Attachments), "payload"), humanBytes(r.Bytes))
}

// copyOne copies one document, unless the destination already has it.
func (c *copier) copyOne(ctx context.Context, j copyJob) (res copyResult) {
	k := j.key
	res = copyResult{copyLine: copyLine{Type: "copy", Partition: k.Partition, Sort: k.Sort}, key: k}
	var moved atomic.Int64 // payload bytes read from the source for this document
	defer func() {
		// The document's share of the total becomes what it really moved.
		c.t.totalBytes.Add(moved.Load() - j.size)
		res.Bytes = moved.Load()
		if res.err != nil {
			res.Status = statusFailed
			_, res.Code = classify(res.err)
			res.Error = res.err.Error()
		}
		switch res.Status {
		case statusCopied:
			c.copied.Add(1)
		case statusUpdated:
			c.updated.Add(1)
		case statusSkipped:
			c.skipped.Add(1)
		case statusVanished:
			c.vanished.Add(1)
		case statusFailed:
			c.failed.Add(1)
		}
	}()

	sm := c.ssi.docFor(k)
	if err := c.src.Get(ctx, sm); err != nil {
		if docblob.Code(err) == docblob.NotFound {
			res.Status = statusVanished
			return res
		}
		res.err = err
		return res
	}
	sd := c.ssi.splitDoc(sm)
	for _, n := range []string{c.dsi.pk, c.dsi.sk, c.dsi.revision} {
		if _, clash := sd.fields[n]; clash && n != "" {
			res.err = codedf(docblob.InvalidArgument, &k, "copy into a store whose key and revision attributes are not field names of the source's documents",
				"document %v has a field %q, which is a key or revision attribute in the destination", k, n)
			return res
		}
	}
	dd, err := c.dsi.getDoc(ctx, c.dst, k)
	switch {
	case err == nil:
	case docblob.Code(err) == docblob.NotFound:
		dd = nil
	default:
		res.err = err
		return res
	}
	if dd != nil && sameDocument(sd, dd) {
		res.Status = statusSkipped
		return res
	}

	out := c.dsi.docFor(k)
	for n, v := range sd.fields {
		out[n] = v
	}
	for n, b := range sd.attachments {
		if dd != nil {
			if db, ok := dd.attachments[n]; ok && sameBlob(b, db) {
				out[n] = db // already there: kept, not copied again
				continue
			}
		}
		if _, sum := b.Checksum(); sum == "" {
			res.err = codedf(docblob.Corrupt, &k, "run `docblob check` on the source", "document %v: attachment %q records no checksum", k, n)
			return res
		}
		// A stored blob of another store is copied by Put as it writes
		// the document, one attachment at a time: streamed through the
		// verified reader of Blob.Open, and checked again against the
		// recorded size and SHA-256 as the destination stores it.
		out[n] = b.WithProgress(c.t.counter(&moved))
		res.Attachments++
	}
	if dd != nil {
		out[c.dsi.revision] = dd.revision
		err = c.dst.Put(ctx, out)
		res.Status = statusUpdated
	} else {
		err = c.dst.Create(ctx, out)
		res.Status = statusCopied
	}
	if err != nil {
		res.err = err
		return res
	}
	c.attachments.Add(int64(res.Attachments))
	return res
}

// sameDocument reports whether the destination's document d is a copy of
// the source's s: the same fields, and attachments with the same payloads.
func sameDocument(s, d *document) bool {
	if len(s.attachments) != len(d.attachments) || !reflect.DeepEqual(s.fields, d.fields) {
		return false
	}
	for n, b := range s.attachments {
		db, ok := d.attachments[n]
		if !ok || !sameBlob(b, db) {
			return false
		}
	}
	return true
}

// sameBlob reports whether two attachments hold the same payload with the
// same metadata: the same checksum, of the same algorithm. Attachments
// recorded with different algorithms (stores with different
// Options.Checksum) are never taken for the same, so cp copies them.
func sameBlob(a, b *docblob.Blob) bool {
	algA, sumA := a.Checksum()
	algB, sumB := b.Checksum()
	return algA == algB && sumA == sumB && sumA != "" && a.Size() == b.Size() && a.Name() == b.Name() &&
		a.ContentType() == b.ContentType() && maps.Equal(a.Metadata(), b.Metadata())
}

// summary prints cp's summary.
func (c *copier) summary(complete bool) error {
	st := c.t.status(true)
	elapsed, n, rate := st.elapsed, st.bytes, st.bytesPerSecond
	if c.a.json {
		return c.a.emit(copySummaryLine{Type: "copy_summary", Documents: c.t.docs.Load(), Copied: c.copied.Load(),
			Updated: c.updated.Load(), Skipped: c.skipped.Load(), Vanished: c.vanished.Load(), Failed: c.failed.Load(),
			Attachments: c.attachments.Load(), Bytes: n, ElapsedSeconds: elapsed.Seconds(), BytesPerSecond: rate, Complete: complete})
	}
	c.a.printf("cp: %s: %d copied, %d updated, %d unchanged, %d failed%s; %s of payloads (%s) in %s, %s/s\n",
		plural(c.t.docs.Load(), "document"), c.copied.Load(), c.updated.Load(), c.skipped.Load(), c.failed.Load(),
		vanishedNote(c.vanished.Load()), humanBytes(n), plural(c.attachments.Load(), "payload"), humanDuration(elapsed), humanBytes(int64(rate)))
	return nil
}

// vanishedNote mentions, in cp's summary, documents deleted from the
// source while cp ran.
func vanishedNote(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d deleted from the source meanwhile", n)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// lsCommand lists the documents of a partition.
func (a *app) lsCommand() *cobra.Command {
	var (
		prefix  string
		between []string
		desc    bool
		limit   int
		all     bool
	)
	cmd := &cobra.Command{
		Use:   "ls PARTITION [--prefix P | --between A B] [--desc] [--limit N]",
		Short: "List the documents of a partition (or of the whole store with --all)",
		Long: `ls lists the documents of a partition in sort key order, with the size and
names of their attachments; --json prints one "document" object per line, as
stat does. --prefix and --between A B (both ends included) restrict the sort
key; --desc lists in descending order; --limit N stops after N documents.

ls --all lists every document of the store, in no particular order (a full
scan: on DynamoDB it reads the whole table).`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if prefix != "" && len(between) > 0 {
				return usagef("ls: give --prefix or --between, not both")
			}
			if len(between) != 0 && len(between) != 2 {
				return usagef("ls: --between takes two values, the first and last sort key (both included)")
			}
			if limit < 0 {
				return usagef("ls: --limit must not be negative")
			}
			if all && len(args) != 0 {
				return usagef("ls --all takes no PARTITION")
			}
			if !all && len(args) != 1 {
				return usagef("ls takes one PARTITION (or --all); got %d arguments", len(args))
			}
			if all && (prefix != "" || len(between) > 0 || desc) {
				return usagef("ls --all lists in no particular order: --prefix, --between and --desc need a PARTITION")
			}
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			if !si.hasSort() && (prefix != "" || len(between) > 0) {
				return usagef("ls: --prefix and --between select sort keys, and this store's documents have none")
			}
			out := a.newLister(si, all)
			defer out.flush()
			if all {
				return a.lsAll(ctx, store, si, limit, out)
			}
			q := &docblob.Query{Partition: args[0], Descending: desc, Limit: limit}
			switch {
			case prefix != "":
				q.Sort = docblob.SortPrefix(prefix)
			case len(between) == 2:
				q.Sort = docblob.SortBetween(between[0], between[1])
			}
			for m, err := range docblob.All[map[string]any](ctx, store, q) {
				if err != nil {
					return err
				}
				if err := out.add(si.splitDoc(*m)); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&prefix, "prefix", "", "list the documents whose sort key starts with `P`")
	f.StringArrayVar(&between, "between", nil, "list the documents whose sort key is between `A B`, both included")
	f.BoolVar(&desc, "desc", false, "list in descending sort key order")
	f.IntVar(&limit, "limit", 0, "list at most `N` documents (0: all)")
	f.BoolVar(&all, "all", false, "list every document of the store (a full scan, in no particular order)")
	return cmd
}

// lsAll lists every document of the store: the driver's scan names them,
// and each is read through the Store so that its attachments decode.
func (a *app) lsAll(ctx context.Context, store *docblob.Store, si storeInfo, limit int, out *lister) error {
	n := 0
	return scanKeys(ctx, si, func(k docblob.Key, _ int64) error {
		if limit > 0 && n >= limit {
			return errStopScan
		}
		d, err := si.getDoc(ctx, store, k)
		if docblob.Code(err) == docblob.NotFound {
			return nil // deleted since the scan saw it
		}
		if err != nil {
			return err
		}
		n++
		return out.add(d)
	})
}

// errStopScan stops scanKeys early without an error.
var errStopScan = errors.New("stop scan")

// scanKeys calls f with the key of every document of the store, and an
// estimate of the bytes of its attachments (for progress only), a page at
// a time. The Store has no scan of its own: this uses the driver's
// QueryDocuments with an empty partition, which scans every document.
func scanKeys(ctx context.Context, si storeInfo, f func(k docblob.Key, size int64) error) error {
	if si.drv == nil {
		return codedf(docblob.Unimplemented, nil, "", "this store does not expose its driver, so its documents cannot be listed")
	}
	q := &driver.Query{}
	for {
		page, err := si.drv.QueryDocuments(ctx, q)
		if err != nil {
			if c := ctx.Err(); c != nil {
				return c
			}
			code := driver.Classify(si.drv, err)
			return &cliError{exit: exitCodes[code], err: &codeError{code: code, msg: fmt.Sprintf("scanning the documents of %s: %s: %v", si.url, code, err)},
				hint: advice("", code)}
		}
		for _, doc := range page.Documents {
			if err := f(doc.Key, payloadBytes(doc.Fields)); err != nil {
				if errors.Is(err, errStopScan) {
					return nil
				}
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		q.PageToken = page.NextPageToken
	}
}

// payloadBytes estimates the payload bytes a raw document's attachments
// hold, from the "size" of its top-level attachment maps (those with a
// "docblob" format attribute; see the item layout in `go doc
// github.com/docblob/docblob/drivers/s3dynamo`). It serves progress totals
// only, never a decision.
func payloadBytes(fields map[string]any) int64 {
	var n int64
	for _, v := range fields {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if _, ok := m["docblob"]; !ok {
			continue
		}
		if s, ok := m["size"].(int64); ok && s > 0 {
			n += s
		}
	}
	return n
}

// lister prints ls's results.
type lister struct {
	a   *app
	si  storeInfo
	all bool
	tw  *tabwriter.Writer
}

// newLister returns a lister printing on stdout; all lists keys with
// their partition.
func (a *app) newLister(si storeInfo, all bool) *lister {
	return &lister{a: a, si: si, all: all, tw: tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)}
}

// add prints one document: a JSON line, or a row of key, total
// attachment size and attachment names.
func (l *lister) add(d *document) error {
	if l.a.json {
		return l.a.emit(docJSON(d))
	}
	var size int64
	for _, b := range d.attachments {
		size += b.Size()
	}
	key := d.key.Sort
	switch {
	case !l.si.hasSort():
		key = d.key.Partition
	case l.all:
		key = d.key.Partition + "\t" + d.key.Sort
	}
	atts := strings.Join(d.attachmentNames(), ",")
	if atts == "" {
		atts = "-"
	}
	_, err := fmt.Fprintf(l.tw, "%s\t%s\t%s\n", key, humanBytes(size), atts)
	return err
}

// flush writes the rows out, aligned.
func (l *lister) flush() { l.tw.Flush() }

// statCommand shows a document.
func (a *app) statCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stat PARTITION SORT",
		Short: "Show a document: its fields, and its attachments' metadata",
		Long: `stat shows a document's revision, fields and the metadata of its attachments
(size, content type, SHA-256, name, creation time, storage key). It reads the
document only, never a payload.`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			k, _, err := si.keyArgs("stat", args)
			if err != nil {
				return err
			}
			d, err := si.getDoc(ctx, store, k)
			if err != nil {
				return err
			}
			return a.printDoc(d)
		}),
	}
}

// rmLine is rm's JSON result.
type rmLine struct {
	Type        string   `json:"type"` // "deleted"
	Partition   string   `json:"partition"`
	Sort        string   `json:"sort"`
	Existed     bool     `json:"existed"`     // false only with --force, for a missing document
	Attachments []string `json:"attachments"` // the attachment fields whose payloads were deleted
}

// rmCommand deletes a document.
func (a *app) rmCommand() *cobra.Command {
	var (
		revision string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "rm PARTITION SORT",
		Short: "Delete a document and its payloads",
		Long: `rm deletes a document, then the payloads of its attachments. A missing
document is an error (exit code 3) unless --force. With --revision R the
document is deleted only if its revision is still R (exit code 5 otherwise).`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			k, _, err := si.keyArgs("rm", args)
			if err != nil {
				return err
			}
			res := rmLine{Type: "deleted", Partition: k.Partition, Sort: k.Sort, Attachments: []string{}}
			if !force || revision != "" {
				d, err := si.getDoc(ctx, store, k)
				switch {
				case err == nil:
					res.Existed = true
					res.Attachments = d.attachmentNames()
				case force && docblob.Code(err) == docblob.NotFound:
				default:
					return err
				}
			}
			m := si.docFor(k)
			if revision != "" {
				m[si.revision] = revision
			}
			if err := store.Delete(ctx, m); err != nil {
				if docblob.Code(err) == docblob.FailedPrecondition && revision != "" {
					return withHint(err, fmt.Sprintf("the document's revision is no longer %s (it changed, or was deleted): check it with `docblob stat`", revision))
				}
				return err
			}
			if a.json {
				return a.emit(res)
			}
			switch {
			case !res.Existed && force && revision == "":
				a.printf("deleted %v (if it existed)\n", k)
			case len(res.Attachments) == 0:
				a.printf("deleted %v\n", k)
			default:
				a.printf("deleted %v and the payloads of %s (%s)\n", k, plural(int64(len(res.Attachments)), "attachment"), strings.Join(res.Attachments, ", "))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&revision, "revision", "", "delete only if the document's revision is `R` (from stat)")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail if the document does not exist")
	return cmd
}

// putCommand stores an attachment, or the other fields of a document.
func (a *app) putCommand() *cobra.Command {
	var (
		contentType string
		name        string
		metadata    map[string]string
		docFile     string
		create      bool
		revision    string
		token       string
	)
	cmd := &cobra.Command{
		Use:   "put PARTITION SORT FIELD FILE | put PARTITION SORT --doc doc.json",
		Short: "Store a file as an attachment, or set a document's other fields",
		Long: `put PARTITION SORT FIELD FILE uploads FILE (- for standard input) as the
attachment FIELD of the document, streamed and hashed in one pass, creating the
document if it does not exist and keeping its other fields and attachments if
it does. The payload's name is FILE's base name unless --name; its content
type is sniffed unless --content-type.

put PARTITION SORT --doc doc.json sets the document's other fields: the JSON
object's fields replace every field that is not an attachment (attachments are
kept). Both forms combine. Numbers keep all their digits.

put PARTITION SORT FIELD --upload-token TOKEN commits a direct upload made to
a URL from "docblob url --put".

The write is conditioned on the revision read first, so a concurrent change is
never overwritten (exit code 5: run put again). --create fails (exit code 4)
if the document exists; --revision R writes only if its revision is still R.`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if create && revision != "" {
				return usagef("put: give --create or --revision, not both")
			}
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			keyN := 1
			if si.hasSort() {
				keyN = 2
			}
			var rest []string
			switch {
			case token != "":
				rest = []string{"FIELD"}
			case len(args) == keyN && docFile != "":
			default:
				rest = []string{"FIELD", "FILE"}
			}
			k, rargs, err := si.keyArgs("put", args, rest...)
			if err != nil {
				if docFile == "" && token == "" && len(args) == keyN {
					return usagef("put: give FIELD FILE, --doc doc.json, or both")
				}
				return err
			}
			var fields map[string]any
			if docFile != "" {
				if fields, err = a.readJSONDoc(docFile); err != nil {
					return err
				}
				if err := si.checkDocFields(k, fields); err != nil {
					return err
				}
			}
			field := ""
			if len(rargs) > 0 {
				field = rargs[0]
				if field == si.pk || field == si.sk || field == si.revision {
					return usagef("put: %q is the name of the key or revision attribute, not an attachment field", field)
				}
				if _, ok := fields[field]; ok {
					return usagef("put: --doc sets field %q, which the command line stores as an attachment", field)
				}
			}

			// Read the document to keep what the command does not change.
			var old *document
			if !create {
				old, err = si.getDoc(ctx, store, k)
				switch {
				case err == nil:
					if revision != "" && old.revision != revision {
						return codedf(docblob.FailedPrecondition, &k, "check it with `docblob stat` and retry with its current revision",
							"document %v has revision %s, not %s", k, old.revision, revision)
					}
				case docblob.Code(err) == docblob.NotFound:
					old = nil
					if revision != "" {
						return codedf(docblob.FailedPrecondition, &k, "check the key; without --revision put creates the document",
							"document %v does not exist, so it does not have revision %s", k, revision)
					}
				default:
					return err
				}
			}
			m := si.docFor(k)
			if old != nil {
				for n, v := range old.fields {
					m[n] = v
				}
				for n, b := range old.attachments {
					m[n] = b // kept: not uploaded again
				}
				m[si.revision] = old.revision
			}
			if fields != nil {
				for n := range m {
					if _, isAtt := m[n].(*docblob.Blob); !isAtt && n != si.pk && n != si.sk && n != si.revision {
						delete(m, n)
					}
				}
				for n, v := range fields {
					if b, isAtt := m[n].(*docblob.Blob); isAtt && b != nil {
						return usagef("put: --doc sets field %q, which is an attachment of %v; attachments are set with put PARTITION SORT FIELD FILE", n, k)
					}
					m[n] = v
				}
			}

			var t *task
			if field != "" {
				var blob *docblob.Blob
				if token != "" {
					if blob, err = store.BlobFromUpload(token); err != nil {
						return withHint(err, "give the token that `docblob url --put` printed for this document and field, before it expires")
					}
				} else {
					src, size, closeSrc, err := a.openSource(rargs[1])
					if err != nil {
						return err
					}
					defer closeSrc()
					if name == "" && rargs[1] != "-" {
						name = filepath.Base(rargs[1])
					}
					t = a.startTask("put", kindTransfer, size)
					opts := &docblob.BlobOptions{Name: name, ContentType: contentType, Metadata: metadata, Progress: t.transfer()}
					if size > 0 {
						opts.Size = size // a file that changes while it is read fails the put
					}
					blob = docblob.NewBlob(src, opts)
				}
				m[field] = blob
			}
			if create || old == nil {
				m[si.revision] = nil // Create sets it to the new revision
				err = store.Create(ctx, m)
			} else {
				err = store.Put(ctx, m)
			}
			if t != nil {
				t.finish(err)
			}
			if err != nil {
				switch docblob.Code(err) {
				case docblob.FailedPrecondition:
					if revision == "" {
						return withHint(err, "another writer changed the document while put ran: run put again")
					}
				case docblob.AlreadyExists:
					if !create {
						return withHint(err, "another writer created the document while put ran: run put again")
					}
				}
				return err
			}
			d := si.splitDoc(m)
			if a.json {
				return a.emit(docJSON(d))
			}
			if field != "" {
				b := d.attachments[field]
				a.printf("stored %v field %s: %s, %s, checksum %s; revision %s\n", k, field, humanBytes(b.Size()), b.ContentType(), checksumText(b), d.revision)
			} else {
				a.printf("stored %v: %s; revision %s\n", k, plural(int64(len(d.fields)), "field"), d.revision)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&contentType, "content-type", "", "the payload's media `type` (default: sniffed from its first bytes)")
	f.StringVar(&name, "name", "", "the payload's file `name` (default: FILE's base name)")
	f.StringToStringVar(&metadata, "metadata", nil, "user metadata `key=value` pairs to record with the payload")
	f.StringVar(&docFile, "doc", "", "a JSON `file` of the document's other fields (- for standard input)")
	f.BoolVar(&create, "create", false, "fail if the document exists")
	f.StringVar(&revision, "revision", "", "write only if the document's revision is `R` (from stat)")
	f.StringVar(&token, "upload-token", "", "commit the direct upload of this `token` (from url --put) as FIELD")
	return cmd
}

// checkDocFields checks that a --doc object does not set the key or the
// revision to something else than the command line.
func (si storeInfo) checkDocFields(k docblob.Key, fields map[string]any) error {
	for n, want := range map[string]string{si.pk: k.Partition, si.sk: k.Sort} {
		if n == "" {
			continue
		}
		v, ok := fields[n]
		if !ok {
			continue
		}
		if s, _ := v.(string); s != want {
			return usagef("put: --doc sets the key attribute %q to %v, but the command line names %q", n, v, want)
		}
		delete(fields, n)
	}
	if _, ok := fields[si.revision]; ok {
		return usagef("put: --doc sets the revision attribute %q; use --revision for a conditional write", si.revision)
	}
	return nil
}

// openSource opens a payload to upload: a file, or standard input for
// "-". It returns its size if known (a regular file), else -1.
func (a *app) openSource(path string) (io.Reader, int64, func(), error) {
	if path == "-" {
		return a.stdin, -1, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, &cliError{exit: exitFailure, err: err, hint: "give a readable file, or - for standard input"}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, &cliError{exit: exitFailure, err: err}
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, nil, usagef("put: %s is a directory", path)
	}
	size := int64(-1)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

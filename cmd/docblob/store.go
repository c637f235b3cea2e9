package main

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// storeInfo is what the command needs to know of a store's documents: the
// attribute names of their keys and revision.
type storeInfo struct {
	url      string // the store URL, without its query, for messages
	pk, sk   string // key attribute names; sk is "" on a partition-only store
	revision string // the revision attribute
	drv      driver.Driver
}

// hasSort reports whether the store's documents have sort keys.
func (si storeInfo) hasSort() bool { return si.sk != "" }

// storeURLFor returns the URL of the store to use: --store, or
// $DOCBLOB_STORE.
func (a *app) storeURLFor() (string, error) {
	u := a.storeURL
	if u == "" {
		u = a.getenv(envStore)
	}
	if u == "" {
		return "", usagef("no store: give --store URL or set %s (for example file:///var/lib/docblob, or s3dynamo://TABLE?bucket=B&region=R)", envStore)
	}
	return u, nil
}

// openStore opens the store named by --store or $DOCBLOB_STORE.
func (a *app) openStore(ctx context.Context) (*docblob.Store, storeInfo, error) {
	u, err := a.storeURLFor()
	if err != nil {
		return nil, storeInfo{}, err
	}
	return openURL(ctx, u)
}

// openURL opens a store and learns its key attribute names.
func openURL(ctx context.Context, u string) (*docblob.Store, storeInfo, error) {
	store, err := docblob.Open(ctx, u)
	if err != nil {
		return nil, storeInfo{}, withHint(err, "check the store URL: mem://, file:///DIR or s3dynamo://TABLE?bucket=B&region=R, with the parameters of `go doc github.com/docblob/docblob/drivers/...`")
	}
	si := storeInfo{url: redactURL(u), pk: "pk", sk: "sk", revision: driver.DefaultRevisionKey}
	var drv driver.Driver
	if store.As(&drv) {
		info := drv.Info()
		si.pk, si.sk, si.drv = info.PartitionKey, info.SortKey, drv
		if info.RevisionKey != "" {
			si.revision = info.RevisionKey
		}
	}
	return store, si, nil
}

// redactURL returns u without its query, which may name endpoints and
// settings but is noise in messages.
func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	pu.RawQuery, pu.User = "", nil
	return pu.String()
}

// keyArgs takes a document key from the start of args: PARTITION SORT, or
// PARTITION on a partition-only store, followed by exactly len(rest)
// more arguments, named in rest for messages. It returns the key and the
// remaining arguments.
func (si storeInfo) keyArgs(command string, args []string, rest ...string) (docblob.Key, []string, error) {
	names := []string{"PARTITION"}
	if si.hasSort() {
		names = append(names, "SORT")
	}
	n := len(names)
	names = append(names, rest...)
	if len(args) != len(names) {
		why := fmt.Sprintf("its documents have sort keys (%q)", si.sk)
		if !si.hasSort() {
			why = "its documents have a partition key only"
		}
		return docblob.Key{}, nil, usagef("%s takes %s on this store (%s); got %d argument(s)", command, strings.Join(names, " "), why, len(args))
	}
	k := docblob.Key{Partition: args[0]}
	if si.hasSort() {
		k.Sort = args[1]
	}
	for i, v := range args[:n] {
		if v == "" {
			return k, nil, usagef("%s: the %s argument is empty; keys are non-empty strings", command, names[i])
		}
	}
	return k, args[n:], nil
}

// docFor returns a map document holding key, for Get, Delete and Put.
func (si storeInfo) docFor(k docblob.Key) map[string]any {
	m := map[string]any{si.pk: k.Partition}
	if si.hasSort() {
		m[si.sk] = k.Sort
	}
	return m
}

// document is a map document read from a store, split into its parts.
type document struct {
	key         docblob.Key
	revision    string
	fields      map[string]any           // every field but the key, revision and attachments
	attachments map[string]*docblob.Blob // by field name
}

// splitDoc splits a map document read by Get or a query.
func (si storeInfo) splitDoc(m map[string]any) *document {
	d := &document{fields: map[string]any{}, attachments: map[string]*docblob.Blob{}}
	d.key.Partition, _ = m[si.pk].(string)
	if si.hasSort() {
		d.key.Sort, _ = m[si.sk].(string)
	}
	d.revision, _ = m[si.revision].(string)
	for k, v := range m {
		switch {
		case k == si.pk || (si.hasSort() && k == si.sk) || k == si.revision:
		default:
			if b, ok := v.(*docblob.Blob); ok && b != nil {
				d.attachments[k] = b
			} else {
				d.fields[k] = v
			}
		}
	}
	return d
}

// attachmentNames returns the names of d's attachment fields, sorted.
func (d *document) attachmentNames() []string {
	names := make([]string, 0, len(d.attachments))
	for n := range d.attachments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// attachment returns d's attachment field, or a NotFound error naming
// the attachments it has.
func (d *document) attachment(field string) (*docblob.Blob, error) {
	if b, ok := d.attachments[field]; ok {
		return b, nil
	}
	has := "it has no attachments"
	if names := d.attachmentNames(); len(names) > 0 {
		has = "its attachments: " + strings.Join(names, ", ")
	}
	if _, ok := d.fields[field]; ok {
		return nil, codedf(docblob.NotFound, &d.key, "name an attachment field ("+has+"); `docblob stat` shows the document",
			"document %v: field %q is not an attachment (%s)", d.key, field, has)
	}
	return nil, codedf(docblob.NotFound, &d.key, "name an attachment field; `docblob stat` shows the document",
		"document %v has no attachment %q (%s)", d.key, field, has)
}

// getDoc reads the document with key k.
// attachmentArgs reads the document that args name (its key, then FIELD)
// and returns its key, the field and the field's attachment.
func (si storeInfo) attachmentArgs(ctx context.Context, store *docblob.Store, command string, args []string) (docblob.Key, string, *docblob.Blob, error) {
	k, rest, err := si.keyArgs(command, args, "FIELD")
	if err != nil {
		return k, "", nil, err
	}
	d, err := si.getDoc(ctx, store, k)
	if err != nil {
		return k, rest[0], nil, err
	}
	b, err := d.attachment(rest[0])
	return k, rest[0], b, err
}

func (si storeInfo) getDoc(ctx context.Context, store *docblob.Store, k docblob.Key) (*document, error) {
	m := si.docFor(k)
	if err := store.Get(ctx, m); err != nil {
		if docblob.Code(err) == docblob.NotFound {
			hint := fmt.Sprintf("no document %v in %s: list the partition with `docblob ls %s`", k, si.url, shellQuote(k.Partition))
			var missing *types.ResourceNotFoundException
			if store.ErrorAs(err, &missing) {
				hint = "the DynamoDB table does not exist: check the store URL (and region), or create the table (s3dynamo.CreateTable)"
			}
			return nil, &cliError{err: err, key: &k, hint: hint}
		}
		return nil, err
	}
	return si.splitDoc(m), nil
}

// shellQuote quotes s for a shell command line in advice, if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

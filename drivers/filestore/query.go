package filestore

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
)

// maxPageBytes bounds the document data one query page reads, like
// DynamoDB's 1 MB per Query page, so that code that forgets to follow page
// tokens fails locally as it would in production.
const maxPageBytes = 1 << 20

// QueryDocuments returns one page of the documents q selects.
//
// A query lists the names in the partition's directory (names only: no
// index is kept), decodes and sorts them, and reads the documents of the
// page. A page holds at most q.Limit documents and stops after the first
// document that brings it to 1 MiB of data. A scan of every partition
// (q.Partition == "") goes through partitions in byte order of their keys,
// and documents within each by sort key; a scan segment (q.TotalSegments >
// 1) skips the partitions that driver.ScanSegment puts in other segments
// without listing their documents.
//
// Page tokens hold the last key returned, encoded; a token is only ever
// compared with keys, never used to build a path.
func (d *Driver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", errInvalid, q.Limit)
	}
	if err := q.CheckSegments(); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if q.Partition == "" {
		return d.scan(ctx, q)
	}
	if err := checkKeyPart("partition", q.Partition, MaxPartitionKeyBytes); err != nil {
		return nil, err
	}
	if q.Sort < driver.SortAny || q.Sort > driver.SortGreaterOrEqual {
		return nil, fmt.Errorf("%w: unknown sort condition %d", errInvalid, q.Sort)
	}
	var after string
	hasAfter := false
	switch {
	case q.PageToken != "":
		t, err := decodeToken(q.PageToken, 'q')
		if err != nil {
			return nil, err
		}
		after, hasAfter = string(t), true
	case q.StartAfter != "" && d.info.SortKey != "":
		// A position by key is what a page token is.
		after, hasAfter = q.StartAfter, true
	}
	sks, err := d.sortKeys(ctx, q.Partition)
	if err != nil {
		return nil, err
	}
	if q.Descending {
		slices.Reverse(sks)
	}
	page := &driver.QueryPage{Documents: []*driver.Document{}}
	bytes := 0
	for i, sk := range sks {
		if hasAfter && (!q.Descending && sk <= after || q.Descending && sk >= after) {
			continue
		}
		if !q.SelectsSort(sk) {
			continue
		}
		if q.Limit > 0 && len(page.Documents) == q.Limit || bytes >= maxPageBytes {
			page.NextPageToken = encodeToken('q', []byte(lastSort(page, after)))
			break
		}
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		doc, n, err := d.readListed(q.Partition, sk)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			page.Documents = append(page.Documents, doc)
			bytes += n
		}
	}
	return page, nil
}

func lastSort(page *driver.QueryPage, after string) string {
	if n := len(page.Documents); n > 0 {
		return page.Documents[n-1].Key.Sort
	}
	return after
}

// readListed reads a document found by a listing; one removed since is
// skipped (nil, nil).
func (d *Driver) readListed(pk, sk string) (*driver.Document, int, error) {
	k := driver.Key{Partition: pk, Sort: sk}
	_, path := d.docPath(k)
	data, err := d.readRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	doc, err := decodeDocument(data)
	if err == nil && doc.Key != k {
		err = fmt.Errorf("%w: file holds key %q/%q", errCorrupt, doc.Key.Partition, doc.Key.Sort)
	}
	if err != nil {
		return nil, 0, &fs.PathError{Op: "decode", Path: path, Err: err}
	}
	return doc, len(data), nil
}

// scan pages through every document of q's segment: partitions in key
// order, then sort keys in order.
func (d *Driver) scan(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if q.Sort != driver.SortAny {
		return nil, fmt.Errorf("%w: a query of every partition takes no sort condition", errInvalid)
	}
	var afterPK, afterSK string
	hasAfter := false
	if q.PageToken != "" {
		t, err := decodeToken(q.PageToken, 's')
		if err != nil {
			return nil, err
		}
		n, w := binary.Uvarint(t)
		if w <= 0 || uint64(len(t)-w) < n {
			return nil, fmt.Errorf("%w: malformed page token", errInvalid)
		}
		afterPK, afterSK, hasAfter = string(t[w:w+int(n)]), string(t[w+int(n):]), true
	}
	pks, err := d.partitions(ctx)
	if err != nil {
		return nil, err
	}
	page := &driver.QueryPage{Documents: []*driver.Document{}}
	bytes := 0
	for _, pk := range pks {
		if hasAfter && pk < afterPK || !q.InSegment(pk) {
			continue
		}
		sks, err := d.sortKeys(ctx, pk)
		if err != nil {
			return nil, err
		}
		for _, sk := range sks {
			if hasAfter && pk == afterPK && sk <= afterSK {
				continue
			}
			if q.Limit > 0 && len(page.Documents) == q.Limit || bytes >= maxPageBytes {
				last := page.Documents[len(page.Documents)-1].Key
				page.NextPageToken = scanToken(last.Partition, last.Sort)
				return page, nil
			}
			doc, n, err := d.readListed(pk, sk)
			if err != nil {
				return nil, err
			}
			if doc != nil {
				page.Documents = append(page.Documents, doc)
				bytes += n
			}
		}
	}
	return page, nil
}

func scanToken(pk, sk string) string {
	b := binary.AppendUvarint(nil, uint64(len(pk)))
	b = append(b, pk...)
	b = append(b, sk...)
	return encodeToken('s', b)
}

func encodeToken(kind byte, b []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind}, b...))
}

func decodeToken(tok string, kind byte) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 || b[0] != kind {
		return nil, fmt.Errorf("%w: malformed page token", errInvalid)
	}
	return b[1:], nil
}

// sortKeys lists the sort keys of a partition, sorted.
func (d *Driver) sortKeys(ctx context.Context, pk string) ([]string, error) {
	var out []string
	var walk func(dir, enc string) error
	walk = func(dir, enc string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := d.readDir(dir)
		if err != nil {
			return err
		}
		d.tidy(dir, d.docs, ents)
		for _, e := range ents {
			kind, chunk := classify(e.Name())
			p := dir + "/" + e.Name()
			switch {
			case kind == kindCont && e.IsDir():
				if err := walk(p, enc+chunk); err != nil {
					return err
				}
			case kind == kindDoc && e.Type().IsRegular():
				sk, ok := decodeName(enc+chunk, true)
				if ok && d.validSort(sk) && joinPath(docComponents(d.docs, pk, sk)) == p {
					out = append(out, sk)
				}
			}
		}
		return nil
	}
	dir := joinPath(partitionComponents(d.docs, pk))
	if ok, err := d.isRealDir(dir); err != nil || !ok {
		return nil, err
	}
	if err := walk(dir, ""); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

func (d *Driver) validSort(sk string) bool {
	if d.info.SortKey == "" {
		return sk == ""
	}
	return sk != "" && len(sk) <= MaxSortKeyBytes && utf8.ValidString(sk)
}

// partitions lists the partition keys that have a directory, sorted.
func (d *Driver) partitions(ctx context.Context) ([]string, error) {
	var out []string
	var walk func(dir, enc string) error
	walk = func(dir, enc string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := d.readDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			kind, chunk := classify(e.Name())
			p := dir + "/" + e.Name()
			switch kind {
			case kindCont:
				if err := walk(p, enc+chunk); err != nil {
					return err
				}
			case kindDir:
				pk, ok := decodeName(enc+chunk, true)
				if ok && checkKeyPart("partition", pk, MaxPartitionKeyBytes) == nil &&
					joinPath(partitionComponents(d.docs, pk)) == p {
					out = append(out, pk)
				}
			}
		}
		return nil
	}
	if err := walk(d.docs, ""); err != nil {
		return nil, err
	}
	slices.SortFunc(out, cmp.Compare)
	return out, nil
}

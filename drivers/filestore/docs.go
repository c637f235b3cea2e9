package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/docblob/docblob/driver"
)

// docPath returns the directory and path of a document's file.
func (d *Driver) docPath(k driver.Key) (dir, path string) {
	path = joinPath(docComponents(d.docs, k.Partition, k.Sort))
	dir, _ = splitDir(path)
	return dir, path
}

// readDoc reads the document file at path and checks that it holds key k.
func (d *Driver) readDoc(path string, k driver.Key) (*driver.Document, error) {
	data, err := d.readRegular(path)
	if err != nil {
		return nil, err
	}
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, &fs.PathError{Op: "decode", Path: path, Err: err}
	}
	if doc.Key != k {
		return nil, &fs.PathError{Op: "decode", Path: path,
			Err: fmt.Errorf("%w: file holds key %q/%q", errCorrupt, doc.Key.Partition, doc.Key.Sort)}
	}
	return doc, nil
}

// GetDocument returns the document with the key. It reads one file and
// takes no lock: files are replaced by rename, so a read sees a whole
// version.
func (d *Driver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.checkKey(key); err != nil {
		return nil, err
	}
	_, path := d.docPath(key)
	return d.readDoc(path, key)
}

// PutDocument stores doc if cond holds and returns the document it
// replaced. The new version is written to a synced temporary file first;
// then, under the key's lock, the current version is read, the condition
// checked, and the temporary file renamed into place and its directory
// synced.
func (d *Driver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.checkKey(doc.Key); err != nil {
		return nil, err
	}
	if err := checkCondition(cond); err != nil {
		return nil, err
	}
	if err := driver.CheckDynamoDBValues(doc.Fields); err != nil {
		return nil, err
	}
	data, err := encodeDocument(doc, d.info.SortKey != "")
	if err != nil {
		return nil, err
	}
	// Encoding checked the value types, which DocumentSize assumes.
	if max := d.info.MaxDocumentBytes; max > 0 {
		if n := driver.DocumentSize(doc, d.info); n > max {
			return nil, fmt.Errorf("%w: document of %d bytes exceeds the limit of %d", errTooLarge, n, max)
		}
	}
	dir, path := d.docPath(doc.Key)
	tmp, err := d.writeTemp(dir, data)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = d.root.Remove(tmp)
		}
	}()

	unlock, err := d.locks.lock(ctx, stripeOf(doc.Key.Partition, doc.Key.Sort))
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, err := d.current(path, doc.Key, cond)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.root.Rename(tmp, path); err != nil {
		return nil, err
	}
	committed = true
	// The write is applied and visible: it must not fail now, as
	// SettledOnReturn promises that a failed write was not applied. A
	// failure to sync the directory (EIO, which leaves durability unknown)
	// therefore goes unreported.
	_ = d.syncDir(dir)
	return prev, nil
}

// DeleteDocument removes the document with the key if cond holds, and
// returns what it removed.
func (d *Driver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.checkKey(key); err != nil {
		return nil, err
	}
	if err := checkCondition(cond); err != nil {
		return nil, err
	}
	dir, path := d.docPath(key)
	unlock, err := d.locks.lock(ctx, stripeOf(key.Partition, key.Sort))
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, err := d.current(path, key, cond)
	if err != nil || prev == nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.root.Remove(path); err != nil {
		return nil, err
	}
	_ = d.syncDir(dir) // applied: must not fail now (see PutDocument)
	d.removeEmptyDirs(dir, d.docs)
	return prev, nil
}

func checkCondition(cond driver.Condition) error {
	switch cond.Kind {
	case driver.Always, driver.MustNotExist, driver.MustMatchRevision:
		return nil
	}
	return fmt.Errorf("%w: unknown condition kind %d", errInvalid, cond.Kind)
}

// current reads the current version of a document (nil if none) and
// checks cond against it. The caller holds the key's lock.
func (d *Driver) current(path string, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	prev, err := d.readDoc(path, key)
	if errors.Is(err, fs.ErrNotExist) {
		prev, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch cond.Kind {
	case driver.MustNotExist:
		if prev != nil {
			return nil, errExists
		}
	case driver.MustMatchRevision:
		if prev == nil {
			return nil, errNoDocument
		}
		if prev.Revision != cond.Revision {
			return nil, errRevision
		}
	}
	return prev, nil
}

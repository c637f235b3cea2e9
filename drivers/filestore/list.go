package filestore

import (
	"container/heap"
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/docblob/docblob/driver"
)

// defaultListPage is the number of payloads a ListBlobs page holds.
const defaultListPage = 1000

// ListBlobs returns one page of the payloads whose keys start with prefix,
// in key order.
//
// It walks the directory tree lazily, best first: every directory stands
// for all the keys that start with a known string (its lower bound), so a
// priority queue of files and directories ordered by key and bound yields
// keys in order while reading only the directories that can hold the next
// keys of the page (a segment "a" sorts after "a!" but before "a0", so
// plain directory order would not do). The directories of the prefix's
// complete segments are entered directly.
func (d *Driver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var after string
	hasAfter := false
	if pageToken != "" {
		t, err := decodeToken(pageToken, 'b')
		if err != nil {
			return nil, err
		}
		after, hasAfter = string(t), true
	}
	page := &driver.BlobPage{Blobs: []driver.BlobInfo{}}
	if len(prefix) > MaxBlobKeyBytes {
		return page, nil
	}
	dirPrefix, start := blobListStart(prefix)
	if ok, err := d.isRealDir(start); err != nil || !ok {
		return page, err
	}
	w := &listWalk{d: d, prefix: prefix, after: after, hasAfter: hasAfter}
	heap.Push(&w.q, &listItem{bound: dirPrefix, path: start, keyPrefix: dirPrefix})
	steps := 0
	for w.q.Len() > 0 {
		it := heap.Pop(&w.q).(*listItem)
		if !it.file {
			if steps++; steps%64 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if err := w.expand(it); err != nil {
				return nil, err
			}
			continue
		}
		fi, err := it.entry.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return nil, err
		}
		if len(page.Blobs) == defaultListPage {
			page.NextPageToken = encodeToken('b', []byte(page.Blobs[len(page.Blobs)-1].Key))
			break
		}
		page.Blobs = append(page.Blobs, driver.BlobInfo{Key: it.bound, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return page, nil
}

type listWalk struct {
	d        *Driver
	prefix   string
	after    string
	hasAfter bool
	q        listQueue
}

type listItem struct {
	bound     string // a file's key, or a lower bound of a directory's keys
	file      bool
	path      string
	keyPrefix string // directories: the key up to the segment being read
	enc       string // directories: the encoded part of that segment so far
	entry     fs.DirEntry
}

// expand reads a directory and queues its entries that may hold keys of the
// listing.
func (w *listWalk) expand(it *listItem) error {
	ents, err := w.d.readDir(it.path)
	if err != nil {
		return err
	}
	w.d.tidy(it.path, blobsDir, ents)
	for _, e := range ents {
		kind, chunk := classify(e.Name())
		p := it.path + "/" + e.Name()
		switch {
		case kind == kindCont && e.IsDir():
			enc := it.enc + chunk
			part, ok := decodeName(enc, false)
			if ok {
				w.pushDir(&listItem{bound: it.keyPrefix + part, path: p, keyPrefix: it.keyPrefix, enc: enc})
			}
		case kind == kindDir && e.IsDir():
			seg, ok := decodeName(it.enc+chunk, true)
			if ok {
				kp := it.keyPrefix + seg + "/"
				w.pushDir(&listItem{bound: kp, path: p, keyPrefix: kp})
			}
		case kind == kindBlob && e.Type().IsRegular():
			seg, ok := decodeName(it.enc+chunk, true)
			key := it.keyPrefix + seg
			if ok && strings.HasPrefix(key, w.prefix) && (!w.hasAfter || key > w.after) &&
				len(key) <= MaxBlobKeyBytes && joinPath(blobComponents(key)) == p {
				heap.Push(&w.q, &listItem{bound: key, file: true, path: p, entry: e})
			}
		}
	}
	return nil
}

func (w *listWalk) pushDir(it *listItem) {
	if !strings.HasPrefix(it.bound, w.prefix) && !strings.HasPrefix(w.prefix, it.bound) {
		return // no key in it has the prefix
	}
	if w.hasAfter && it.bound < w.after && !strings.HasPrefix(w.after, it.bound) {
		return // every key in it sorts before the page token
	}
	if len(it.bound) > MaxBlobKeyBytes {
		return
	}
	heap.Push(&w.q, it)
}

type listQueue []*listItem

func (q listQueue) Len() int { return len(q) }
func (q listQueue) Less(i, j int) bool {
	if q[i].bound != q[j].bound {
		return q[i].bound < q[j].bound
	}
	return q[i].file && !q[j].file
}
func (q listQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *listQueue) Push(x any)   { *q = append(*q, x.(*listItem)) }
func (q *listQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return it
}

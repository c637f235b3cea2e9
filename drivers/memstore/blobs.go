package memstore

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docblob/docblob/driver"
)

// blob is a stored payload. Its data is never modified once stored.
type blob struct {
	data        []byte
	contentType string
	modTime     time.Time
}

// WriteBlob implements driver.Driver. The payload is read into memory (this
// is the in-memory driver) and becomes visible only once complete.
func (d *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if opts != nil && opts.Size > 0 {
		buf.Grow(int(opts.Size) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(&ctxReader{ctx: ctx, r: r}); err != nil {
		return nil, err
	}
	b := &blob{data: buf.Bytes(), modTime: time.Now()}
	if opts != nil {
		b.contentType = opts.ContentType
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if _, used := d.st.blobs[key]; used {
		return nil, errBlobExists
	}
	d.st.blobs[key] = b
	return &driver.BlobAttrs{}, nil
}

// OpenBlob implements driver.Driver.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.RLock()
	b := d.st.blobs[key]
	d.st.mu.RUnlock()
	if b == nil {
		return nil, errNotFound
	}
	data := b.data[min(offset, int64(len(b.data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(&ctxReader{ctx: ctx, r: bytes.NewReader(data)}), nil
}

// DeleteBlob implements driver.Driver.
func (d *Driver) DeleteBlob(ctx context.Context, key string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	d.st.mu.Lock()
	delete(d.st.blobs, key)
	d.st.mu.Unlock()
	return nil
}

// listPageSize is the number of payloads in a ListBlobs page.
const listPageSize = 1000

// ListBlobs implements driver.Driver. The page token is the last key of the
// previous page.
func (d *Driver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.RLock()
	keys := make([]string, 0, len(d.st.blobs))
	for k := range d.st.blobs {
		if strings.HasPrefix(k, prefix) && k > pageToken {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	page := &driver.BlobPage{}
	for i, k := range keys {
		if i == listPageSize {
			page.NextPageToken = keys[i-1]
			break
		}
		b := d.st.blobs[k]
		page.Blobs = append(page.Blobs, driver.BlobInfo{Key: k, Size: int64(len(b.data)), ModTime: b.modTime})
	}
	d.st.mu.RUnlock()
	return page, nil
}

// ReplaceBlobData replaces the bytes of a stored payload behind docblob's
// back, for tests of corruption detection. It fails if the key holds no
// payload.
func (d *Driver) ReplaceBlobData(key string, data []byte) error {
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	b := d.st.blobs[key]
	if b == nil {
		return errNotFound
	}
	d.st.blobs[key] = &blob{data: bytes.Clone(data), contentType: b.contentType, modTime: b.modTime}
	return nil
}

// BlobData returns a copy of a stored payload's bytes, for tests.
func (d *Driver) BlobData(key string) ([]byte, error) {
	d.st.mu.RLock()
	defer d.st.mu.RUnlock()
	b := d.st.blobs[key]
	if b == nil {
		return nil, errNotFound
	}
	return bytes.Clone(b.data), nil
}

// ctxReader fails reads once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

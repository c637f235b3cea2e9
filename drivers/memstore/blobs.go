package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
)

// blob is a stored payload, in chunks so that storing a payload of unknown
// size allocates it once, without the doubling copies of a growing buffer.
// Its chunks are never modified once stored.
type blob struct {
	chunks      [][]byte
	size        int64
	contentType string
	modTime     time.Time
	// sum is the payload's checksum, of the algorithm its write asked
	// for, computed as it was written; zero for a payload replaced
	// behind the driver's back (replaceBlobData).
	sum driver.Checksum
}

// chunkSize is the size of the chunks of a payload whose size is unknown.
const chunkSize = 64 << 10

var scratch = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// maxOneBuffer bounds the announced sizes that readChunks trusts for one
// allocation: a larger announcement is read in chunks and checked at the
// end, so that a lying size never allocates what it claims.
const maxOneBuffer = 16 << 20

// readChunks reads r to EOF into exactly sized chunks. If size is known
// (non-negative, and at most maxOneBuffer) the payload is read into one
// buffer; a payload of another size than announced is an error.
func readChunks(r io.Reader, size int64) ([][]byte, int64, error) {
	if size >= 0 && size <= maxOneBuffer {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("memstore: payload shorter than its announced %d bytes", size)
			}
			return nil, 0, err
		}
		var one [1]byte
		if n, err := r.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = fmt.Errorf("memstore: payload longer than its announced %d bytes", size)
			}
			return nil, 0, err
		}
		return [][]byte{buf}, size, nil
	}
	sp := scratch.Get().(*[]byte)
	defer scratch.Put(sp)
	var chunks [][]byte
	var total int64
	for {
		// Fill the scratch buffer; only io.EOF ends the payload (a reader's
		// own io.ErrUnexpectedEOF, say from a cut connection, is an error).
		n, err := 0, error(nil)
		for n < len(*sp) && err == nil {
			var m int
			m, err = r.Read((*sp)[n:])
			n += m
		}
		if n > 0 {
			chunks = append(chunks, bytes.Clone((*sp)[:n]))
			total += int64(n)
		}
		switch err {
		case nil:
		case io.EOF:
			if size >= 0 && total != size {
				return nil, 0, fmt.Errorf("memstore: payload of %d bytes, %d announced", total, size)
			}
			return chunks, total, nil
		default:
			return nil, 0, err
		}
	}
}

// reader returns a reader of length bytes of b from offset.
func (b *blob) reader(offset, length int64) io.Reader {
	if length < 0 || offset+length > b.size {
		length = b.size - offset
	}
	var parts []io.Reader
	for _, c := range b.chunks {
		n := int64(len(c))
		if offset >= n {
			offset -= n
			continue
		}
		if length <= 0 {
			break
		}
		part := c[offset:min(n, offset+length)]
		parts = append(parts, bytes.NewReader(part))
		length -= int64(len(part))
		offset = 0
	}
	return io.MultiReader(parts...)
}

// bytes returns a copy of b's data.
func (b *blob) bytes() []byte {
	out := make([]byte, 0, b.size)
	for _, c := range b.chunks {
		out = append(out, c...)
	}
	return out
}

// WriteBlob implements driver.Driver. The payload is read into memory (this
// is the in-memory driver) and becomes visible only once complete.
func (d *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	var o driver.WriteOptions
	o.Size = -1
	if opts != nil {
		o = *opts
	}
	// Hash while copying: the checksum is reported, and kept for
	// StatBlob, as S3 keeps the checksum of an upload.
	alg := o.Algorithm()
	h := alg.New()
	if h == nil {
		return nil, &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("memstore: unknown checksum algorithm %q", alg)}
	}
	src := io.TeeReader(&ctxReader{ctx: ctx, r: r}, h)
	chunks, n, err := readChunks(src, o.Size)
	if err != nil {
		return nil, err
	}
	b := &blob{chunks: chunks, size: n, contentType: o.ContentType, modTime: d.now(),
		sum: driver.Checksum{Algorithm: alg, Sum: h.Sum(nil)}}
	// As S3 does with a checksum it is given: a source whose bytes
	// changed since they were hashed is refused, and nothing stored.
	if o.Sum != nil && !bytes.Equal(b.sum.Sum, o.Sum) {
		return nil, errCorrupt
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if _, used := d.st.blobs[key]; used {
		return nil, errBlobExists
	}
	d.st.blobs[key] = b
	return &driver.BlobAttrs{Checksum: driver.Checksum{Algorithm: alg, Sum: bytes.Clone(b.sum.Sum)}}, nil
}

// OpenBlob implements driver.Driver. The portable layer verifies the
// checksum (BlobReader.Verified is false), as a memory store keeps no
// checksum it checks on read.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64, _ *driver.OpenOptions) (*driver.BlobReader, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.RLock()
	b := d.st.blobs[key]
	d.st.mu.RUnlock()
	if b == nil {
		return nil, errNotFound
	}
	return &driver.BlobReader{ReadCloser: io.NopCloser(&ctxReader{ctx: ctx, r: b.reader(min(offset, b.size), length)})}, nil
}

// StatBlob implements driver.Driver. Checksum is the one computed as the
// payload was written, of the algorithm its write asked for.
func (d *Driver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	d.st.mu.RLock()
	b := d.st.blobs[key]
	d.st.mu.RUnlock()
	if b == nil {
		return nil, errNotFound
	}
	return &driver.BlobInfo{Key: key, Size: b.size, ModTime: b.modTime, Checksum: driver.Checksum{Algorithm: b.sum.Algorithm, Sum: bytes.Clone(b.sum.Sum)}, ContentType: b.contentType}, nil
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
		page.Blobs = append(page.Blobs, driver.BlobInfo{Key: k, Size: b.size, ModTime: b.modTime})
	}
	d.st.mu.RUnlock()
	return page, nil
}

// replaceBlobData replaces the bytes of a stored payload behind docblob's
// back, for tests of corruption detection. It fails if the key holds no
// payload. The payload keeps its content type and modification time but
// loses its checksum, so that StatBlob never reports a checksum
// that differs from the bytes.
func (d *Driver) replaceBlobData(key string, data []byte) error {
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	b := d.st.blobs[key]
	if b == nil {
		return errNotFound
	}
	d.st.blobs[key] = &blob{chunks: [][]byte{bytes.Clone(data)}, size: int64(len(data)), contentType: b.contentType, modTime: b.modTime}
	return nil
}

// blobData returns a copy of a stored payload's bytes, for tests.
func (d *Driver) blobData(key string) ([]byte, error) {
	d.st.mu.RLock()
	defer d.st.mu.RUnlock()
	b := d.st.blobs[key]
	if b == nil {
		return nil, errNotFound
	}
	return b.bytes(), nil
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

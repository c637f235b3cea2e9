package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/docblob/docblob/driver"
)

// Payloads are stored as their raw bytes, one file each, so that they can
// be inspected (and, in the conformance suite, corrupted) in place. The
// driver keeps no metadata beside them: the portable layer records the
// content type, size and checksum in the document.

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// ctxReader makes reads observe a context.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type writerOnly struct{ io.Writer }

// WriteBlob streams r into a temporary file beside the payload's final
// name, syncs it, and links it into place, so the payload appears whole or
// not at all. Linking (rather than renaming) never replaces a file: a key
// that already holds a payload fails with an error that ErrorCode maps to
// AlreadyExists, and the existing payload is untouched. On file systems
// without hard links it falls back to a rename after checking that the
// name is free. If opts gives a size or SHA-256, the payload must match it
// (InvalidArgument or Corrupt otherwise, and nothing is stored).
func (d *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBlobKey(key); err != nil {
		return nil, err
	}
	path := joinPath(blobComponents(key))
	dir, _ := splitDir(path)
	f, tmp, err := d.createTemp(dir)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = d.root.Remove(tmp)
		}
	}()
	var w io.Writer = writerOnly{f} // hide ReadFrom, which would allocate its own buffer
	var h hash.Hash
	if opts != nil && opts.SHA256 != nil {
		h = sha256.New()
		w = io.MultiWriter(f, h)
	}
	bufp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(w, ctxReader{ctx, r}, *bufp)
	copyBufs.Put(bufp)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := d.finishTemp(f, tmp); err != nil {
		return nil, err
	}
	if opts != nil && opts.Size >= 0 && n != opts.Size {
		return nil, fmt.Errorf("%w: payload is %d bytes, %d announced", errInvalid, n, opts.Size)
	}
	if h != nil && !bytes.Equal(h.Sum(nil), opts.SHA256) {
		return nil, fmt.Errorf("%w: payload does not match the announced SHA-256", errCorrupt)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.commitNew(tmp, path); err != nil {
		return nil, err
	}
	if err := d.syncDir(dir); err != nil {
		// The payload is visible but maybe not durable; WriteBlob's
		// contract is all or nothing, so take it back.
		_ = d.root.Remove(path)
		return nil, err
	}
	committed = true
	_ = d.root.Remove(tmp)
	return &driver.BlobAttrs{}, nil
}

// commitNew gives the temporary file tmp the name path, which must be free.
func (d *Driver) commitNew(tmp, path string) error {
	err := d.root.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		if err != nil {
			return fmt.Errorf("%w: %w", errBlobExists, err)
		}
		return nil
	}
	if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) &&
		!errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.EXDEV) {
		return err
	}
	// No hard links here: check, then rename. (Payload keys are fresh by
	// contract; the check only guards against misuse.)
	if _, err := d.root.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s", errBlobExists, path)
	}
	return d.root.Rename(tmp, path)
}

// OpenBlob returns a reader for a range of a payload. It reads with pread
// from one open file, so a payload removed while being read stays readable
// to the end.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBlobKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: negative offset %d", errInvalid, offset)
	}
	f, fi, err := d.openRegular(joinPath(blobComponents(key)))
	if err != nil {
		return nil, err
	}
	n := fi.Size() - offset
	if n < 0 {
		n = 0
	}
	if length >= 0 && length < n {
		n = length
	}
	return &blobReader{ctx: ctx, f: f, r: io.NewSectionReader(f, offset, n)}, nil
}

type blobReader struct {
	ctx context.Context
	f   *os.File
	r   *io.SectionReader
}

func (b *blobReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *blobReader) Close() error { return b.f.Close() }

// DeleteBlob removes a payload and then the directories it leaves empty.
func (d *Driver) DeleteBlob(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBlobKey(key); err != nil {
		return err
	}
	path := joinPath(blobComponents(key))
	dir, _ := splitDir(path)
	if err := d.root.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return err
	}
	if err := d.syncDir(dir); err != nil {
		return err
	}
	d.removeEmptyDirs(dir, blobsDir)
	return nil
}

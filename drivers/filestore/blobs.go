package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docblob/docblob/driver"
)

// Payloads are stored as their raw bytes, one file each, so that they can
// be inspected (and, in the conformance suite, corrupted) in place. The
// portable layer records the content type, size and checksum in the
// document. The only metadata the driver keeps is a payload's SHA-256 when
// a write computed it (WriteOptions.Checksum SHA256), in a sidecar file beside the payload (see sidecarPrefix), so that
// StatBlob can report it.
//
// A sidecar is written (to a temporary file, synced, renamed, and its
// directory synced) before the payload is linked into place, so a crash
// can leave a sidecar without its payload (harmless: DeleteBlob and
// listings remove it) but never a visible payload whose checksum
// was asked for and lost. It holds, besides the checksum, the size,
// modification time and inode number of the file that becomes the payload
// (link and rename keep all three), and StatBlob reports the checksum only
// if they still match the payload file: a stale sidecar, one written by a
// concurrent (misused) write of the same key, one of a payload replaced
// behind the driver's back, or one that does not parse gives no checksum
// rather than a wrong one. (A copy of the directory that renumbers inodes
// keeps its payloads but loses their checksums: StatBlob then reports
// none, which is always allowed.)

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

// WriteBlob streams r into a temporary file beside the payload's final
// name, syncs it, and links it into place, so the payload appears whole or
// not at all. Linking (rather than renaming) never replaces a file: a key
// that already holds a payload fails with an error that ErrorCode maps to
// AlreadyExists, and the existing payload is untouched. On file systems
// without hard links it falls back to a rename after checking that the
// name is free. The checksum of opts.Checksum's algorithm is computed as
// the payload is copied and reported. If opts gives a size or a checksum
// (Sum), the payload must match it (InvalidArgument or Corrupt otherwise,
// and nothing is stored). A SHA-256 (a store whose checksum is SHA-256,
// or a localsign upload) is also kept in a sidecar, written before the
// payload is linked, for StatBlob; CRCs are not kept.
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
	alg := opts.Algorithm()
	h := alg.New()
	if h == nil {
		f.Close()
		return nil, fmt.Errorf("%w: unknown checksum algorithm %q", errInvalid, alg)
	}
	w := io.MultiWriter(f, h) // hides the file's ReadFrom, which would allocate its own buffer
	bufp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(w, ctxReader{ctx, r}, *bufp)
	copyBufs.Put(bufp)
	if err != nil {
		f.Close()
		return nil, err
	}
	var fi fs.FileInfo
	if alg == driver.SHA256 {
		// The modification time the sidecar binds to: the last write's.
		if fi, err = f.Stat(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := d.finishTemp(f, tmp); err != nil {
		return nil, err
	}
	if opts != nil && opts.Size >= 0 && n != opts.Size {
		return nil, fmt.Errorf("%w: payload is %d bytes, %d announced", errInvalid, n, opts.Size)
	}
	sum := h.Sum(nil)
	if opts != nil && opts.Sum != nil && !bytes.Equal(sum, opts.Sum) {
		return nil, fmt.Errorf("%w: payload does not match the announced %s", errCorrupt, alg)
	}
	attrs := &driver.BlobAttrs{Checksum: driver.Checksum{Algorithm: alg, Sum: sum}}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	side := ""
	if alg == driver.SHA256 {
		// Keys are fresh by contract; checking first keeps a misused key
		// from having its payload's sidecar replaced.
		if _, err := d.root.Lstat(path); err == nil {
			return nil, fmt.Errorf("%w: %s", errBlobExists, path)
		}
		side = sidecarPath(path)
		if err := d.writeSidecar(dir, side, encodeSidecar(sum, fi.Size(), fi.ModTime(), fileIno(fi))); err != nil {
			return nil, err
		}
		defer func() {
			if !committed {
				_ = d.root.Remove(side)
			}
		}()
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
	return attrs, nil
}

// writeSidecar makes data the content of the sidecar at side, atomically
// and durably: when it returns nil, the sidecar survives a crash.
func (d *Driver) writeSidecar(dir, side string, data []byte) error {
	tmp, err := d.writeTemp(dir, data)
	if err != nil {
		return err
	}
	if err := d.root.Rename(tmp, side); err != nil {
		_ = d.root.Remove(tmp)
		return err
	}
	return d.syncDir(dir)
}

// sidecarMagic starts every sidecar, naming its format.
const sidecarMagic = "docblob-sha256 v1\n"

// encodeSidecar returns a sidecar's content: the magic line, then the
// payload's SHA-256 in hex, its size, its modification time in Unix
// nanoseconds and its inode number (0 if unknown), one per line.
func encodeSidecar(sum []byte, size int64, mtime time.Time, ino uint64) []byte {
	return fmt.Appendf(nil, "%s%x\n%d\n%d\n%d\n", sidecarMagic, sum, size, mtime.UnixNano(), ino)
}

// sidecarBinding is the state of a payload file that a sidecar is bound to.
type sidecarBinding struct {
	size, mtime int64
	ino         uint64
}

func bindingOf(fi fs.FileInfo) sidecarBinding {
	return sidecarBinding{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: fileIno(fi)}
}

// maxSidecarBytes bounds what readSidecar reads: more than any sidecar
// encodeSidecar makes.
const maxSidecarBytes = 256

// parseSidecar parses a sidecar's content strictly: it accepts only what
// encodeSidecar makes.
func parseSidecar(data []byte) (sum []byte, b sidecarBinding, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte(sidecarMagic))
	if !found {
		return nil, b, false
	}
	lines := strings.Split(string(rest), "\n")
	if len(lines) != 5 || lines[4] != "" {
		return nil, b, false
	}
	sum, err := hex.DecodeString(lines[0])
	if err != nil || len(sum) != sha256.Size {
		return nil, b, false
	}
	size, err1 := strconv.ParseInt(lines[1], 10, 64)
	mtime, err2 := strconv.ParseInt(lines[2], 10, 64)
	ino, err3 := strconv.ParseUint(lines[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || size < 0 ||
		!bytes.Equal(data, encodeSidecar(sum, size, time.Unix(0, mtime), ino)) {
		return nil, b, false
	}
	return sum, sidecarBinding{size: size, mtime: mtime, ino: ino}, true
}

// readSidecar returns the SHA-256 that the sidecar of the payload file at
// path records, if it has a well-formed one bound to fi, the payload
// file's current state; else nil. Only errors other than a missing,
// malformed or planted sidecar are returned.
func (d *Driver) readSidecar(path string, fi fs.FileInfo) ([]byte, error) {
	f, _, err := d.openRegular(sidecarPath(path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxSidecarBytes+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	sum, b, ok := parseSidecar(buf[:n])
	if !ok || b != bindingOf(fi) {
		return nil, nil
	}
	return sum, nil
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
//
// The portable layer verifies the checksum (BlobReader.Verified is
// false): a file system keeps none that it checks on read.
func (d *Driver) OpenBlob(ctx context.Context, key string, offset, length int64, _ *driver.OpenOptions) (*driver.BlobReader, error) {
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
	return &driver.BlobReader{ReadCloser: &blobReader{ctx: ctx, f: f, r: io.NewSectionReader(f, offset, n)}}, nil
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

// StatBlob describes a payload from its file's metadata (lstat: a planted
// symbolic link is PermissionDenied, as for OpenBlob), with its SHA-256 if
// a sidecar bound to the file records one. ContentType is always "": the
// driver keeps none (the portable layer records it in the document).
func (d *Driver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBlobKey(key); err != nil {
		return nil, err
	}
	path := joinPath(blobComponents(key))
	fi, err := d.root.Lstat(path)
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: fs.ErrNotExist}
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: errNotRegular}
	}
	sum, err := d.readSidecar(path, fi)
	if err != nil {
		return nil, err
	}
	info := &driver.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
	if sum != nil {
		info.Checksum = driver.Checksum{Algorithm: driver.SHA256, Sum: sum}
	}
	return info, nil
}

// DeleteBlob removes a payload, then its checksum sidecar if it has one
// (also a sidecar whose payload a crash kept from being linked), then the
// directories it leaves empty.
func (d *Driver) DeleteBlob(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBlobKey(key); err != nil {
		return err
	}
	path := joinPath(blobComponents(key))
	dir, _ := splitDir(path)
	removed := true
	if err := d.root.Remove(path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return err
		}
		removed = false
	}
	// The payload is gone: a sidecar left behind (should this fail) is
	// harmless, bound to a file that no longer exists, and listings
	// remove it.
	if err := d.root.Remove(sidecarPath(path)); err == nil {
		removed = true
	}
	if !removed {
		return nil
	}
	if err := d.syncDir(dir); err != nil {
		return err
	}
	d.removeEmptyDirs(dir, blobsDir)
	return nil
}

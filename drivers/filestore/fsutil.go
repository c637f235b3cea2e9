package filestore

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tempName returns a fresh temporary file name. Temporary files live in the
// directory of the file they will become, so that the final rename or link
// never crosses file systems.
func tempName() string {
	return tempPrefix + strconv.FormatUint(rand.Uint64()|1<<63, 36)
}

// createTemp creates a new temporary file in dir, creating dir (and its
// parents) if needed. It returns the file and its path.
func (d *Driver) createTemp(dir string) (*os.File, string, error) {
	for attempt := 0; ; attempt++ {
		p := dir + "/" + tempName()
		f, err := d.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, p, nil
		}
		if attempt >= 20 {
			return nil, "", err
		}
		switch {
		case errors.Is(err, fs.ErrExist):
			// A name collision: try another name.
		case errors.Is(err, fs.ErrNotExist):
			// The directory is missing, or a concurrent delete just
			// removed it as empty: (re)create it. A delete may remove a
			// parent again while mkdirs works its way down; try again.
			if err := d.mkdirs(dir); err != nil && (!errors.Is(err, fs.ErrNotExist) || attempt >= 20) {
				return nil, "", err
			}
		default:
			return nil, "", err
		}
	}
}

// mkdirs creates dir and its missing parents, and syncs each parent that
// gained an entry, so that the new directories survive a crash.
func (d *Driver) mkdirs(dir string) error {
	err := d.root.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrNotExist) && strings.IndexByte(dir, '/') > 0 {
		if err := d.mkdirs(parentDir(dir)); err != nil {
			return err
		}
		err = d.root.Mkdir(dir, 0o700)
	}
	switch {
	case err == nil:
		return d.syncDir(parentDir(dir))
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return err
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "."
	}
	return p[:i]
}

// syncDir fsyncs a directory, making the entries created, renamed or
// removed in it durable.
func (d *Driver) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	f, err := d.root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// finishTemp syncs and closes a temporary file; on error it removes it.
func (d *Driver) finishTemp(f *os.File, tmp string) error {
	var err error
	if !d.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = d.root.Remove(tmp)
	}
	return err
}

// writeTemp writes data to a new, synced temporary file in dir.
func (d *Driver) writeTemp(dir string, data []byte) (string, error) {
	f, tmp, err := d.createTemp(dir)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = d.root.Remove(tmp)
		return "", err
	}
	return tmp, d.finishTemp(f, tmp)
}

// removeEmptyDirs removes dir and then its parents while they are empty,
// up to (not including) the top-level directory top. A directory that is
// not empty (or that a concurrent writer refills) stops it; writers that
// lose a directory this way recreate it (see createTemp).
func (d *Driver) removeEmptyDirs(dir, top string) {
	for dir != top && strings.HasPrefix(dir, top+"/") {
		if err := d.root.Remove(dir); err != nil {
			return
		}
		_ = d.syncDir(parentDir(dir))
		dir = parentDir(dir)
	}
}

// openRegular opens a file for reading, refusing to have followed a
// symbolic link at its last component. (os.Root never follows one out of
// the root; this also keeps a link planted inside the root from aliasing
// another document or payload.) The file is opened, then the name is
// examined with lstat: if the two are not the same file, a writer replaced
// the file in between and the check is repeated.
func (d *Driver) openRegular(p string) (*os.File, fs.FileInfo, error) {
	for attempt := 0; ; attempt++ {
		f, err := d.root.Open(p)
		if err != nil {
			return nil, nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		li, err := d.root.Lstat(p)
		switch {
		case err == nil && li.Mode().IsRegular() && os.SameFile(fi, li):
			return f, fi, nil
		case err == nil && !li.Mode().IsRegular():
			err = &fs.PathError{Op: "open", Path: p, Err: errNotRegular}
		case attempt < 100 && (err == nil || errors.Is(err, fs.ErrNotExist)):
			f.Close()
			continue // replaced or removed meanwhile
		case err == nil:
			err = &fs.PathError{Op: "open", Path: p, Err: errors.New("file keeps changing")}
		}
		f.Close()
		return nil, nil, err
	}
}

// readRegular reads a whole file with openRegular.
func (d *Driver) readRegular(p string) ([]byte, error) {
	f, fi, err := d.openRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// readDir lists a directory. A missing directory is empty.
func (d *Driver) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := d.root.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	return ents, err
}

// hasPayloadFile reports whether the sidecar named side in dir belongs to
// a payload file that exists (as a regular file).
func (d *Driver) hasPayloadFile(dir, side string) bool {
	base := strings.TrimPrefix(side, sidecarPrefix)
	if kind, _ := classify(base); kind != kindBlob {
		return false
	}
	fi, err := d.root.Lstat(dir + "/" + base)
	if err != nil {
		// Only a payload known to be missing makes its sidecar an orphan.
		return !errors.Is(err, fs.ErrNotExist)
	}
	return fi.Mode().IsRegular()
}

// isRealDir reports whether every component of the relative path p is a
// directory, not a symbolic link. Listings start from such a directory and
// never descend into links, so a planted link is neither followed nor
// listed.
func (d *Driver) isRealDir(p string) (bool, error) {
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		fi, err := d.root.Lstat(p[:i])
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !fi.IsDir() {
			return false, nil
		}
	}
	return true, nil
}

// tidy removes, from dir, whose entries a listing just read, the files
// that writers killed mid-write left behind: temporary files, and checksum
// sidecars whose payload file is missing (a crash between writing the two),
// once they were last modified more than the driver's stale age ago
// (Options.StaleTempAge). If that leaves dir empty, it removes dir and the
// parents that this leaves empty, up to top. Both kinds of file are
// invisible to every read and listing, so they are harmless apart from the
// space they take; failures are ignored, as a later listing tries again.
//
// A live writer never loses a file this way unless it stalls for longer
// than the stale age: it writes its temporary file as the payload arrives
// (every write refreshes the modification time), and writes a sidecar
// just before linking the payload. A writer that does stall that long then
// fails cleanly (its link or rename finds no file) and commits nothing.
func (d *Driver) tidy(dir, top string, ents []fs.DirEntry) {
	if d.staleAge < 0 {
		return
	}
	var names map[string]bool // the entries' names, made for the first sidecar
	var cutoff time.Time
	left := len(ents)
	for _, e := range ents {
		name := e.Name()
		temp, side := isTempName(name), isSidecarName(name)
		if !temp && !side || !e.Type().IsRegular() {
			continue
		}
		if side {
			if names == nil {
				names = make(map[string]bool, len(ents))
				for _, e := range ents {
					names[e.Name()] = true
				}
			}
			if names[strings.TrimPrefix(name, sidecarPrefix)] {
				continue // its payload is there
			}
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if cutoff.IsZero() {
			cutoff = time.Now().Add(-d.staleAge)
		}
		if !fi.ModTime().Before(cutoff) || side && d.hasPayloadFile(dir, name) {
			continue
		}
		if err := d.root.Remove(dir + "/" + name); err == nil {
			left--
		}
	}
	if left == 0 && len(ents) > 0 && dir != top {
		d.removeEmptyDirs(dir, top)
	}
}

package filestore

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/signtest"
	"github.com/docblob/docblob/localsign"
)

// harness runs the conformance suite over one temporary directory.
type harness struct {
	dir   string
	stops []func()
}

// MakeDriver returns a driver over the harness's directory with signed
// URLs served by localsign, as a user would set it up for local
// development.
func (h *harness) MakeDriver(context.Context) (driver.Driver, error) {
	d, err := New(&Options{Dir: h.dir})
	if err != nil {
		return nil, err
	}
	sd, stop := signtest.Wrap(d)
	h.stops = append(h.stops, stop)
	return sd, nil
}

// MakeCollectionDriver returns a driver over the harness's directory and
// collection c.Name, with c's key layout and signed URLs.
func (h *harness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	d, err := New(&Options{Dir: h.dir, Collection: c.Name, PartitionKey: pk, SortKey: sk, NoSortKey: c.NoSortKey})
	if err != nil {
		return nil, err
	}
	sd, stop := signtest.Wrap(d)
	h.stops = append(h.stops, stop)
	return sd, nil
}

// AsTest lists what the harness's stores expose: the driver's *os.Root
// and directory, the localsign.Signer that signs their URLs, the
// *fs.PathError of missing files and the *driver.Error of failed
// conditions.
func (h *harness) AsTest() conformance.AsTest {
	return conformance.AsTest{
		Clients: []any{new(*os.Root), new(string), new(*localsign.Signer)},
		Errors: []conformance.ErrorAs{
			{Failure: "GetMissing", Target: new(*fs.PathError)},
			{Failure: "CreateExisting", Target: new(*driver.Error)},
			{Failure: "RevisionConflict", Target: new(*driver.Error)},
			{Failure: "ReadMissing", Target: new(*fs.PathError)},
		},
	}
}

// CorruptBlob flips the bits of the payload file's first byte in place,
// keeping its length.
func (h *harness) CorruptBlob(_ context.Context, key string) error {
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.OpenFile(joinPath(blobComponents(key)), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 0); err != nil {
		f.Close()
		return err
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (h *harness) Close() {
	for _, stop := range h.stops {
		stop()
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(_ context.Context, t *testing.T) (conformance.Harness, error) {
		return &harness{dir: t.TempDir()}, nil
	})
}

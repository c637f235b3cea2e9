package docblob_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/signtest"
)

// TestConformance runs the whole conformance suite on the memory driver,
// so that a change to the portable layer is checked against every group
// by this package's own tests. It takes a few seconds: the Faults group
// makes 20 faulted runs instead of 200 (drivers/memstore runs the suite
// with the full count).
func TestConformance(t *testing.T) {
	t.Setenv(conformance.FaultRunsEnv, "20")
	conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
		mem, err := memstore.New(nil)
		if err != nil {
			return nil, err
		}
		return &memHarness{mem: mem}, nil
	})
}

// memHarness gives the suite memory drivers over one storage, with signed
// URLs served by localsign.
type memHarness struct {
	mem     *memstore.Driver
	corrupt sync.Map // payload keys that CorruptBlob corrupted
	stops   []func()
}

func (h *memHarness) wrap(d driver.Driver) driver.Driver {
	sd, stop := signtest.Wrap(&corruptible{Driver: d, corrupt: &h.corrupt})
	h.stops = append(h.stops, stop)
	return sd
}

func (h *memHarness) MakeDriver(context.Context) (driver.Driver, error) {
	return h.wrap(h.mem.Share()), nil
}

func (h *memHarness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	mem, err := h.mem.ShareBlobs(&memstore.Options{Collection: c.Name, PartitionKey: pk, SortKey: sk, NoSortKey: c.NoSortKey})
	if err != nil {
		return nil, err
	}
	return h.wrap(mem), nil
}

// CorruptBlob makes the payload's first byte read flipped from now on,
// through every driver of the harness: the memory driver keeps its bytes
// out of reach.
func (h *memHarness) CorruptBlob(_ context.Context, key string) error {
	h.corrupt.Store(key, true)
	return nil
}

func (h *memHarness) Close() {
	for _, stop := range h.stops {
		stop()
	}
}

// corruptible flips the first byte of the payloads that its harness
// corrupted as they are read.
type corruptible struct {
	driver.Driver
	corrupt *sync.Map
}

func (c *corruptible) OpenBlob(ctx context.Context, key string, offset, length int64, opts *driver.OpenOptions) (*driver.BlobReader, error) {
	r, err := c.Driver.OpenBlob(ctx, key, offset, length, opts)
	if _, bad := c.corrupt.Load(key); err != nil || offset != 0 || !bad {
		return r, err
	}
	return &driver.BlobReader{ReadCloser: &flipFirst{ReadCloser: r}}, nil
}

// flipFirst flips the bits of the first byte it reads.
type flipFirst struct {
	io.ReadCloser
	done bool
}

func (f *flipFirst) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 0xff
		f.done = true
	}
	return n, err
}

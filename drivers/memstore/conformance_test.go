package memstore_test

import (
	"context"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/signtest"
)

type harness struct {
	d     *memstore.Driver
	stops []func()
}

// MakeDriver returns a driver over the harness's storage with signed URLs
// served by localsign, as a user would set it up for local development.
func (h *harness) MakeDriver(context.Context) (driver.Driver, error) {
	d, stop := signtest.Wrap(h.d.Share())
	h.stops = append(h.stops, stop)
	return d, nil
}

// MakeCollectionDriver returns a driver over the harness's storage and
// collection c.Name, with signed URLs.
func (h *harness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	d, stop := signtest.Wrap(h.d.ShareBlobs(&memstore.Options{Collection: c.Name, NoSortKey: c.NoSortKey}))
	h.stops = append(h.stops, stop)
	return d, nil
}

func (h *harness) CorruptBlob(_ context.Context, key string) error {
	data, err := h.d.BlobData(key)
	if err != nil {
		return err
	}
	data[0] ^= 0xff
	return h.d.ReplaceBlobData(key, data)
}

func (h *harness) Close() {
	for _, stop := range h.stops {
		stop()
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
		return &harness{d: memstore.New(nil)}, nil
	})
}

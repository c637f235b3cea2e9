package memstore_test

import (
	"context"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/signtest"
	"github.com/docblob/docblob/localsign"
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
// collection c.Name, with c's key layout and signed URLs.
func (h *harness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	shared, err := h.d.ShareBlobs(&memstore.Options{Collection: c.Name, PartitionKey: pk, SortKey: sk, NoSortKey: c.NoSortKey})
	if err != nil {
		return nil, err
	}
	d, stop := signtest.Wrap(shared)
	h.stops = append(h.stops, stop)
	return d, nil
}

// AsTest lists what the harness's stores expose: the localsign.Signer
// that signs their URLs, and the driver's errors, which are
// *driver.Error values.
func (h *harness) AsTest() conformance.AsTest {
	return conformance.AsTest{
		Clients: []any{new(*localsign.Signer)},
		Errors: []conformance.ErrorAs{
			{Failure: "GetMissing", Target: new(*driver.Error)},
			{Failure: "CreateExisting", Target: new(*driver.Error)},
			{Failure: "RevisionConflict", Target: new(*driver.Error)},
			{Failure: "ReadMissing", Target: new(*driver.Error)},
		},
	}
}

func (h *harness) CorruptBlob(_ context.Context, key string) error {
	return memstore.CorruptBlob(h.d, key)
}

func (h *harness) Close() {
	for _, stop := range h.stops {
		stop()
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
		d, err := memstore.New(nil)
		if err != nil {
			return nil, err
		}
		return &harness{d: d}, nil
	})
}

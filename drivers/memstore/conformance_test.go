package memstore_test

import (
	"context"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

type harness struct{ d *memstore.Driver }

func (h *harness) MakeDriver(context.Context) (driver.Driver, error) { return h.d.Share(), nil }

func (h *harness) CorruptBlob(_ context.Context, key string) error {
	data, err := h.d.BlobData(key)
	if err != nil {
		return err
	}
	data[0] ^= 0xff
	return h.d.ReplaceBlobData(key, data)
}

func (h *harness) Close() {}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
		return &harness{d: memstore.New(nil)}, nil
	})
}

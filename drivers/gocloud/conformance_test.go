package gocloud_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"github.com/docblob/docblob/internal/signtest"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/docstore"
)

// memHarness is a memblob bucket and memdocstore collections, by name.
type memHarness struct {
	bucket *blob.Bucket

	mu    sync.Mutex
	colls map[string]*docstore.Collection
	stops []func()
}

func newMemHarness(context.Context, *testing.T) (conformance.Harness, error) {
	return &memHarness{bucket: memblob.OpenBucket(nil), colls: map[string]*docstore.Collection{}}, nil
}

// newFileHarness is a fileblob bucket in a temporary directory with
// memdocstore collections.
func newFileHarness(_ context.Context, t *testing.T) (conformance.Harness, error) {
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		return nil, err
	}
	return &memHarness{bucket: b, colls: map[string]*docstore.Collection{}}, nil
}

func (h *memHarness) driver(name, pk, sk string) (driver.Driver, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	coll := h.colls[name]
	if coll == nil {
		var err error
		if coll, err = gocloud.MemCollection(pk, sk); err != nil {
			return nil, err
		}
		h.colls[name] = coll
	}
	d, err := gocloud.New(h.bucket, coll, &gocloud.Options{
		PartitionKey: pk, SortKey: sk, NoSortKey: sk == "",
		Retries: gocloud.RetriesNone, SettledOnReturn: true,
		Collection: name,
	})
	if err != nil {
		return nil, err
	}
	wrapped, stop := signtest.Wrap(d)
	h.stops = append(h.stops, stop)
	return wrapped, nil
}

func (h *memHarness) MakeDriver(context.Context) (driver.Driver, error) {
	return h.driver("main", "pk", "sk")
}

func (h *memHarness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	return h.driver(c.Name, pk, sk)
}

func (h *memHarness) CorruptBlob(ctx context.Context, key string) error {
	return corruptBlob(ctx, h.bucket, key)
}

func (h *memHarness) Close() {
	for _, stop := range h.stops {
		stop()
	}
	for _, c := range h.colls {
		c.Close()
	}
	h.bucket.Close()
}

// corruptBlob rewrites the payload under key with as many other bytes.
func corruptBlob(ctx context.Context, b *blob.Bucket, key string) error {
	data, err := b.ReadAll(ctx, key)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("payload %q is empty", key)
	}
	for i := range data {
		data[i] ^= 0x5a
	}
	return b.WriteAll(ctx, key, data, nil)
}

func TestConformanceMem(t *testing.T) {
	conformance.Run(t, newMemHarness)
}

func TestConformanceFile(t *testing.T) {
	conformance.Run(t, newFileHarness)
}

func TestDriverMem(t *testing.T) { testDriver(t, newMemHarness) }

func TestDriverFile(t *testing.T) { testDriver(t, newFileHarness) }

func testDriver(t *testing.T, newHarness conformance.HarnessMaker) {
	h, err := newHarness(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d, err := h.MakeDriver(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := conformance.TestDriver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

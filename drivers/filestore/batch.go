package filestore

import (
	"context"

	"github.com/docblob/docblob/driver"
)

// GetDocuments implements driver.Driver: one GetDocument per key.
func (d *Driver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

// DeleteBlobs implements driver.Driver: one DeleteBlob per key.
func (d *Driver) DeleteBlobs(ctx context.Context, keys []string) []error {
	return driver.DeleteEach(ctx, d, keys)
}

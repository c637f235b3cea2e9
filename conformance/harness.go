package conformance

import (
	"context"
	"testing"

	"github.com/docblob/docblob/driver"
)

// Harness gives the suite access to one backend's storage.
type Harness interface {
	// MakeDriver returns a new driver over the harness's storage. Every
	// driver a harness makes sees the same documents and payloads, so a test
	// can use two at once. The suite closes the drivers it makes.
	MakeDriver(ctx context.Context) (driver.Driver, error)
	// CorruptBlob changes the stored bytes of the payload under key behind
	// the driver's back, keeping its length, so that a later read sees other
	// content. The payload is at least one byte long.
	CorruptBlob(ctx context.Context, key string) error
	// Close releases the harness's resources.
	Close()
}

// HarnessMaker makes a harness over fresh, empty storage. The suite calls it
// once per test, so tests never see each other's data.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

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
	// MakeCollectionDriver returns a new driver over the harness's blob
	// storage (the same payloads MakeDriver's drivers see) and a separate
	// document collection named c.Name, empty at first, keyed by "pk"
	// (and "sk" unless c.NoSortKey). The driver reports c.Name as
	// Info.Collection, or a name made unique from it (a DynamoDB table
	// name on a shared server, say). Drivers made for the same c.Name see
	// the same documents. The suite closes the drivers it makes; the
	// harness removes the collections when it is closed.
	MakeCollectionDriver(ctx context.Context, c Collection) (driver.Driver, error)
	// CorruptBlob changes the stored bytes of the payload under key behind
	// the driver's back, keeping its length, so that a later read sees other
	// content. The payload is at least one byte long.
	CorruptBlob(ctx context.Context, key string) error
	// Close releases the harness's resources.
	Close()
}

// Collection describes a document collection for
// Harness.MakeCollectionDriver.
type Collection struct {
	// Name is the collection's name: letters, digits and '-', other than
	// the name of the collection MakeDriver's drivers use.
	Name string
	// NoSortKey makes documents keyed by a partition key only.
	NoSortKey bool
}

// HarnessMaker makes a harness over fresh, empty storage. The suite calls it
// once per test, so tests never see each other's data.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

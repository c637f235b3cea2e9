package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// Harness gives the suite access to one backend's storage.
type Harness interface {
	// MakeDriver returns a new driver over the harness's storage, keyed by
	// the default attribute names "pk" and "sk". Every driver a harness
	// makes sees the same documents and payloads, so a test can use two at
	// once. The suite closes the drivers it makes.
	MakeDriver(ctx context.Context) (driver.Driver, error)
	// MakeCollectionDriver returns a new driver over the harness's blob
	// storage (the same payloads MakeDriver's drivers see) and a separate
	// document collection named c.Name, empty at first, with the key
	// layout c describes. The driver reports c.Name as Info.Collection,
	// or a name made unique from it (a DynamoDB table name on a shared
	// server, say), and c's key attribute names in Info.PartitionKey and
	// Info.SortKey. Drivers made for the same c.Name see the same
	// documents; the suite always describes a name with the same layout.
	// The suite closes the drivers it makes; the harness removes the
	// collections when it is closed.
	MakeCollectionDriver(ctx context.Context, c Collection) (driver.Driver, error)
	// CorruptBlob changes the stored bytes of the payload under key behind
	// the driver's back, keeping its length, so that a later read sees other
	// content. The payload is at least one byte long.
	CorruptBlob(ctx context.Context, key string) error
	// Close releases the harness's resources.
	Close()
}

// Collection describes a document collection and its key layout for
// Harness.MakeCollectionDriver, as gocloud.dev's docstore drivertest
// describes collections by kind.
type Collection struct {
	// Name is the collection's name: letters, digits and '-', other than
	// the name of the collection MakeDriver's drivers use.
	Name string
	// PartitionKey is the partition key's attribute name; "" means "pk".
	PartitionKey string
	// SortKey is the sort key's attribute name; "" means "sk". It is
	// ignored if NoSortKey is set.
	SortKey string
	// NoSortKey makes documents keyed by a partition key only.
	NoSortKey bool
}

// Keys returns the key attribute names of the collection: c.PartitionKey
// and c.SortKey with their defaults filled in, and sortKey "" if
// c.NoSortKey. Harnesses pass them to their drivers' options.
func (c Collection) Keys() (partitionKey, sortKey string) {
	partitionKey, sortKey = c.PartitionKey, c.SortKey
	if partitionKey == "" {
		partitionKey = "pk"
	}
	if sortKey == "" {
		sortKey = "sk"
	}
	if c.NoSortKey {
		sortKey = ""
	}
	return partitionKey, sortKey
}

// HarnessMaker makes a harness over fresh, empty storage. The suite calls it
// once per test, so tests never see each other's data.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// WriteDeadliner is implemented by harnesses whose drivers need more than
// one request per document write, and so more time per write under
// contention: a driver that reads a document before writing it
// conditionally (drivers/gocloud, over docstore, which returns no
// replaced version), and reads it again after losing a race. The Hammer
// group gives each write one second by default (Options.CommitDeadline
// and Options.WriteTimeout), which holds a driver to one round trip per
// document write; a harness that implements WriteDeadliner gets
// WriteDeadline instead, and the sweeps the group runs meanwhile get a
// grace margin scaled with it (three times the deadline), so that what
// the group checks (no committed document ever loses a payload to a
// concurrent sweep; consistency afterwards) is unchanged. A value under
// one second is ignored. Harnesses of drivers that write a document in
// one request should not implement it.
type WriteDeadliner interface {
	WriteDeadline() time.Duration
}

// Wire is implemented by harnesses whose drivers send requests to storage
// over a network, through a client that may re-send them. It lets the
// suite count those requests and lose their responses where a real network
// loses them: below the driver, where the client's own retries happen.
// The RequestCounts group then counts requests on the wire as well as
// driver calls, and the LostResponses group loses the responses of
// document writes on the wire.
//
// A harness of a driver whose Info.SettledOnReturn is false (one behind a
// network) must implement Wire: the LostResponses group fails without
// it. Harnesses of in-process drivers need not: the suite then loses
// responses at the driver's interface, which is where an in-process
// driver's caller would see them, and so checks the portable layer.
type Wire interface {
	// WireRequests returns how many requests the harness's drivers have
	// sent to storage since the harness was made: every attempt counted,
	// re-sends included, documents and payloads alike.
	WireRequests() int
	// LoseWriteResponse makes the next request that writes or deletes a
	// document (not a payload), sent by any driver of the harness, reach
	// storage and be applied, and then lose its response: the client sees
	// a reset connection instead, as when the network fails after the
	// server committed. Before the client sees that failure, lost is
	// called, once: what it writes through other drivers of the harness
	// is applied after the lost write and before any re-send of it by the
	// client (the interleaved writer of the LostResponses group). Requests
	// that lost makes are not lost.
	LoseWriteResponse(lost func())
}

// AsTester is implemented by harnesses whose drivers expose their clients
// and errors through As and ErrorAs (see driver.Driver), like the AsTest of
// gocloud.dev's blob drivertest. The As group checks every store with
// what every store supports (Store.As of a *driver.Driver, and false for a
// type nobody supports), and, if the harness implements AsTester, with
// what AsTest lists.
type AsTester interface {
	AsTest() AsTest
}

// AsTest lists what Store.As and Store.ErrorAs must support on a store over
// a harness's driver (see AsTester).
type AsTest struct {
	// Clients are pointers to variables of the types that Store.As must
	// set, such as new(*s3.Client): the As group wants As to report true
	// for each and to set a non-nil value.
	Clients []any
	// Errors are the error types that Store.ErrorAs must reach in the
	// errors of failed operations.
	Errors []ErrorAs
}

// ErrorAs says that Store.ErrorAs must reach an error of Target's type in
// the error of a failed operation.
type ErrorAs struct {
	// Failure names the failed operation, one of these:
	//
	//	"GetMissing"        Store.Get of a document that does not exist
	//	                    (NotFound)
	//	"CreateExisting"    Store.Create of a document that exists
	//	                    (AlreadyExists)
	//	"RevisionConflict"  Store.Put with a stale revision
	//	                    (FailedPrecondition)
	//	"ReadMissing"       reading a payload deleted behind the store's
	//	                    back (NotFound)
	Failure string
	// Target is a pointer to a variable of the error type, such as
	// new(*types.ConditionalCheckFailedException) or new(smithy.APIError).
	// The As group wants ErrorAs to report true and to set a non-nil value.
	Target any
}

package conformance_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMapDriver runs the whole suite on the example's driver. The Faults
// group makes 20 runs rather than 200: this is the suite's own test, not a
// driver's.
func TestMapDriver(t *testing.T) {
	t.Setenv(conformance.FaultRunsEnv, "20")
	conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
		return &mapHarness{st: newMapStorage()}, nil
	})
}

// Drivers with one bug each, over mapDriver.
type (
	// createOverwrites ignores MustNotExist.
	createOverwrites struct{ *mapDriver }
	// uncodedNotFound returns a missing document as an error it does not
	// classify.
	uncodedNotFound struct{ *mapDriver }
	// listAll ignores ListBlobs' prefix.
	listAll struct{ *mapDriver }
	// ascendingOnly ignores Query.Descending.
	ascendingOnly struct{ *mapDriver }
	// unsegmented ignores Query.Segment and TotalSegments.
	unsegmented struct{ *mapDriver }
)

func (d createOverwrites) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if cond.Kind == driver.MustNotExist {
		cond.Kind = driver.Always
	}
	return d.mapDriver.PutDocument(ctx, doc, cond)
}

func (d uncodedNotFound) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	doc, err := d.mapDriver.GetDocument(ctx, key)
	if errors.Is(err, driver.NotFound) {
		return nil, errors.New("no such document")
	}
	return doc, err
}

func (d uncodedNotFound) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

func (d listAll) ListBlobs(ctx context.Context, _, token string) (*driver.BlobPage, error) {
	return d.mapDriver.ListBlobs(ctx, "", token)
}

func (d ascendingOnly) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	qc := *q
	qc.Descending = false
	return d.mapDriver.QueryDocuments(ctx, &qc)
}

func (d unsegmented) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	qc := *q
	qc.Segment, qc.TotalSegments = 0, 0
	return d.mapDriver.QueryDocuments(ctx, &qc)
}

// TestTestDriverFindsBugs checks that TestDriver reports a driver's bug as
// one, naming the method, the input and what was expected.
func TestTestDriverFindsBugs(t *testing.T) {
	for _, tc := range []struct {
		name string
		drv  func(*mapDriver) driver.Driver
		want []string // in one of the errors
	}{
		{"CreateOverwrites", func(d *mapDriver) driver.Driver { return createOverwrites{d} },
			[]string{"PutDocument((", "MustNotExist) of an existing document: succeeded, want an error with code already exists"}},
		{"UncodedNotFound", func(d *mapDriver) driver.Driver { return uncodedNotFound{d} },
			[]string{"GetDocument((", ") of a document never written: error \"no such document\" has code unknown, want not found"}},
		{"ListAll", func(d *mapDriver) driver.Driver { return listAll{d} },
			[]string{"ListBlobs(\"conformance-", "/list/\") returned \"conformance-", "outside the prefix"}},
		{"AscendingOnly", func(d *mapDriver) driver.Driver { return ascendingOnly{d} },
			[]string{"QueryDocuments({Partition: \"conformance-", "Descending}) returned sort keys"}},
		{"Unsegmented", func(d *mapDriver) driver.Driver { return unsegmented{d} },
			[]string{"a scan in 2 segments", "from segments [0 1], want from exactly one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := conformance.TestDriver(context.Background(), tc.drv(newMapStorage().driver("bugs", "pk", "sk")))
			require.Error(t, err, "TestDriver of a driver with a bug")
			errs := err.(interface{ Unwrap() []error }).Unwrap()
			found := slices.ContainsFunc(errs, func(e error) bool {
				for _, w := range tc.want {
					if !strings.Contains(e.Error(), w) {
						return false
					}
				}
				return true
			})
			assert.True(t, found, "no error contains all of %q:\n%v", tc.want, err)
		})
	}
}

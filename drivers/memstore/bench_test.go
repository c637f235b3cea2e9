package memstore_test

import (
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

func BenchmarkStore(b *testing.B) {
	conformance.Benchmark(b, func(*testing.B) driver.Driver { return memstore.New(nil) })
}

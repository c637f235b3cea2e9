package memstore_test

import (
	"testing"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

func BenchmarkStore(b *testing.B) {
	conformance.Benchmark(b, func(b *testing.B) driver.Driver {
		d, err := memstore.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		return d
	})
}

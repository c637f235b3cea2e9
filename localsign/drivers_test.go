package localsign_test

import (
	"testing"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/filestore"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/localsign"
)

func init() {
	localsign.TestDrivers = func(t *testing.T) map[string]driver.Driver {
		fd, err := filestore.New(&filestore.Options{Dir: t.TempDir(), NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]driver.Driver{"filestore": fd, "memstore": newMem()}
	}
	localsign.NewMemDriver = func() driver.Driver { return newMem() }
}

// newMem returns a fresh in-memory driver.
func newMem() driver.Driver {
	d, err := memstore.New(nil)
	if err != nil {
		panic(err) // default options cannot be invalid
	}
	return d
}

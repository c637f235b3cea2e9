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
		fd, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]driver.Driver{"filestore": fd, "memstore": memstore.New(nil)}
	}
	localsign.NewMemDriver = func() driver.Driver { return memstore.New(nil) }
}

package localsign

import (
	"testing"

	"github.com/docblob/docblob/driver"
)

// The package's tests run against the real drivers, memstore and
// filestore. Those import docblob, which imports this package, so only an
// external test package may import them: drivers_test.go (package
// localsign_test) sets these hooks from its init, before any test runs.
var (
	// TestDrivers returns fresh drivers to run a test against, by name.
	TestDrivers func(t *testing.T) map[string]driver.Driver
	// NewMemDriver returns a fresh in-memory driver.
	NewMemDriver func() driver.Driver
)

package conformance

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asFailures are the failures that AsTest.Errors may name, with the code
// of their error.
var asFailures = map[string]docblob.ErrorCode{
	"GetMissing":       docblob.NotFound,
	"CreateExisting":   docblob.AlreadyExists,
	"RevisionConflict": docblob.FailedPrecondition,
	"ReadMissing":      docblob.NotFound,
}

// testAs checks Store.As and Store.ErrorAs: what every store supports,
// and what the harness's AsTest lists (see AsTester).
func testAs(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	var at AsTest
	if a, ok := e.h.(AsTester); ok {
		at = a.AsTest()
	}

	// Provoke each failure.
	failures := map[string]error{}
	failures["GetMissing"] = e.store.Get(e.ctx, &record{PK: "as", SK: "missing"})
	must(t, e.store.Put(e.ctx, &record{PK: "as", SK: "1"}), "Put")
	failures["CreateExisting"] = e.store.Create(e.ctx, &record{PK: "as", SK: "1"})
	stale := &record{PK: "as", SK: "1"}
	must(t, e.store.Get(e.ctx, stale), "Get")
	must(t, e.store.Put(e.ctx, &record{PK: "as", SK: "1", Title: "newer"}), "Put")
	failures["RevisionConflict"] = e.store.Put(e.ctx, stale)
	doc := &record{PK: "as", SK: "2", File: docblob.NewBlobBytes([]byte("deleted behind the store's back"), nil)}
	must(t, e.store.Put(e.ctx, doc), "Put")
	must(t, e.rawDriver().DeleteBlob(e.ctx, doc.File.Key()), "raw DeleteBlob")
	_, failures["ReadMissing"] = doc.File.ReadAll(e.ctx)
	must(t, e.store.Delete(e.ctx, doc), "Delete")
	for name, code := range asFailures {
		if docblob.Code(failures[name]) != code {
			t.Fatalf("%s: %v, want an error with code %v", name, failures[name], code)
		}
	}

	t.Run("Driver", func(t *testing.T) {
		var d driver.Driver
		if !e.store.As(&d) || d == nil {
			t.Errorf("Store.As(*driver.Driver) reported false or set nil; every store gives its driver")
		}
	})
	t.Run("Unsupported", func(t *testing.T) {
		var x *unknownType
		assert.False(t, e.store.As(&x), "Store.As of a type no driver supports")
		for name, err := range failures {
			assert.False(t, e.store.ErrorAs(err, &x), "Store.ErrorAs(%s error, a type no driver returns)", name)
		}
		assert.False(t, e.store.ErrorAs(nil, &x), "Store.ErrorAs(nil error)")
	})
	t.Run("Clients", func(t *testing.T) {
		if len(at.Clients) == 0 {
			t.Skip("the harness lists no clients (see AsTester)")
		}
		for _, c := range at.Clients {
			t.Run(fmt.Sprintf("%T", c), func(t *testing.T) {
				v := pointee(t, c)
				if !e.store.As(c) || v.IsZero() {
					t.Errorf("Store.As(%T) reported false or set nothing, want the driver's client", c)
				}
			})
		}
	})
	t.Run("Errors", func(t *testing.T) {
		if len(at.Errors) == 0 {
			t.Skip("the harness lists no error types (see AsTester)")
		}
		for _, ea := range at.Errors {
			t.Run(fmt.Sprintf("%s/%T", ea.Failure, ea.Target), func(t *testing.T) {
				err, ok := failures[ea.Failure]
				if !ok {
					t.Fatalf("AsTest lists the failure %q; want one of %q", ea.Failure, slices.Sorted(maps.Keys(asFailures)))
				}
				v := pointee(t, ea.Target)
				if !e.store.ErrorAs(err, ea.Target) || v.IsZero() {
					t.Errorf("Store.ErrorAs(%q, %T) reported false or set nothing, want the driver's error", err, ea.Target)
				}
				// The error still has its code.
				assert.True(t, errors.Is(err, asFailures[ea.Failure]), "errors.Is(%q, %v)", err, asFailures[ea.Failure])
			})
		}
	})
}

// pointee returns the variable p points to, set to its zero value.
func pointee(t *testing.T, p any) reflect.Value {
	t.Helper()
	v := reflect.ValueOf(p)
	require.True(t, v.Kind() == reflect.Pointer && !v.IsNil(), "%T is not a non-nil pointer", p)
	v = v.Elem()
	v.SetZero()
	return v
}

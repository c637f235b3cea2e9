package spy

import (
	"context"
	"errors"
	"testing"

	"github.com/docblob/docblob/driver"
)

// client is a client type that fake exposes through As.
type client struct{ name string }

// fakeErr is an error type that fake exposes through ErrorAs only.
type fakeErr struct{}

func (fakeErr) Error() string { return "fake" }

// fake is a driver with capabilities of its own, and an ErrorCode that
// calls every error NotFound.
type fake struct{ driver.Driver }

func (fake) Info() driver.Info { return driver.Info{PartitionKey: "pk", SignsURLs: true} }

func (fake) SignedURL(_ context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return "https://signed.invalid/" + key + "?m=" + opts.Method, nil
}

func (fake) As(i any) bool {
	p, ok := i.(**client)
	if ok {
		*p = &client{"inner"}
	}
	return ok
}

func (fake) ErrorAs(_ error, i any) bool {
	p, ok := i.(*fakeErr)
	if ok {
		*p = fakeErr{}
	}
	return ok
}

func (fake) ErrorCode(error) driver.ErrorCode { return driver.NotFound }

func (fake) DeleteBlob(context.Context, string) error { return nil }

func (f fake) DeleteBlobs(ctx context.Context, keys []string) []error {
	return driver.DeleteEach(ctx, f, keys)
}

// TestWrapperKeepsCapabilities checks that the spy passes SignedURL, As
// and ErrorAs through to the driver it wraps, and Info with them.
func TestWrapperKeepsCapabilities(t *testing.T) {
	var d driver.Driver = New(fake{})
	u, err := d.SignedURL(context.Background(), "k", &driver.SignedURLOptions{Method: "GET", Expiry: 1})
	if err != nil || u != "https://signed.invalid/k?m=GET" {
		t.Errorf("SignedURL = %q, %v", u, err)
	}
	if !d.Info().SignsURLs {
		t.Error("Info lost SignsURLs")
	}
	var c *client
	if !d.As(&c) || c.name != "inner" {
		t.Errorf("As(**client) = %v", c)
	}
	var s *Driver
	if !d.As(&s) || s != d {
		t.Error("As(**Driver) did not give the spy")
	}
	var fe fakeErr
	if !d.ErrorAs(errors.New("x"), &fe) {
		t.Error("ErrorAs lost")
	}
}

// TestInjectedErrorsCarryTheirCode checks that an injected error carries
// its code, so that the wrapped driver's ErrorCode never classifies it.
func TestInjectedErrorsCarryTheirCode(t *testing.T) {
	d := New(fake{})
	ctx := context.Background()
	d.FailNext(DeleteBlob, 1, Fault{Err: errors.New("connection reset")})
	d.FailNext(DeleteBlob, 1, Fault{Err: driver.PermissionDenied})
	d.FailNext(DeleteBlob, 1, Fault{Err: errors.New("lost response"), Applied: true})
	for _, want := range []driver.ErrorCode{driver.Unknown, driver.PermissionDenied, driver.Unknown} {
		err := d.DeleteBlob(ctx, "k")
		if got := driver.Classify(d, err); got != want {
			t.Errorf("injected %v: code %v, want %v", err, got, want)
		}
	}
	if got := driver.Classify(d, errors.New("raw")); got != driver.NotFound {
		t.Errorf("raw error: code %v, want the wrapped driver's", got)
	}
	if n := d.Counts()[DeleteBlob]; n != 3 {
		t.Errorf("%d DeleteBlob calls counted", n)
	}
}

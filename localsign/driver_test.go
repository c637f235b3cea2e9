package localsign

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// rootClient is a client type that exposingDriver exposes through As.
type rootClient struct{}

// rootErr is an error type that exposingDriver reaches through ErrorAs.
type rootErr struct{}

func (rootErr) Error() string { return "root" }

// exposingDriver is a driver with escape hatches of its own.
type exposingDriver struct{ driver.Driver }

func (exposingDriver) As(i any) bool {
	p, ok := i.(**rootClient)
	if ok {
		*p = &rootClient{}
	}
	return ok
}

func (exposingDriver) ErrorAs(_ error, i any) bool {
	p, ok := i.(*rootErr)
	if ok {
		*p = rootErr{}
	}
	return ok
}

// TestDriverKeepsCapabilities checks that Signer.Driver signs with the
// Signer, says so in Info, and passes As and ErrorAs through to the
// driver it wraps.
func TestDriverKeepsCapabilities(t *testing.T) {
	inner := exposingDriver{NewMemDriver()}
	if inner.Info().SignsURLs {
		t.Fatal("the memory driver reports that it signs URLs")
	}
	s := New(inner, testSecret, "http://127.0.0.1/blobs")
	d := s.Driver()
	if !d.Info().SignsURLs {
		t.Error("Info does not report SignsURLs")
	}
	u, err := d.SignedURL(context.Background(), "k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute})
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1/blobs?") {
		t.Errorf("SignedURL = %q, %v", u, err)
	}
	var got *Signer
	if !d.As(&got) || got != s {
		t.Error("As(**Signer) did not give the Signer")
	}
	var c *rootClient
	if !d.As(&c) || c == nil {
		t.Error("As did not reach the wrapped driver's client")
	}
	var re rootErr
	if !d.ErrorAs(errors.New("x"), &re) {
		t.Error("ErrorAs did not reach the wrapped driver's")
	}
	// Refusals carry their code, whatever the wrapped driver's ErrorCode.
	_, err = d.SignedURL(context.Background(), "", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute})
	if driver.Classify(d, err) != driver.InvalidArgument || !errors.Is(err, driver.InvalidArgument) {
		t.Errorf("SignedURL of an empty key: %v", err)
	}
}

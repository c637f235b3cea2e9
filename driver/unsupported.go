package driver

import (
	"context"
	"errors"
)

// Unsupported answers the methods of Driver that a backend may have no use
// for: embedded in a driver's struct, it makes SignedURL answer an error
// whose code is Unimplemented, and As and ErrorAs report false. A driver
// overrides the methods it supports; it then reports what it can do in
// Info (Info.SignsURLs for SignedURL). memstore and filestore embed it
// for SignedURL, and localsign gives them signed URLs.
//
//	type Driver struct {
//		driver.Unsupported
//		...
//	}
//
// Wrappers that add behaviour to another driver embed that Driver instead,
// so that they pass every method through.
type Unsupported struct{}

// errNoSigning is the cause of Unsupported.SignedURL's error.
var errNoSigning = errors.New("the driver cannot sign URLs (localsign signs them for backends without a signing service)")

// SignedURL returns an error whose code is Unimplemented.
func (Unsupported) SignedURL(context.Context, string, *SignedURLOptions) (string, error) {
	return "", &Error{Code: Unimplemented, Err: errNoSigning}
}

// As reports false: the driver exposes no client.
func (Unsupported) As(any) bool { return false }

// ErrorAs reports false: the portable layer then looks for i's type in err's
// chain with errors.As.
func (Unsupported) ErrorAs(error, any) bool { return false }

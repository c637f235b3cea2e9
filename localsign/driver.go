package localsign

import (
	"context"
	"errors"
	"time"

	"github.com/docblob/docblob/driver"
)

// Driver returns s's driver with signed URLs: a driver.Driver that passes
// every call to the driver given to New and implements driver.Signer with
// s. Give it to docblob.NewStore so that Blob.SignedURL and
// Store.NewUpload work on a backend without a signing service of its own:
//
//	drv := memstore.New(nil) // or filestore.New(dir, nil)
//	signer := localsign.New(drv, secret, "http://127.0.0.1:8080/blobs")
//	store, err := docblob.NewStore(signer.Driver(), nil)
//	http.Handle("/blobs", signer.Handler())
func (s *Signer) Driver() driver.Driver { return &signingDriver{Driver: s.drv, s: s} }

// signingDriver adds driver.Signer to a driver, and passes its optional
// interfaces through.
type signingDriver struct {
	driver.Driver
	s *Signer
}

var (
	_ driver.Signer      = (*signingDriver)(nil)
	_ driver.Aser        = (*signingDriver)(nil)
	_ driver.TempRemover = (*signingDriver)(nil)
)

func (d *signingDriver) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return d.s.SignedURL(ctx, key, opts)
}

// ErrorCode classifies the Signer's errors (which wrap a driver.ErrorCode)
// and passes the others to the wrapped driver.
func (d *signingDriver) ErrorCode(err error) driver.ErrorCode {
	if c := d.Driver.ErrorCode(err); c != driver.Unknown {
		return c
	}
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return driver.Unknown
}

func (d *signingDriver) As(i any) bool {
	if p, ok := i.(**Signer); ok {
		*p = d.s
		return true
	}
	a, ok := d.Driver.(driver.Aser)
	return ok && a.As(i)
}

func (d *signingDriver) ErrorAs(err error, i any) bool {
	a, ok := d.Driver.(driver.Aser)
	return ok && a.ErrorAs(err, i)
}

func (d *signingDriver) RemoveStaleTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	if tr, ok := d.Driver.(driver.TempRemover); ok {
		return tr.RemoveStaleTemp(ctx, olderThan)
	}
	return 0, nil
}

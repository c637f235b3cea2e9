package localsign

import (
	"context"

	"github.com/docblob/docblob/driver"
)

// Driver returns s's driver with signed URLs: a driver.Driver that passes
// every call to the driver given to New, except SignedURL, which s
// answers, and Info, which reports SignsURLs. Give it to docblob.NewStore
// so that Blob.SignedURL and Store.NewUpload work on a backend without a
// signing service of its own:
//
//	drv, err := memstore.New(nil) // or filestore.New(&filestore.Options{Dir: dir})
//	signer := localsign.New(drv, secret, "http://127.0.0.1:8080/blobs")
//	store, err := docblob.NewStore(signer.Driver(), nil)
//	http.Handle("/blobs", signer.Handler())
//
// Its As sets a **Signer to s, and passes other targets to the driver.
func (s *Signer) Driver() driver.Driver { return &signingDriver{Driver: s.drv, s: s} }

// signingDriver gives a driver s's signed URLs. It embeds the driver, so
// every other method passes through.
type signingDriver struct {
	driver.Driver
	s *Signer
}

func (d *signingDriver) Info() driver.Info {
	info := d.Driver.Info()
	info.SignsURLs = true
	return info
}

func (d *signingDriver) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return d.s.SignedURL(ctx, key, opts)
}

func (d *signingDriver) As(i any) bool {
	if p, ok := i.(**Signer); ok {
		*p = d.s
		return true
	}
	return d.Driver.As(i)
}

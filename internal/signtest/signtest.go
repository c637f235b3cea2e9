// Package signtest gives local drivers signed URLs in tests: it wraps a
// driver with a localsign.Signer served by an httptest server on
// 127.0.0.1.
package signtest

import (
	"crypto/rand"
	"net/http/httptest"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/localsign"
)

// Wrap returns drv with signed URLs, and a function that stops the server
// that serves them.
func Wrap(drv driver.Driver) (driver.Driver, func()) {
	secret := make([]byte, 32)
	rand.Read(secret)
	srv := httptest.NewUnstartedServer(nil)
	signer := localsign.New(drv, secret, "http://"+srv.Listener.Addr().String()+"/blobs")
	srv.Config.Handler = signer.Handler()
	srv.Start()
	return signer.Driver(), srv.Close
}

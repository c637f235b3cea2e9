package docblob

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/localsign"
)

// DriverOpener opens a driver from a URL. Drivers register one for their
// scheme with Register, usually in an init function, so that importing the
// driver's package makes its scheme available to Open.
type DriverOpener interface {
	// OpenDriverURL opens a driver for u. The query parameters that Open
	// understands itself (see Open) have been removed from u; the opener
	// must reject parameters it does not know with an error.
	OpenDriverURL(ctx context.Context, u *url.URL) (driver.Driver, error)
}

// DriverOpenerFunc adapts a function to the DriverOpener interface.
type DriverOpenerFunc func(ctx context.Context, u *url.URL) (driver.Driver, error)

// OpenDriverURL calls f(ctx, u).
func (f DriverOpenerFunc) OpenDriverURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	return f(ctx, u)
}

var (
	openersMu sync.RWMutex
	openers   = map[string]DriverOpener{}
)

// Register makes a driver opener available under a URL scheme. It panics
// if the scheme is empty, the opener is nil, or the scheme is already
// registered, like database/sql.Register.
func Register(scheme string, opener DriverOpener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if scheme == "" || opener == nil {
		panic("docblob: Register with an empty scheme or a nil opener")
	}
	if _, dup := openers[scheme]; dup {
		panic("docblob: Register called twice for scheme " + scheme)
	}
	openers[scheme] = opener
}

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	out := make([]string, 0, len(openers))
	for s := range openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens a store from a URL such as "mem://",
// "file:///var/lib/invoices" or "s3dynamo://invoices?bucket=b&region=r".
// The scheme selects a driver, which must have been registered (importing a
// driver's package registers it). Open makes no network call.
//
// Open itself understands these query parameters, on every scheme:
//
//	prefix            a prefix for every payload key (see Options.BlobPrefix)
//	inline_threshold  payloads of at most this many bytes are kept inside
//	                  the document (see Options.InlineThreshold)
//	checksum          the checksum of new payloads: crc32c (the default),
//	                  crc64nvme or sha256 (see Options.Checksum)
//	secret_env        the name of an environment variable holding the
//	                  store's secret (see Options.Secret), at least 32
//	                  bytes; the value never appears in a URL
//	sign_url          for a driver without signed URLs of its own (file://,
//	                  mem://): the base URL under which a
//	                  localsign.Signer's handler is served, for example
//	                  http://127.0.0.1:8080/blobs; needs secret_env
//
// With sign_url, the store signs URLs with localsign (the signing key is
// derived from the secret), so that local development and S3 differ only
// in the URL; serve the handler with
//
//	var signer *localsign.Signer
//	store.As(&signer)
//	http.Handle("/blobs", signer.Handler())
//
// Every other parameter is the driver's; unknown ones are an error.
func Open(ctx context.Context, urlstr string) (*Store, error) {
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, newError(InvalidArgument, "open", noKey, fmt.Errorf("parse URL: %w", err))
	}
	openersMu.RLock()
	opener := openers[u.Scheme]
	openersMu.RUnlock()
	if opener == nil {
		return nil, newError(InvalidArgument, "open", noKey,
			fmt.Errorf("no driver registered for scheme %q (registered: %v); import the driver's package", u.Scheme, Schemes()))
	}
	q := u.Query()
	opts := &Options{}
	if v := q.Get("prefix"); v != "" {
		opts.BlobPrefix = v
	}
	if v := q.Get("inline_threshold"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, newError(InvalidArgument, "open", noKey, fmt.Errorf("inline_threshold %q is not a non-negative integer", v))
		}
		opts.InlineThreshold = n
	}
	if q.Has("checksum") {
		c := Checksum(q.Get("checksum"))
		if _, err := c.algorithm(); err != nil || c == "" {
			return nil, errorf(InvalidArgument, "open", noKey, "checksum %q is not one of crc32c, crc64nvme and sha256", string(c))
		}
		opts.Checksum = c
	}
	for name, vs := range q {
		if len(vs) > 1 && (name == "prefix" || name == "inline_threshold" || name == "checksum" || name == "secret_env" || name == "sign_url") {
			return nil, errorf(InvalidArgument, "open", noKey, "parameter %s given %d times", name, len(vs))
		}
	}
	if name := q.Get("secret_env"); name != "" {
		v, ok := os.LookupEnv(name)
		if !ok || len(v) < minSecretLen {
			return nil, errorf(InvalidArgument, "open", noKey, "secret_env: the environment variable %s must hold a secret of at least %d bytes", name, minSecretLen)
		}
		opts.Secret = []byte(v)
	}
	signURL := q.Get("sign_url")
	if signURL != "" && opts.Secret == nil {
		return nil, errorf(InvalidArgument, "open", noKey, "sign_url needs secret_env, the environment variable holding the signing secret")
	}
	if signURL != "" {
		if b, err := url.Parse(signURL); err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" || b.RawQuery != "" || b.Fragment != "" || b.Opaque != "" || b.User != nil {
			return nil, errorf(InvalidArgument, "open", noKey, "sign_url must be an absolute http(s) URL without credentials, query or fragment")
		}
	}
	for _, name := range []string{"prefix", "inline_threshold", "checksum", "secret_env", "sign_url"} {
		q.Del(name)
	}
	u.RawQuery = q.Encode()
	drv, err := opener.OpenDriverURL(ctx, u)
	if err != nil {
		if isContextErr(err) {
			return nil, err
		}
		return nil, newError(InvalidArgument, "open", noKey, err)
	}
	if signURL != "" {
		if drv.Info().SignsURLs {
			drv.Close()
			return nil, errorf(InvalidArgument, "open", noKey, "sign_url: the %s driver signs its own URLs", u.Scheme)
		}
		// The key is bound to the base URL as well as the secret, so
		// that stores sharing a secret but served at different URLs (two
		// tenants' directories) never accept each other's URLs.
		drv = localsign.New(drv, deriveKey(opts.Secret, "localsign "+signURL), signURL).Driver()
	}
	return NewStore(drv, opts)
}

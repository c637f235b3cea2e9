package filestore

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// Scheme is the URL scheme under which the package registers itself with
// docblob.Open.
const Scheme = "file"

func init() {
	docblob.Register(Scheme, docblob.DriverOpenerFunc(openURL))
}

// openURL opens "file:///path/to/dir?params" (see the package
// documentation for the parameters).
func openURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("filestore: URL %q names host %q; use file:///absolute/path or file:relative/path", u.Redacted(), u.Host)
	}
	dir := u.Path
	if u.Opaque != "" {
		var err error
		if dir, err = url.PathUnescape(u.Opaque); err != nil {
			return nil, fmt.Errorf("filestore: bad path in URL: %w", err)
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("filestore: URL %q names no directory", u.Redacted())
	}
	q := u.Query()
	keys, err := driver.ParseKeyParams(q) // also refuses repeated parameters
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	o := Options{Dir: dir, PartitionKey: keys.PartitionKey, SortKey: keys.SortKey, NoSortKey: keys.NoSortKey}
	for name, vals := range q {
		v := vals[0]
		switch name {
		case driver.ParamPartitionKey, driver.ParamSortKey, driver.ParamNoSortKey:
			// read by ParseKeyParams
		case "max_document_bytes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("filestore: max_document_bytes %q is not a non-negative integer", v)
			}
			if n == 0 {
				n = -1 // no limit
			}
			o.MaxDocumentBytes = n
		case "collection":
			if v == "" {
				return nil, fmt.Errorf("filestore: empty collection")
			}
			o.Collection = v
		case "nosync":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("filestore: nosync %q is not a boolean", v)
			}
			o.NoSync = b
		default:
			known := []string{"collection", "max_document_bytes", "no_sort_key", "nosync", "partition_key", "sort_key"}
			return nil, fmt.Errorf("filestore: unknown URL parameter %q (known: %v)", name, known)
		}
	}
	return New(&o)
}

package gocloud

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob"
	"gocloud.dev/docstore"
)

// Scheme is the URL scheme this package registers with docblob.Open.
const Scheme = "gocloud"

func init() {
	docblob.Register(Scheme, docblob.DriverOpenerFunc(openURL))
}

// openURL opens a driver from a URL of the form
//
//	gocloud://NAME?blob=BLOBURL&docstore=DOCSTOREURL&partition_key=pk&sort_key=sk
//
// (see the package documentation, URL).
func openURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	if u.Path != "" && u.Path != "/" {
		return nil, invalidf("gocloud: gocloud:// URLs take no path, got %q", u.Path)
	}
	q := u.Query()
	keys, err := driver.ParseKeyParams(q) // also refuses repeated parameters
	if err != nil {
		return nil, fmt.Errorf("gocloud: %w", err)
	}
	o := Options{PartitionKey: keys.PartitionKey, SortKey: keys.SortKey, NoSortKey: keys.NoSortKey, CloseBoth: true, Collection: u.Host}
	var blobURL, docURL string
	for name, vals := range q {
		v := vals[0]
		switch name {
		case driver.ParamPartitionKey, driver.ParamSortKey, driver.ParamNoSortKey:
		case "blob":
			blobURL = v
		case "docstore":
			docURL = v
		case "collection_id":
			o.CollectionID = v
		case "retries":
			switch v {
			case "none":
				o.Retries = RetriesNone
			case "counted":
				o.Retries = RetriesCounted
			case "possible":
				o.Retries = RetriesPossible
			default:
				return nil, invalidf("gocloud: retries %q: want none, counted or possible", v)
			}
		case "sign_urls":
			b := v == "true"
			if !b && v != "false" {
				return nil, invalidf("gocloud: sign_urls %q: want true or false", v)
			}
			o.SignURLs = &b
		default:
			return nil, invalidf("gocloud: unknown URL parameter %q", name)
		}
	}
	if blobURL == "" || docURL == "" {
		return nil, invalidf("gocloud: a gocloud:// URL needs the parameters blob and docstore (gocloud.dev URLs)")
	}
	pk, sk := o.PartitionKey, o.SortKey
	if pk == "" {
		pk = "pk"
	}
	if sk == "" && !o.NoSortKey {
		sk = "sk"
	}
	var coll *docstore.Collection
	if strings.HasPrefix(docURL, "mem://") {
		// memdocstore's URLs name one key field: make the collection here.
		if docURL != "mem://" {
			return nil, invalidf("gocloud: docstore=mem:// takes no collection, key or parameters (the driver makes the collection)")
		}
		if coll, err = MemCollection(pk, sk); err != nil {
			return nil, err
		}
		if o.Retries == RetriesAuto {
			o.Retries = RetriesNone
		}
		o.SettledOnReturn = true
	} else if coll, err = docstore.OpenCollection(ctx, docURL); err != nil {
		return nil, fmt.Errorf("gocloud: opening docstore %q: %w", redact(docURL), err)
	}
	bucket, err := blob.OpenBucket(ctx, blobURL)
	if err != nil {
		coll.Close()
		return nil, fmt.Errorf("gocloud: opening blob %q: %w", redact(blobURL), err)
	}
	d, err := New(bucket, coll, &o)
	if err != nil {
		return nil, errors.Join(err, bucket.Close(), coll.Close())
	}
	return d, nil
}

// redact returns a URL without its user information.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

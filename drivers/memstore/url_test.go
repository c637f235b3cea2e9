package memstore

import (
	"context"
	"net/url"
	"testing"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/urltest"
)

// openQuery opens a driver from a mem:// URL with the query.
func openQuery(query string) (driver.Driver, error) {
	u, err := url.Parse("mem://?" + query)
	if err != nil {
		return nil, err
	}
	return openURL(context.Background(), u)
}

func TestURLKeyParams(t *testing.T) { urltest.KeyParams(t, "memstore: ", openQuery) }

func TestURLRepeatedParams(t *testing.T) {
	urltest.RepeatedParams(t, openQuery, "collection=a&collection=a", "max_document_bytes=1&max_document_bytes=2")
}

func TestLimitsAreDynamoDBs(t *testing.T) { urltest.Limits(t, newMem(t, nil).Info()) }

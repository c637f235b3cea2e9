package filestore

import (
	"context"
	"net/url"
	"testing"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/urltest"
)

// queryOpener opens drivers from file:// URLs over a new directory.
func queryOpener(t *testing.T) urltest.Open {
	dir := t.TempDir()
	return func(query string) (driver.Driver, error) {
		u, err := url.Parse("file://" + dir + "/d?" + query)
		if err != nil {
			return nil, err
		}
		return openURL(context.Background(), u)
	}
}

func TestURLKeyParams(t *testing.T) { urltest.KeyParams(t, "filestore: ", queryOpener(t)) }

func TestURLRepeatedParams(t *testing.T) {
	urltest.RepeatedParams(t, queryOpener(t), "collection=a&collection=a", "nosync=true&nosync=true", "max_document_bytes=1&max_document_bytes=2")
}

func TestLimitsAreDynamoDBs(t *testing.T) {
	d, err := New(&Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	urltest.Limits(t, d.Info())
}

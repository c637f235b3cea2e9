package gocloud

import (
	"context"
	"net/url"
	"testing"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/urltest"
	_ "gocloud.dev/blob/memblob"
)

// openQuery opens a driver over memblob and memdocstore from a
// gocloud:// URL with the query.
func openQuery(query string) (driver.Driver, error) {
	u, err := url.Parse("gocloud://?blob=mem%3A%2F%2F&docstore=mem%3A%2F%2F&" + query)
	if err != nil {
		return nil, err
	}
	return openURL(context.Background(), u)
}

func TestURLKeyParams(t *testing.T) { urltest.KeyParams(t, "gocloud: ", openQuery) }

func TestURLRepeatedParams(t *testing.T) {
	urltest.RepeatedParams(t, openQuery, "retries=none&retries=none", "sign_urls=true&sign_urls=false")
}

func TestURLRefuses(t *testing.T) {
	for _, q := range []string{"retries=often", "sign_urls=maybe", "bogus=1", "docstore=mem%3A%2F%2Fcoll%2Fkey"} {
		if d, err := openQuery(q); err == nil {
			d.Close()
			t.Errorf("%q: opened", q)
		}
	}
	u, _ := url.Parse("gocloud://x?blob=mem%3A%2F%2F")
	if _, err := openURL(context.Background(), u); err == nil {
		t.Error("a URL without docstore opened")
	}
}

func TestURLMemIsSettled(t *testing.T) {
	d, err := openQuery("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if info := d.Info(); !info.SettledOnReturn || d.(*Driver).retries != RetriesNone {
		t.Errorf("mem:// docstore: SettledOnReturn %v, retries %v; want true, RetriesNone", info.SettledOnReturn, d.(*Driver).retries)
	}
}

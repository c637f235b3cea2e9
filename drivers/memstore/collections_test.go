package memstore

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

// newMem returns a driver over new storage with opts (which may be nil),
// failing the test if New refuses them.
func newMem(t testing.TB, opts *Options) *Driver {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// shareBlobs returns d.ShareBlobs(opts), failing the test if it fails.
func shareBlobs(t testing.TB, d *Driver, opts *Options) *Driver {
	t.Helper()
	d2, err := d.ShareBlobs(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d2
}

// TestNewRefusesInvalidOptions checks that New and ShareBlobs refuse
// invalid options with a *driver.Error of code InvalidArgument.
func TestNewRefusesInvalidOptions(t *testing.T) {
	for _, opts := range []*Options{
		{Collection: "a b"},
		{Collection: "."},
		{Collection: ".."},
		{Collection: strings.Repeat("c", 101)},
		{PartitionKey: "k", SortKey: "k"},
		{PartitionKey: "sk"},
	} {
		_, err := New(opts)
		var de *driver.Error
		if !errors.As(err, &de) || de.Code != driver.InvalidArgument {
			t.Errorf("New(%+v): %v, want a *driver.Error with code InvalidArgument", opts, err)
		}
		if _, err := newMem(t, nil).ShareBlobs(opts); !errors.As(err, &de) || de.Code != driver.InvalidArgument {
			t.Errorf("ShareBlobs(%+v): %v, want a *driver.Error with code InvalidArgument", opts, err)
		}
	}
	for _, opts := range []*Options{nil, {}, {Collection: "ok.name-1_2"}, {PartitionKey: "sk", NoSortKey: true}} {
		if _, err := New(opts); err != nil {
			t.Errorf("New(%+v): %v", opts, err)
		}
	}
}

// TestCollections checks that drivers over one storage share payloads and
// keep the documents of each collection apart.
func TestCollections(t *testing.T) {
	ctx := context.Background()
	def := newMem(t, nil)
	other := shareBlobs(t, def, &Options{Collection: "other", NoSortKey: true})
	other2 := shareBlobs(t, def, &Options{Collection: "other", NoSortKey: true})
	again := shareBlobs(t, def, nil)
	if i := def.Info(); i.Collection != DefaultCollection || !strings.HasPrefix(i.CollectionID, "mem:") || !strings.HasSuffix(i.CollectionID, ":mem") {
		t.Errorf("default info %+v", i)
	}
	if i := other.Info(); i.Collection != "other" || i.SortKey != "" || i.CollectionID != strings.TrimSuffix(def.Info().CollectionID, "mem")+"other" {
		t.Errorf("other info %+v", i)
	}
	if newMem(t, nil).Info().CollectionID == def.Info().CollectionID {
		t.Error("two storages have the same collection id")
	}
	if _, err := def.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p", Sort: "s"}, Fields: map[string]any{"a": "def"}}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p"}, Fields: map[string]any{"a": "other"}}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	if doc, err := other2.GetDocument(ctx, driver.Key{Partition: "p"}); err != nil || doc.Fields["a"] != "other" {
		t.Errorf("a second driver of the collection reads %v, %v", doc, err)
	}
	if doc, err := again.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"}); err != nil || doc.Fields["a"] != "def" {
		t.Errorf("ShareBlobs(nil) reads %v, %v", doc, err)
	}
	for _, c := range []struct {
		d    *Driver
		want string
	}{{def, "def"}, {other, "other"}, {def.Share(), "def"}} {
		page, err := c.d.QueryDocuments(ctx, &driver.Query{})
		if err != nil || len(page.Documents) != 1 || page.Documents[0].Fields["a"] != c.want {
			t.Errorf("%s scans %v, %v", c.d.Info().Collection, page, err)
		}
	}
	if _, err := def.WriteBlob(ctx, "x/y", strings.NewReader("shared"), &driver.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if page, err := other.ListBlobs(ctx, "", ""); err != nil || len(page.Blobs) != 1 || page.Blobs[0].Key != "x/y" {
		t.Errorf("the other collection lists %v, %v", page, err)
	}
}

func TestOpenURLCollection(t *testing.T) {
	for raw, want := range map[string]string{"mem://": "mem", "mem://?collection=Inv.2026_a-b": "Inv.2026_a-b", "mem://?collection=": "", "mem://?collection=a/b": "", "mem://?collection=..": ""} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		d, err := openURL(context.Background(), u)
		switch {
		case want == "" && err == nil:
			t.Errorf("%s: opened", raw)
		case want != "" && err != nil:
			t.Errorf("%s: %v", raw, err)
		case want != "" && d.Info().Collection != want:
			t.Errorf("%s: collection %q, want %q", raw, d.Info().Collection, want)
		}
	}
}

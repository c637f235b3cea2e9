package memstore

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

// TestCollections checks that drivers over one storage share payloads and
// keep the documents of each collection apart.
func TestCollections(t *testing.T) {
	ctx := context.Background()
	def := New(nil)
	other := def.ShareBlobs(&Options{Collection: "other", NoSortKey: true})
	other2 := def.ShareBlobs(&Options{Collection: "other", NoSortKey: true})
	again := def.ShareBlobs(nil)
	if i := def.Info(); i.Collection != DefaultCollection || !strings.HasPrefix(i.CollectionID, "mem:") || !strings.HasSuffix(i.CollectionID, ":mem") {
		t.Errorf("default info %+v", i)
	}
	if i := other.Info(); i.Collection != "other" || i.SortKey != "" || i.CollectionID != strings.TrimSuffix(def.Info().CollectionID, "mem")+"other" {
		t.Errorf("other info %+v", i)
	}
	if New(nil).Info().CollectionID == def.Info().CollectionID {
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

package filestore

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		url  string
		info driver.Info
		ok   bool
	}{
		{"file://" + dir + "/a", driver.Info{PartitionKey: "pk", SortKey: "sk", MaxDocumentBytes: DefaultMaxDocumentBytes}, true},
		{"file://localhost" + dir + "/b?partition_key=id&sort_key=", driver.Info{PartitionKey: "id", MaxDocumentBytes: DefaultMaxDocumentBytes}, true},
		{"file://" + dir + "/c?sort_key=range&max_document_bytes=1000&nosync=true", driver.Info{PartitionKey: "pk", SortKey: "range", MaxDocumentBytes: 1000}, true},
		{"file://" + dir + "/d?max_document_bytes=0", driver.Info{PartitionKey: "pk", SortKey: "sk"}, true},
		{"file://" + dir + "/e%20f", driver.Info{PartitionKey: "pk", SortKey: "sk", MaxDocumentBytes: DefaultMaxDocumentBytes}, true},
		{"file:" + dir + "/rel", driver.Info{PartitionKey: "pk", SortKey: "sk", MaxDocumentBytes: DefaultMaxDocumentBytes}, true},
		{"file://" + dir + "/h?collection=Other.v2", driver.Info{PartitionKey: "pk", SortKey: "sk", MaxDocumentBytes: DefaultMaxDocumentBytes, Collection: "Other.v2"}, true},
		{"file://" + dir + "/g?collection=", driver.Info{}, false},
		{"file://" + dir + "/g?collection=a/b", driver.Info{}, false},
		{"file://" + dir + "/g?collection=..", driver.Info{}, false},
		{"file://" + dir + "/g?collection=" + strings.Repeat(".", 43), driver.Info{}, false},
		{"file://otherhost/x", driver.Info{}, false},
		{"file://", driver.Info{}, false},
		{"file://" + dir + "/g?bogus=1", driver.Info{}, false},
		{"file://" + dir + "/g?max_document_bytes=-1", driver.Info{}, false},
		{"file://" + dir + "/g?nosync=maybe", driver.Info{}, false},
		{"file://" + dir + "/g?partition_key=", driver.Info{}, false},
		{"file://" + dir + "/g?sort_key=pk", driver.Info{}, false},
		{"file://" + dir + "/g?sort_key=a&sort_key=b", driver.Info{}, false},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		drv, err := openURL(ctx, u)
		if !c.ok {
			if err == nil {
				drv.Close()
				t.Errorf("%s: opened", c.url)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		info := drv.Info()
		c.info.MaxPartitionKeyBytes, c.info.MaxSortKeyBytes, c.info.MaxBlobKeyBytes, c.info.SettledOnReturn, c.info.DynamoDBValues = MaxPartitionKeyBytes, MaxSortKeyBytes, MaxBlobKeyBytes, true, true
		if c.info.Collection == "" {
			c.info.Collection = DefaultCollection
		}
		c.info.CollectionID = "file:" + c.info.Collection
		c.info.RevisionKey = driver.DefaultRevisionKey
		if info != c.info {
			t.Errorf("%s: info %+v, want %+v", c.url, info, c.info)
		}
		drv.Close()
	}
	if _, err := New(&Options{Dir: filepath.Join(dir, "e f")}); err != nil {
		t.Errorf("escaped path: %v", err)
	}
}

func TestOpenThroughDocblob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := docblob.Open(ctx, "file://"+dir+"?prefix=p/&nosync=1")
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		PK    string        `docstore:"pk"`
		SK    string        `docstore:"sk"`
		Title string        `docstore:"title"`
		PDF   *docblob.Blob `docstore:"pdf"`
	}
	in := &doc{PK: "acme", SK: "2026-001", Title: "March", PDF: docblob.NewBlobBytes([]byte("%PDF-1.7 ..."), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	got := &doc{PK: "acme", SK: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	data, err := got.PDF.ReadAll(ctx)
	if err != nil || string(data) != "%PDF-1.7 ..." || got.Title != "March" {
		t.Fatalf("got %+v %q %v", got, data, err)
	}
	var path string
	if !store.As(&path) || path != dir {
		t.Errorf("As(*string) = %q", path)
	}
	var root *os.Root
	if !store.As(&root) || root == nil || root.Name() != dir {
		t.Errorf("As(**os.Root) = %v", root)
	}
	var n int
	if store.As(&n) {
		t.Error("As(*int) = true")
	}
	err = store.Get(ctx, &doc{PK: "acme", SK: "missing"})
	var pe *fs.PathError
	if docblob.Code(err) != docblob.NotFound || !store.ErrorAs(err, &pe) {
		t.Errorf("missing document: %v, ErrorAs(*fs.PathError) = %v", err, pe)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := docblob.Open(ctx, "file://"+dir+"?unknown=1"); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("unknown parameter: %v", err)
	}
}

// TestCollections checks that collections of one directory share payloads
// and keep their documents apart, the default one where documents always
// were.
func TestCollections(t *testing.T) {
	ctx := context.Background()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	open := func(o *Options) *Driver {
		t.Helper()
		d, err := New(withDir(dir, o))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	def := open(nil)
	other := open(&Options{Collection: "other", NoSortKey: true})
	other2 := open(&Options{Collection: "other", NoSortKey: true})
	if i := other.Info(); i.Collection != "other" || i.CollectionID != "file:other" || def.Info().CollectionID == i.CollectionID {
		t.Errorf("info %+v", i)
	}
	if _, err := def.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p", Sort: "s"}, Fields: map[string]any{"a": "def"}}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PutDocument(ctx, &driver.Document{Key: driver.Key{Partition: "p"}, Fields: map[string]any{"a": "other"}}, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", "p", "s.json")); err != nil {
		t.Errorf("the default collection's document is not where it always was: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs.other", "p", "_.json")); err != nil {
		t.Errorf("the other collection's document: %v", err)
	}
	if doc, err := other2.GetDocument(ctx, driver.Key{Partition: "p"}); err != nil || doc.Fields["a"] != "other" {
		t.Errorf("a second driver of the collection reads %v, %v", doc, err)
	}
	for _, c := range []struct {
		d    *Driver
		want string
	}{{def, "def"}, {other, "other"}} {
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
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	viaLink, err := New(&Options{Dir: link, Collection: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer viaLink.Close()
	if viaLink.Info().CollectionID != other.Info().CollectionID {
		t.Errorf("collection id %q through a symbolic link, %q directly", viaLink.Info().CollectionID, other.Info().CollectionID)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	afterMove, err := New(&Options{Dir: moved, Collection: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer afterMove.Close()
	if afterMove.Info().CollectionID != other.Info().CollectionID {
		t.Errorf("collection id %q after moving the directory, %q before", afterMove.Info().CollectionID, other.Info().CollectionID)
	}
	if _, err := New(&Options{Dir: dir, Collection: "a b"}); err == nil {
		t.Error("a collection name with a space was accepted")
	}
}

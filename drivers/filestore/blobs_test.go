package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

func writeBlob(t *testing.T, d *Driver, key string, data []byte) {
	t.Helper()
	if _, err := d.WriteBlob(context.Background(), key, bytes.NewReader(data), &driver.WriteOptions{Size: -1}); err != nil {
		t.Fatalf("write %q: %v", key, err)
	}
}

func readBlob(t *testing.T, d *Driver, key string, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := d.OpenBlob(context.Background(), key, off, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestBlobRoundTripAndRanges(t *testing.T) {
	d := newTestDriver(t, nil)
	data := make([]byte, 1<<20+17)
	_, _ = rand.NewChaCha8([32]byte{3, 4}).Read(data)
	key := "prefix/Acme%20Corp/2026-001/pdf/01abc"
	writeBlob(t, d, key, data)
	for _, r := range [][2]int64{{0, -1}, {0, 1}, {5, 100}, {1 << 20, -1}, {1 << 20, 17}, {int64(len(data)) - 1, 1}, {100, int64(len(data)) - 100}} {
		got, err := readBlob(t, d, key, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		end := int64(len(data))
		if r[1] >= 0 {
			end = r[0] + r[1]
		}
		if !bytes.Equal(got, data[r[0]:end]) {
			t.Errorf("range %v: got %d bytes, want %d", r, len(got), end-r[0])
		}
	}
	// A range past the end reads what there is.
	if got, err := readBlob(t, d, key, int64(len(data))-3, 10); err != nil || len(got) != 3 {
		t.Errorf("range past the end: %d bytes, %v", len(got), err)
	}
	_, err := readBlob(t, d, "prefix/missing", 0, -1)
	wantCode(t, "open missing", err, driver.NotFound)
	_, err = readBlob(t, d, "Prefix/Acme%20Corp/2026-001/pdf/01abc", 0, -1)
	wantCode(t, "open other case", err, driver.NotFound)

	// Payloads are immutable: a second write to the key fails and leaves
	// the first.
	_, err = d.WriteBlob(context.Background(), key, strings.NewReader("other"), nil)
	wantCode(t, "overwrite", err, driver.AlreadyExists)
	if got, _ := readBlob(t, d, key, 0, -1); !bytes.Equal(got, data) {
		t.Error("overwrite attempt changed the payload")
	}

	if err := d.DeleteBlob(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	_, err = readBlob(t, d, key, 0, -1)
	wantCode(t, "open deleted", err, driver.NotFound)
	if err := d.DeleteBlob(context.Background(), key); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	if ents, _ := d.readDir(blobsDir); len(ents) != 0 {
		t.Errorf("blobs/ still holds %v after the last delete", ents)
	}
	assertNoTemp(t, d)
}

func TestBlobReaderObservesContext(t *testing.T) {
	d := newTestDriver(t, nil)
	writeBlob(t, d, "k", make([]byte, 100))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := d.OpenBlob(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
}

type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

// cancelReader cancels a context after n bytes.
type cancelReader struct {
	n      int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n := min(len(p), 1000)
	c.n -= n
	return n, nil
}

func TestBlobWriteAborts(t *testing.T) {
	d := newTestDriver(t, nil)
	boom := errors.New("boom")
	if _, err := d.WriteBlob(context.Background(), "a/b", &failingReader{n: 5000, err: boom}, nil); !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := d.WriteBlob(ctx, "a/c", &cancelReader{n: 5000, cancel: cancel}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
	sum := sha256.Sum256([]byte("right"))
	_, err := d.WriteBlob(context.Background(), "a/d", strings.NewReader("wrong"), &driver.WriteOptions{Size: -1, SHA256: sum[:]})
	wantCode(t, "checksum mismatch", err, driver.Corrupt)
	_, err = d.WriteBlob(context.Background(), "a/e", strings.NewReader("four"), &driver.WriteOptions{Size: 5})
	wantCode(t, "size mismatch", err, driver.InvalidArgument)
	if _, err := d.WriteBlob(context.Background(), "a/f", strings.NewReader("right"), &driver.WriteOptions{Size: 5, SHA256: sum[:]}); err != nil {
		t.Errorf("matching checksum and size: %v", err)
	}
	for _, k := range []string{"a/b", "a/c", "a/d", "a/e"} {
		_, err := readBlob(t, d, k, 0, -1)
		wantCode(t, "aborted write "+k, err, driver.NotFound)
	}
	page, err := d.ListBlobs(context.Background(), "", "")
	if err != nil || len(page.Blobs) != 1 || page.Blobs[0].Key != "a/f" || page.Blobs[0].Size != 5 {
		t.Errorf("list after aborted writes: %+v %v", page, err)
	}
	assertNoTemp(t, d)
	_, err = d.WriteBlob(context.Background(), "", strings.NewReader(""), nil)
	wantCode(t, "empty key", err, driver.InvalidArgument)
	_, err = d.WriteBlob(context.Background(), strings.Repeat("k", MaxBlobKeyBytes+1), strings.NewReader(""), nil)
	wantCode(t, "long key", err, driver.TooLarge)
}

func TestListBlobs(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	keys := []string{
		"a", "a!", "a/", "a/b", "a/b/c", "a0", "a//x", "/lead", "A", "a.b", "b", "é/x", "\x00",
		"p/q/" + strings.Repeat("long", 60), "p/q/" + strings.Repeat("long", 59) + "lonh",
		"p/" + strings.Repeat("S", 200) + "/x", "p/" + strings.Repeat("S", 200) + "!", "p/" + strings.Repeat("S", 200),
		"trailing/", "dots/../..", "%2F", "%2f",
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 60 {
		keys = append(keys, randomKey(r, 1+r.IntN(300)))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for i, k := range keys {
		writeBlob(t, d, k, bytes.Repeat([]byte{byte(i)}, i))
	}
	prefixes := []string{"", "a", "a/", "a/b", "a/b/", "p/", "p/q/long", "p/SS", "z", "é", "/", "\x00"}
	for _, k := range keys[:20] {
		prefixes = append(prefixes, k[:len(k)/2])
	}
	for _, prefix := range prefixes {
		var want []string
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		got := listAll(t, d, prefix)
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("list %q:\n got %q\nwant %q", prefix, got, want)
		}
	}
	page, err := d.ListBlobs(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range page.Blobs {
		if b.Size != int64(slices.Index(keys, b.Key)) || time.Since(b.ModTime) > time.Hour {
			t.Errorf("blob %d: %+v", i, b)
		}
	}
	_, err = d.ListBlobs(ctx, "", "not base64!")
	wantCode(t, "bad token", err, driver.InvalidArgument)
	// A page token is a position, not a path: any well-formed one is fine.
	page, err = d.ListBlobs(ctx, "", encodeToken('b', []byte("../../etc")))
	if err != nil || len(page.Blobs) == 0 {
		t.Errorf("forged token: %v %v", page, err)
	}
}

func TestListBlobsPages(t *testing.T) {
	d := newTestDriver(t, &Options{NoSync: true})
	var keys []string
	for i := range 2*defaultListPage + 10 {
		k := "x/" + strings.Repeat("y", i%7) + "/" + string(rune('a'+i%26)) + "/" + time.Duration(i).String()
		keys = append(keys, k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		writeBlob(t, d, k, nil)
	}
	got := listAll(t, d, "x/")
	if !slices.Equal(got, keys) {
		t.Errorf("paged listing: %d keys, want %d", len(got), len(keys))
	}
}

func listAll(t *testing.T, d *Driver, prefix string) []string {
	t.Helper()
	var out []string
	token := ""
	for pages := 0; ; pages++ {
		page, err := d.ListBlobs(context.Background(), prefix, token)
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		for _, b := range page.Blobs {
			out = append(out, b.Key)
		}
		if page.NextPageToken == "" {
			return out
		}
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
		token = page.NextPageToken
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	writeBlob(t, d, "a/b", []byte("x"))
	put(t, d, key("p", "s"), "r", nil)
	old := time.Now().Add(-2 * time.Hour)
	for _, dir := range []string{"blobs/a", "docs/p", "docs/fresh-dir"} {
		if err := d.mkdirs(dir); err != nil {
			t.Fatal(err)
		}
		if err := d.root.WriteFile(dir+"/.tmp-crashed", []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.root.Chtimes(dir+"/.tmp-crashed", old, old); err != nil {
			t.Fatal(err)
		}
		if err := d.root.WriteFile(dir+"/.tmp-young", []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Temporary files are invisible.
	if got := listAll(t, d, ""); !slices.Equal(got, []string{"a/b"}) {
		t.Errorf("list: %q", got)
	}
	if got := queryAll(t, d, &driver.Query{Partition: "p"}); !slices.Equal(got, []string{"s"}) {
		t.Errorf("query: %q", got)
	}
	n, err := d.RemoveStaleTemp(ctx, time.Hour)
	if err != nil || n != 3 {
		t.Errorf("RemoveStaleTemp(1h) = %d, %v; want 3", n, err)
	}
	n, err = d.RemoveStaleTemp(ctx, 0)
	if err != nil || n != 3 {
		t.Errorf("RemoveStaleTemp(0) = %d, %v; want 3", n, err)
	}
	if _, err := d.root.Stat("docs/fresh-dir"); err == nil {
		t.Error("emptied directory left behind")
	}
	if got, _ := readBlob(t, d, "a/b", 0, -1); string(got) != "x" {
		t.Error("payload lost")
	}
}

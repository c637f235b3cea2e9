package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
	r, err := d.OpenBlob(context.Background(), key, off, n, nil)
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
	r, err := d.OpenBlob(ctx, "k", 0, -1, nil)
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
	_, err := d.WriteBlob(context.Background(), "a/d", strings.NewReader("wrong"), &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, Sum: sum[:]})
	wantCode(t, "checksum mismatch", err, driver.Corrupt)
	_, err = d.WriteBlob(context.Background(), "a/e", strings.NewReader("four"), &driver.WriteOptions{Size: 5})
	wantCode(t, "size mismatch", err, driver.InvalidArgument)
	if _, err := d.WriteBlob(context.Background(), "a/f", strings.NewReader("right"), &driver.WriteOptions{Size: 5, Checksum: driver.SHA256, Sum: sum[:]}); err != nil {
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

// tidyAll lists every payload and scans every document, so that d removes
// the stale temporary files and orphan sidecars of the whole tree.
func tidyAll(t *testing.T, d *Driver) {
	t.Helper()
	listAll(t, d, "")
	scanAll(t, d)
}

// scanAll returns the keys of every document, as a query of every
// partition pages through them.
func scanAll(t *testing.T, d *Driver) []driver.Key {
	t.Helper()
	var out []driver.Key
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(context.Background(), q)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, doc := range page.Documents {
			out = append(out, doc.Key)
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			return out
		}
	}
}

// sameDir returns another driver over d's directory, with opts.
func sameDir(t *testing.T, d *Driver, opts *Options) *Driver {
	t.Helper()
	d2, err := New(withDir(d.Dir(), opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	return d2
}

// TestStaleTempRemoved checks that listings remove the temporary files
// that killed writers left, once they are older than StaleTempAge, and
// keep younger ones, which may belong to live writers.
func TestStaleTempRemoved(t *testing.T) {
	d := newTestDriver(t, nil)
	writeBlob(t, d, "a/b", []byte("x"))
	put(t, d, key("p", "s"), "r", nil)
	old := time.Now().Add(-DefaultStaleTempAge - time.Hour)
	exists := func(p string) bool {
		_, err := d.root.Lstat(p)
		return err == nil
	}
	plant := func() {
		t.Helper()
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
	}
	plant()

	// A driver that leaves them alone: they are invisible.
	off := sameDir(t, d, &Options{StaleTempAge: -1})
	if got := listAll(t, off, ""); !slices.Equal(got, []string{"a/b"}) {
		t.Errorf("list: %q", got)
	}
	if got := scanAll(t, off); !slices.Equal(got, []driver.Key{key("p", "s")}) {
		t.Errorf("scan: %q", got)
	}
	if !exists("blobs/a/.tmp-crashed") || !exists("docs/p/.tmp-crashed") {
		t.Fatal("a driver with a negative StaleTempAge removed temporary files")
	}

	// Listing payloads removes the old ones among payloads, querying a
	// partition those of its directory, scanning every partition the rest.
	if got := listAll(t, d, ""); !slices.Equal(got, []string{"a/b"}) {
		t.Errorf("list: %q", got)
	}
	if exists("blobs/a/.tmp-crashed") || !exists("blobs/a/.tmp-young") {
		t.Error("ListBlobs: old temporary file kept or young one removed")
	}
	if got := queryAll(t, d, &driver.Query{Partition: "p"}); !slices.Equal(got, []string{"s"}) {
		t.Errorf("query: %q", got)
	}
	if exists("docs/p/.tmp-crashed") || !exists("docs/p/.tmp-young") || !exists("docs/fresh-dir/.tmp-crashed") {
		t.Error("QueryDocuments of partition p: wrong temporary files removed")
	}
	scanAll(t, d)
	if exists("docs/fresh-dir/.tmp-crashed") || !exists("docs/fresh-dir/.tmp-young") {
		t.Error("scan: old temporary file kept or young one removed")
	}

	// With an age of a nanosecond, every temporary file is stale, and the
	// directories they alone kept are removed.
	tidyAll(t, sameDir(t, d, &Options{StaleTempAge: time.Nanosecond}))
	for _, p := range []string{"blobs/a/.tmp-young", "docs/p/.tmp-young", "docs/fresh-dir"} {
		if exists(p) {
			t.Errorf("%s left behind", p)
		}
	}
	if got, _ := readBlob(t, d, "a/b", 0, -1); string(got) != "x" {
		t.Error("payload lost")
	}
	if got := scanAll(t, d); !slices.Equal(got, []driver.Key{key("p", "s")}) {
		t.Errorf("document lost: %q", got)
	}
}

func statSum(t *testing.T, d *Driver, key string) []byte {
	t.Helper()
	info, err := d.StatBlob(context.Background(), key)
	if err != nil {
		t.Fatalf("stat %q: %v", key, err)
	}
	return info.Checksum.Sum
}

func TestStatBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := make([]byte, 300<<10+5)
	_, _ = rand.NewChaCha8([32]byte{5}).Read(data)
	sum := sha256.Sum256(data)
	long := strings.Repeat("é", 500) // the longest payload file names
	cases := []struct {
		key  string
		opts *driver.WriteOptions
		want []byte
	}{
		{"plain/a", &driver.WriteOptions{Size: -1}, nil},
		{"plain/nil-options", nil, nil},
		{"record/a", &driver.WriteOptions{Size: -1, Checksum: driver.SHA256}, sum[:]},
		{"record/known-size", &driver.WriteOptions{Size: int64(len(data)), Checksum: driver.SHA256}, sum[:]},
		{"record/" + long, &driver.WriteOptions{Size: -1, Checksum: driver.SHA256}, sum[:]},
		{"verified/a", &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, Sum: sum[:]}, sum[:]},
		{"verified/and-recorded", &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, Sum: sum[:]}, sum[:]},
	}
	before := time.Now().Add(-time.Second)
	for _, c := range cases {
		if _, err := d.WriteBlob(ctx, c.key, bytes.NewReader(data), c.opts); err != nil {
			t.Fatalf("write %q: %v", c.key, err)
		}
	}
	check := func(d *Driver, when string) {
		t.Helper()
		for _, c := range cases {
			info, err := d.StatBlob(ctx, c.key)
			if err != nil {
				t.Errorf("%s: stat %q: %v", when, c.key, err)
				continue
			}
			if info.Key != c.key || info.Size != int64(len(data)) || info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Second)) || info.ContentType != "" {
				t.Errorf("%s: stat %q = %+v", when, c.key, info)
			}
			if !bytes.Equal(info.Checksum.Sum, c.want) || (info.Checksum.Sum == nil) != (c.want == nil) {
				t.Errorf("%s: stat %q: SHA256 %x, want %x", when, c.key, info.Checksum.Sum, c.want)
			}
		}
	}
	check(d, "same driver")
	d2, err := New(&Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	check(d2, "after reopening")

	// Sidecars are invisible: listings show the payloads only, and no
	// key names a sidecar.
	var want []string
	for _, c := range cases {
		want = append(want, c.key)
	}
	slices.Sort(want)
	if got := listAll(t, d, ""); !slices.Equal(got, want) {
		t.Errorf("list: %q, want %q", got, want)
	}
	side := sidecarPath(joinPath(blobComponents("record/a")))
	if !strings.HasPrefix(side, "blobs/record/.sha256-") {
		t.Fatalf("sidecar path %q", side)
	}
	for _, k := range []string{".sha256-a.blob", "record/.sha256-a.blob", "record/.sha256-a", ".sha256-"} {
		_, err := d.StatBlob(ctx, k)
		wantCode(t, "stat "+k, err, driver.NotFound)
		_, err = readBlob(t, d, k, 0, -1)
		wantCode(t, "read "+k, err, driver.NotFound)
	}
	if _, err := d.root.Lstat(sidecarPath(joinPath(blobComponents("plain/a")))); err == nil {
		t.Error("a plain write made a sidecar")
	}

	_, err = d.StatBlob(ctx, "record/missing")
	wantCode(t, "stat missing", err, driver.NotFound)
	_, err = d.StatBlob(ctx, "record/a/below-a-file")
	wantCode(t, "stat below a file", err, driver.NotFound)
	_, err = d.StatBlob(ctx, "")
	wantCode(t, "stat empty key", err, driver.InvalidArgument)

	// A refused write leaves neither payload nor sidecar.
	bad := sha256.Sum256([]byte("other"))
	_, err = d.WriteBlob(ctx, "record/bad", bytes.NewReader(data), &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, Sum: bad[:]})
	wantCode(t, "write with a wrong SHA-256", err, driver.Corrupt)
	_, err = d.WriteBlob(ctx, "record/short", bytes.NewReader(data), &driver.WriteOptions{Size: 7, Checksum: driver.SHA256})
	wantCode(t, "write with a wrong size", err, driver.InvalidArgument)
	// A second write to a used key fails and keeps the first's checksum.
	_, err = d.WriteBlob(ctx, "record/a", strings.NewReader("other"), &driver.WriteOptions{Size: -1, Checksum: driver.SHA256})
	wantCode(t, "overwrite", err, driver.AlreadyExists)
	if got := statSum(t, d, "record/a"); !bytes.Equal(got, sum[:]) {
		t.Errorf("after a refused overwrite: SHA256 %x", got)
	}
	ents, _ := d.readDir("blobs/record")
	for _, e := range ents {
		if strings.Contains(e.Name(), "bad") || strings.Contains(e.Name(), "short") {
			t.Errorf("a refused write left %q", e.Name())
		}
	}

	// Delete removes the sidecar with the payload.
	if err := d.DeleteBlob(ctx, "record/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.root.Lstat(side); err == nil {
		t.Error("DeleteBlob left the sidecar")
	}
	_, err = d.StatBlob(ctx, "record/a")
	wantCode(t, "stat deleted", err, driver.NotFound)
	for _, c := range cases {
		if err := d.DeleteBlob(ctx, c.key); err != nil {
			t.Fatal(err)
		}
	}
	if ents, _ := d.readDir(blobsDir); len(ents) != 0 {
		t.Errorf("blobs/ still holds %v after the last delete", ents)
	}
	assertNoTemp(t, d)
}

// TestStatBlobNeverWrong checks that a sidecar that is malformed, stale or
// planted gives no checksum rather than a wrong one.
func TestStatBlobNeverWrong(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	data := []byte("the payload")
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("other"))
	alg := func(record bool) driver.ChecksumAlgorithm {
		if record {
			return driver.SHA256
		}
		return driver.CRC32C
	}
	write := func(k string, record bool) (path, side string) {
		t.Helper()
		if _, err := d.WriteBlob(ctx, k, bytes.NewReader(data), &driver.WriteOptions{Size: -1, Checksum: alg(record)}); err != nil {
			t.Fatal(err)
		}
		path = joinPath(blobComponents(k))
		return path, sidecarPath(path)
	}
	_, side := write("a/good", true)
	good, err := d.root.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := parseSidecar(good); !ok {
		t.Fatalf("sidecar %q does not parse", good)
	}
	if got := statSum(t, d, "a/good"); !bytes.Equal(got, sum[:]) {
		t.Fatalf("SHA256 %x, want %x", got, sum)
	}
	fi, err := d.root.Lstat(joinPath(blobComponents("a/good")))
	if err != nil {
		t.Fatal(err)
	}
	ino := fileIno(fi)
	if ino == 0 {
		t.Fatal("no inode number")
	}
	valid := string(encodeSidecar(sum[:], fi.Size(), fi.ModTime(), ino))
	if valid != string(good) {
		t.Fatalf("sidecar %q, want %q", good, valid)
	}
	for i, content := range []string{
		"",
		"garbage",
		strings.Replace(valid, "v1", "v2", 1),
		strings.TrimSuffix(valid, "\n"),
		valid + "\n",
		valid + "extra",
		strings.ToUpper(valid),
		strings.Replace(valid, fmt.Sprintf("%x", sum), fmt.Sprintf("%x", sum[:31]), 1),
		strings.Replace(valid, fmt.Sprintf("%x", sum), fmt.Sprintf("%X", sum), 1),
		strings.Replace(valid, fmt.Sprintf("\n%d\n", len(data)), fmt.Sprintf("\n+%d\n", len(data)), 1),
		strings.Replace(valid, fmt.Sprintf("\n%d\n", len(data)), fmt.Sprintf("\n0%d\n", len(data)), 1),
		strings.Repeat("x", 10000),
		// Well formed, but bound to another file state.
		string(encodeSidecar(sum[:], fi.Size()+1, fi.ModTime(), ino)),
		string(encodeSidecar(sum[:], fi.Size(), fi.ModTime().Add(time.Nanosecond), ino)),
		string(encodeSidecar(sum[:], fi.Size(), fi.ModTime(), ino+1)),
	} {
		if err := d.root.WriteFile(side, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := statSum(t, d, "a/good"); got != nil {
			t.Errorf("sidecar %d %q: SHA256 %x, want nil", i, content, got)
		}
	}

	// A stale sidecar (a crash left it; the key was then written without
	// a checksum) is not believed.
	path := joinPath(blobComponents("a/stale"))
	stale := encodeSidecar(other[:], int64(len(data)), time.Now(), 0)
	if err := d.mkdirs("blobs/a"); err != nil {
		t.Fatal(err)
	}
	if err := d.root.WriteFile(sidecarPath(path), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	write("a/stale", false)
	if got := statSum(t, d, "a/stale"); got != nil {
		t.Errorf("stale sidecar: SHA256 %x, want nil", got)
	}

	// A payload file replaced behind the driver's back loses its checksum.
	path, side = write("a/replaced", true)
	if err := d.root.WriteFile(path+".new", []byte("the PAYLOAD"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.root.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if got := statSum(t, d, "a/replaced"); got != nil {
		t.Errorf("replaced payload: SHA256 %x, want nil", got)
	}
	// Its sidecar still exists: listings keep it, however old (the
	// payload exists); DeleteBlob removes it.
	tidyAll(t, sameDir(t, d, &Options{StaleTempAge: time.Nanosecond}))
	if _, err := d.root.Lstat(side); err != nil {
		t.Errorf("a listing removed the sidecar of an existing payload: %v", err)
	}

	// A planted sidecar link is not followed.
	path, side = write("a/linked", false)
	if err := d.root.Symlink(".sha256-good.blob", side); err != nil {
		t.Fatal(err)
	}
	if got := statSum(t, d, "a/linked"); got != nil {
		t.Errorf("linked sidecar: SHA256 %x, want nil", got)
	}
	_ = path

	// A planted payload link is refused, as reads refuse it.
	if err := d.root.Symlink("good.blob", joinPath(blobComponents("a/alias"))); err != nil {
		t.Fatal(err)
	}
	_, err = d.StatBlob(ctx, "a/alias")
	wantCode(t, "stat through a link", err, driver.PermissionDenied)
}

// TestOrphanSidecar checks that a sidecar without its payload (a crash
// between the two) is invisible, and removed by DeleteBlob and, once
// stale, by listings.
func TestOrphanSidecar(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, nil)
	sum := sha256.Sum256(nil)
	old := time.Now().Add(-DefaultStaleTempAge - time.Hour)
	plant := func(k string, mtime time.Time) string {
		t.Helper()
		path := joinPath(blobComponents(k))
		dir, _ := splitDir(path)
		if err := d.mkdirs(dir); err != nil {
			t.Fatal(err)
		}
		side := sidecarPath(path)
		if err := d.root.WriteFile(side, encodeSidecar(sum[:], 0, time.Now(), 0), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.root.Chtimes(side, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return side
	}
	oldSide := plant("x/old", old)
	youngSide := plant("x/young", time.Now())
	delSide := plant("y/deleted", time.Now())
	if got := listAll(t, d, ""); len(got) != 0 {
		t.Errorf("list: %q", got)
	}
	for _, k := range []string{"x/old", "x/young", "y/deleted"} {
		_, err := d.StatBlob(ctx, k)
		wantCode(t, "stat "+k, err, driver.NotFound)
	}
	if err := d.DeleteBlob(ctx, "y/deleted"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.root.Lstat(delSide); err == nil {
		t.Error("DeleteBlob of a missing payload left its sidecar")
	}
	if _, err := d.root.Lstat("blobs/y"); err == nil {
		t.Error("DeleteBlob left an empty directory")
	}
	// The first listing removed the stale one.
	if _, err := d.root.Lstat(oldSide); err == nil {
		t.Error("old orphan sidecar left")
	}
	if _, err := d.root.Lstat(youngSide); err != nil {
		t.Error("young orphan sidecar removed")
	}
	tidyAll(t, sameDir(t, d, &Options{StaleTempAge: time.Nanosecond}))
	if ents, _ := d.readDir(blobsDir); len(ents) != 0 {
		t.Errorf("blobs/ still holds %v", ents)
	}
}

package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
)

// trickKeys are keys that would leave the root, alias each other, or
// confuse a file system if they were used as file names.
func trickKeys() []string {
	keys := []string{
		"..", ".", "./.", "../x", "../../outside/sentinel.txt", "../outside", "/etc/passwd", "/abs",
		"a/../../b", "a/./b", "a//b", "/", "//", "a/", "../", "a\x00b", "\x00", `..\..\x`, `C:\Windows`, `\\server\share`,
		"%2F", "%2F..%2F..%2Foutside", "a%2F..", "%00", "%2e%2e",
		"CON", "con", "nul", "NUL.txt", "aux", "COM1", "lpt1.log", "trailing.", "trailing ", "trailing. .", " leading",
		".tmp-abc", ".tmp-", ".tmp-crashed", ".sha256-", ".sha256-x.blob", "a/.sha256-x.blob", "00.lock", "locks/00.lock", "../locks/00.lock", "locks", "docs", "blobs",
		"x.json", "x.blob", "x+", "_", "_41", "^a", "~", "$HOME", "`id`", "a\nb", "a\rb", "*", "?", "a:b", "<>|\"",
		"é", "e\u0301", "Ⅸ", "IX", "ﬁ", "fi", "\u212a", "K", "k", "ß", "SS", "ss", "\u200b", "\ufeffbom", "İ", "i̇",
		"outside", "root-evil", "evil", "evil/x", "evilfile",
		"ACME", "Acme", "acme", "aCmE",
		strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("A", 300), strings.Repeat("é", 500),
		strings.Repeat("../", 300), strings.Repeat("x/", 400),
		"\xff\xfe", "a\xc0",
	}
	return keys
}

type fileSnap struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	sum   [32]byte
	link  string
}

// snapshot records every file and link under dir, without following links.
func snapshot(t *testing.T, dir string) map[string]fileSnap {
	t.Helper()
	out := map[string]fileSnap{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		s := fileSnap{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s.sum = sha256.Sum256(data)
		case fi.Mode()&fs.ModeSymlink != 0:
			s.link, _ = os.Readlink(p)
		case fi.IsDir():
			s.size, s.mtime = 0, time.Time{} // entries are checked one by one
		}
		out[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const secret = "SECRET-OUTSIDE-THE-ROOT"

// TestConfinement sends every trick through every entry point and checks
// that nothing outside the root was created, changed, read or removed, and
// that keys map to distinct files inside it.
func TestConfinement(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	rootDir := filepath.Join(base, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(outside, "sub"), 0o700))
	must(os.MkdirAll(filepath.Join(base, "root-evil"), 0o700))
	must(os.WriteFile(filepath.Join(outside, "sentinel.txt"), []byte(secret), 0o600))
	must(os.WriteFile(filepath.Join(outside, "x.blob"), []byte(secret), 0o600))
	must(os.WriteFile(filepath.Join(outside, "s.json"), []byte(secret), 0o600))
	must(os.WriteFile(filepath.Join(outside, ".tmp-old"), []byte(secret), 0o600))
	must(os.WriteFile(filepath.Join(base, "root-evil", "sentinel"), []byte(secret), 0o600))
	old := time.Now().Add(-48 * time.Hour)
	must(os.Chtimes(filepath.Join(outside, ".tmp-old"), old, old))
	// A document file outside that would pass for key ("p", "evilfile").
	fake, err := encodeDocument(&driver.Document{Key: key("p", "evilfile"), Revision: "r", Fields: map[string]any{"secret": secret}}, true)
	must(err)
	must(os.WriteFile(filepath.Join(outside, "evilfile.json"), fake, 0o600))

	d, err := New(&Options{Dir: rootDir, NoSync: true})
	must(err)
	defer d.Close()

	// Plant links inside the root: directories and files that keys map to,
	// pointing out of the root (relative and absolute) and within it.
	plant := func(target, link string) {
		p := filepath.Join(rootDir, link)
		must(os.MkdirAll(filepath.Dir(p), 0o700))
		must(os.Symlink(target, p))
	}
	plant("../../outside", "docs/evil")                             // partition "evil"
	plant(outside, "docs/outside")                                  // partition "outside", absolute
	plant("../../../outside/evilfile.json", "docs/p/evilfile.json") // document ("p", "evilfile")
	plant("../../outside", "blobs/evil")                            // payloads "evil/..."
	plant(filepath.Join(outside, "x.blob"), "blobs/evilfile.blob")  // payload "evilfile"
	plant(outside, "blobs/linkdir")                                 // payloads "linkdir/..."
	plant("real.blob", "blobs/alias.blob")                          // payload "alias" -> "real", inside
	writeBlob(t, d, "real", []byte("real"))

	outsideBefore := snapshot(t, outside)
	evilBefore := snapshot(t, filepath.Join(base, "root-evil"))

	var returned [][]byte // everything any read returned
	check := func(what string, err error, okCodes ...driver.ErrorCode) {
		t.Helper()
		if err == nil {
			return
		}
		code := errorCode(err)
		if !slices.Contains(okCodes, code) {
			t.Errorf("%s: %v (code %v)", what, err, code)
		}
	}

	for _, k := range trickKeys() {
		validKey := k != "" && utf8.ValidString(k)
		// Documents: the trick as partition key and as sort key.
		for _, dk := range []driver.Key{key(k, "s"), key("p", k), key(k, k)} {
			longKey := len(dk.Partition) > MaxPartitionKeyBytes || len(dk.Sort) > MaxSortKeyBytes
			doc := &driver.Document{Key: dk, Revision: "r", Fields: map[string]any{"k": k}}
			_, err := d.PutDocument(ctx, doc, driver.Condition{})
			if !validKey || longKey {
				check(fmt.Sprintf("put %q", dk), err, driver.InvalidArgument, driver.TooLarge)
				if err == nil {
					t.Errorf("put %q: accepted", dk)
				}
				continue
			}
			if dk.Partition == "evil" || dk.Partition == "outside" || dk == key("p", "evilfile") {
				if err == nil {
					t.Errorf("put %q through a planted link: accepted", dk)
				}
				check(fmt.Sprintf("put %q", dk), err, driver.PermissionDenied)
				got, err := d.GetDocument(ctx, dk)
				check(fmt.Sprintf("get %q", dk), err, driver.PermissionDenied, driver.NotFound)
				if got != nil {
					t.Errorf("get %q through a planted link returned %v", dk, got.Fields)
				}
				_, err = d.DeleteDocument(ctx, dk, driver.Condition{})
				check(fmt.Sprintf("delete %q", dk), err, driver.PermissionDenied)
				continue
			}
			if err != nil {
				t.Errorf("put %q: %v", dk, err)
				continue
			}
			got, err := d.GetDocument(ctx, dk)
			if err != nil || got.Key != dk || got.Fields["k"] != k {
				t.Errorf("get %q: %v %v", dk, got, err)
			}
		}
		// Queries: the trick as partition, sort value and page token.
		for _, q := range []driver.Query{
			{Partition: k}, {Partition: "p", Sort: driver.SortPrefix, Value: k},
			{Partition: "p", Sort: driver.SortBetween, Value: k, Value2: k + "\xff"},
			{Partition: "p", PageToken: k}, {Partition: "p", PageToken: encodeToken('q', []byte(k))},
			{Partition: "p", PageToken: base64.RawURLEncoding.EncodeToString([]byte(k))},
			{PageToken: encodeToken('s', []byte(k))}, {Partition: k, Descending: true, Limit: 1},
		} {
			page, err := d.QueryDocuments(ctx, &q)
			check(fmt.Sprintf("query %+v", q), err, driver.InvalidArgument, driver.TooLarge, driver.PermissionDenied)
			if page != nil {
				for _, doc := range page.Documents {
					returned = append(returned, []byte(fmt.Sprint(doc.Fields)))
				}
			}
		}
		// Payloads: the trick as key, list prefix and page token.
		data := []byte("payload of " + k)
		_, err := d.WriteBlob(ctx, k, bytes.NewReader(data), &driver.WriteOptions{Size: -1, Checksum: driver.SHA256})
		planted := k == "evil/x" || k == "evilfile"
		switch {
		case k == "" || len(k) > MaxBlobKeyBytes:
			check(fmt.Sprintf("write blob %q", k), err, driver.InvalidArgument, driver.TooLarge)
		case planted:
			if err == nil {
				t.Errorf("write blob %q through a planted link: accepted", k)
			}
			check(fmt.Sprintf("write blob %q", k), err, driver.PermissionDenied, driver.AlreadyExists)
		case err != nil:
			t.Errorf("write blob %q: %v", k, err)
		default:
			got, err := readBlob(t, d, k, 0, -1)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("read blob %q: %q %v", k, got, err)
			}
			sum := sha256.Sum256(data)
			info, err := d.StatBlob(ctx, k)
			if err != nil || info.Key != k || info.Size != int64(len(data)) || !bytes.Equal(info.Checksum.Sum, sum[:]) {
				t.Errorf("stat blob %q: %+v %v", k, info, err)
			}
		}
		if planted {
			got, err := readBlob(t, d, k, 0, -1)
			check(fmt.Sprintf("read blob %q", k), err, driver.PermissionDenied, driver.NotFound)
			returned = append(returned, got)
		}
		if planted || k == "" || len(k) > MaxBlobKeyBytes {
			info, err := d.StatBlob(ctx, k)
			if err == nil {
				t.Errorf("stat blob %q: %+v", k, info)
			}
			check(fmt.Sprintf("stat blob %q", k), err, driver.PermissionDenied, driver.NotFound, driver.InvalidArgument, driver.TooLarge)
		}
		for _, tok := range []string{"", k, encodeToken('b', []byte(k)), base64.RawURLEncoding.EncodeToString([]byte(k))} {
			page, err := d.ListBlobs(ctx, k, tok)
			check(fmt.Sprintf("list blobs %q %q", k, tok), err, driver.InvalidArgument)
			if page != nil {
				for _, b := range page.Blobs {
					if !strings.HasPrefix(b.Key, k) {
						t.Errorf("list %q returned %q", k, b.Key)
					}
				}
			}
		}
	}

	// Distinct keys stayed distinct (no two tricks share a file): every
	// document still holds its own key.
	for _, k := range trickKeys() {
		if k == "" || !utf8.ValidString(k) || len(k) > MaxSortKeyBytes || k == "evilfile" {
			continue
		}
		got, err := d.GetDocument(ctx, key("p", k))
		if err != nil || got.Fields["k"] != k {
			t.Errorf("document (p, %q) after all tricks: %v, %v", k, got, err)
		}
	}

	// Links within the root are not followed either.
	_, err = readBlob(t, d, "alias", 0, -1)
	wantCode(t, "read through an in-root link", err, driver.PermissionDenied)
	_, err = d.StatBlob(ctx, "alias")
	wantCode(t, "stat through an in-root link", err, driver.PermissionDenied)

	// Every stored key lists back exactly, each once, and no listing shows
	// a planted link.
	var wantBlobs []string
	for _, k := range trickKeys() {
		if k != "" && len(k) <= MaxBlobKeyBytes && k != "evil/x" && k != "evilfile" {
			wantBlobs = append(wantBlobs, k)
		}
	}
	wantBlobs = append(wantBlobs, "real")
	slices.Sort(wantBlobs)
	wantBlobs = slices.Compact(wantBlobs)
	if got := listAll(t, d, ""); !slices.Equal(got, wantBlobs) {
		t.Errorf("listing after the tricks:\n got %q\nwant %q", got, wantBlobs)
	}
	for _, k := range wantBlobs {
		got, err := readBlob(t, d, k, 0, -1)
		if k != "real" && (err != nil || string(got) != "payload of "+k) {
			t.Errorf("blob %q reads %q, %v", k, got, err)
		}
	}
	all := &driver.Query{}
	for {
		page, err := d.QueryDocuments(ctx, all)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, doc := range page.Documents {
			returned = append(returned, []byte(fmt.Sprint(doc.Fields)))
			if doc.Key.Partition == "evil" || doc.Key.Partition == "outside" || doc.Key == key("p", "evilfile") {
				t.Errorf("scan returned %q from a planted link", doc.Key)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		all.PageToken = page.NextPageToken
	}

	// Before the deletes, every payload written with RecordSHA256 has a
	// sidecar beside it, and every name is short enough for any file
	// system.
	sidecars := 0
	err = filepath.WalkDir(filepath.Join(rootDir, blobsDir), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(e.Name()) > 143 {
			t.Errorf("name of %d bytes: %s", len(e.Name()), p)
		}
		if isSidecarName(e.Name()) {
			sidecars++
			if kind, _ := classify(strings.TrimPrefix(e.Name(), sidecarPrefix)); kind != kindBlob {
				t.Errorf("sidecar %s names no payload file", p)
			}
		}
		return nil
	})
	must(err)
	if want := len(wantBlobs) - 1; sidecars != want { // all but "real"
		t.Errorf("%d sidecars, want %d", sidecars, want)
	}

	// Deletes and the sweeper's clean-up, through every key.
	for _, k := range trickKeys() {
		check(fmt.Sprintf("delete blob %q", k), d.DeleteBlob(ctx, k), driver.InvalidArgument, driver.TooLarge, driver.PermissionDenied)
		for _, dk := range []driver.Key{key(k, "s"), key("p", k), key(k, k)} {
			_, err := d.DeleteDocument(ctx, dk, driver.Condition{})
			check(fmt.Sprintf("delete %q", dk), err, driver.InvalidArgument, driver.TooLarge, driver.PermissionDenied)
		}
	}
	// And the listings that remove stale temporary files.
	tidyAll(t, sameDir(t, d, &Options{StaleTempAge: time.Nanosecond}))

	for _, r := range returned {
		if bytes.Contains(r, []byte(secret)) {
			t.Errorf("a read returned data from outside the root: %q", r)
		}
	}
	if after := snapshot(t, outside); !maps_equal(outsideBefore, after) {
		t.Errorf("the directory outside the root changed:\nbefore %v\nafter  %v", outsideBefore, after)
	}
	if after := snapshot(t, filepath.Join(base, "root-evil")); !maps_equal(evilBefore, after) {
		t.Error("the sibling directory root-evil changed")
	}
	ents, err := os.ReadDir(base)
	must(err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"outside", "root", "root-evil"}) {
		t.Errorf("entries beside the root: %q", names)
	}
	// Inside the root, every name is one the encoding makes (or a planted
	// link), and short enough for any file system.
	err = filepath.WalkDir(rootDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootDir, p)
		if rel == "." || rel == docsDir || rel == blobsDir || rel == locksDir || strings.HasPrefix(rel, locksDir+"/") {
			return nil
		}
		if e.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if len(e.Name()) > 143 {
			t.Errorf("name of %d bytes: %s", len(e.Name()), rel)
		}
		if kind, _ := classify(e.Name()); kind == kindOther {
			t.Errorf("stray name in the root: %q", rel)
		}
		return nil
	})
	must(err)
}

func maps_equal(a, b map[string]fileSnap) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// TestPlantedLocksLink checks that a locks directory replaced by a link
// out of the root makes writes fail, without creating anything outside.
func TestPlantedLocksLink(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	rootDir := filepath.Join(base, "root")
	if err := os.MkdirAll(rootDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rootDir, locksDir)); err != nil {
		t.Fatal(err)
	}
	d, err := New(&Options{Dir: rootDir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.PutDocument(context.Background(), &driver.Document{Key: key("p", "s")}, driver.Condition{})
	wantCode(t, "put with a planted locks link", err, driver.PermissionDenied)
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("created outside the root: %v", ents)
	}
}

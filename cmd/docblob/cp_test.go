package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docblob/docblob"
)

// seed fills the store at url with n documents over three partitions
// ("p0", "p1", "p2"), each with a payload of size bytes, and returns their
// keys. Every seventh document has a second attachment and every fifth no
// attachment at all; fields exercise numbers, sets and nesting.
func seed(t *testing.T, url string, n, size int) []docblob.Key {
	t.Helper()
	ctx := context.Background()
	store, err := docblob.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var keys []docblob.Key
	for i := range n {
		k := docblob.Key{Partition: fmt.Sprintf("p%d", i%3), Sort: fmt.Sprintf("doc-%04d", i)}
		m := map[string]any{"pk": k.Partition, "sk": k.Sort, "title": fmt.Sprintf("document %d", i),
			"n": int64(i), "big": docblob.Decimal("12345678901234567890123456789.5"),
			"tags": docblob.StringSet{"a", "b"}, "nested": map[string]any{"list": []any{int64(1), "two", true}}}
		if i%5 != 0 {
			data := make([]byte, size)
			rand.Read(data)
			m["data"] = docblob.NewBlobBytes(data, &docblob.BlobOptions{Name: fmt.Sprintf("f%d.bin", i),
				Metadata: map[string]string{"i": fmt.Sprint(i)}})
		}
		if i%7 == 0 {
			m["extra"] = docblob.NewBlobBytes([]byte("<html>extra</html>"), nil)
		}
		if err := store.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// sameStores fails the test unless the destination holds every document
// of keys as the source does: the same fields, and attachments whose
// payloads read back whole and verified, with the same SHA-256, size and
// metadata.
func sameStores(t *testing.T, srcURL, dstURL string, keys []docblob.Key) {
	t.Helper()
	ctx := context.Background()
	src, err := docblob.Open(ctx, srcURL)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := docblob.Open(ctx, dstURL)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	si := storeInfo{pk: "pk", sk: "sk", revision: "DocstoreRevision"}
	for _, k := range keys {
		sm, dm := si.docFor(k), si.docFor(k)
		if err := src.Get(ctx, sm); err != nil {
			t.Fatal(err)
		}
		if err := dst.Get(ctx, dm); err != nil {
			t.Fatalf("destination: %v", err)
		}
		sd, dd := si.splitDoc(sm), si.splitDoc(dm)
		if !reflect.DeepEqual(sd.fields, dd.fields) {
			t.Errorf("%v: fields differ:\nsource      %v\ndestination %v", k, sd.fields, dd.fields)
		}
		if len(sd.attachments) != len(dd.attachments) {
			t.Errorf("%v: %d attachments, want %d", k, len(dd.attachments), len(sd.attachments))
		}
		for n, sb := range sd.attachments {
			db := dd.attachments[n]
			if db == nil || !sameBlob(sb, db) {
				t.Errorf("%v: attachment %s differs", k, n)
				continue
			}
			want, err := sb.ReadAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.ReadAll(ctx) // verified against the recorded SHA-256
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%v: attachment %s: %v, bytes equal: %v", k, n, err, bytes.Equal(got, want))
			}
		}
	}
}

// summary returns cp's copy_summary line.
func summary(t *testing.T, r result) map[string]int64 {
	t.Helper()
	s := ofType(r.lines(t), "copy_summary")
	if len(s) != 1 {
		t.Fatalf("no copy_summary: %s", r)
	}
	out := map[string]int64{}
	for k, v := range s[0] {
		if n, ok := v.(json.Number); ok {
			out[k], _ = n.Int64()
		}
	}
	if s[0]["complete"] == true {
		out["complete"] = 1
	}
	return out
}

// TestCopy copies stores between backends, re-runs the copy (everything
// skipped), then copies changes.
func TestCopy(t *testing.T) {
	pairs := []struct {
		name     string
		src, dst func(*testing.T) backend
	}{
		{"file-to-file", fileBackend, fileBackend},
		{"file-to-s3dynamo", fileBackend, s3Backend},
		{"s3dynamo-to-file", s3Backend, fileBackend},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			src, dst := p.src(t), p.dst(t)
			testCopy(t, src, dst)
		})
	}
}

func testCopy(t *testing.T, src, dst backend) {
	keys := seed(t, src.url, 30, 20_000)
	c := cli{t: t}
	r := c.ok("cp", src.url, dst.url, "--json")
	s := summary(t, r)
	if s["documents"] != 30 || s["copied"] != 30 || s["failed"] != 0 || s["complete"] != 1 || s["attachments"] != 24+5 {
		t.Errorf("first cp: %v", s)
	}
	if lines := ofType(r.lines(t), "copy"); len(lines) != 30 {
		t.Errorf("first cp: %d copy lines, want 30", len(lines))
	}
	sameStores(t, src.url, dst.url, keys)
	cli{t: t, store: dst.url}.ok("check", "--verify")

	// Nothing changed: everything is skipped, nothing transferred.
	s = summary(t, c.ok("cp", src.url, dst.url, "--json"))
	if s["skipped"] != 30 || s["bytes"] != 0 || s["copied"] != 0 {
		t.Errorf("second cp: %v", s)
	}

	// A changed field updates the document without copying its payload;
	// a changed payload copies that payload only.
	sc := cli{t: t, store: src.url}
	doc := writeTemp(t, `{"title":"changed","n":1}`)
	sc.ok("put", "p1", "doc-0001", "--doc", doc)
	p, data := randomFile(t, "new.bin", 5000)
	sc.ok("put", "p2", "doc-0002", "data", p)
	r = c.ok("cp", src.url, dst.url, "--json")
	s = summary(t, r)
	if s["updated"] != 2 || s["skipped"] != 28 || s["attachments"] != 1 || s["bytes"] != int64(len(data)) {
		t.Errorf("cp of changes: %v\n%s", s, r)
	}
	sameStores(t, src.url, dst.url, keys)

	// --partition copies one partition; text output.
	other := fileBackend(t)
	r = c.ok("cp", src.url, other.url, "--partition", "p0")
	wantContains(t, "cp --partition", r.stdout, "cp: 10 documents: 10 copied, 0 updated, 0 unchanged, 0 failed;")
	wantContains(t, "cp's progress", r.stderr, "cp: done in ", "10/10 documents")
	if got := (cli{t: t, store: other.url}).ok("ls", "--all", "--json").lines(t); len(got) != 10 {
		t.Errorf("cp --partition copied %d documents", len(got))
	}
}

// TestCopyToMem copies into mem://: a single-command flow, verified as it
// goes.
func TestCopyToMem(t *testing.T) {
	t.Parallel()
	src := fileBackend(t)
	seed(t, src.url, 12, 1000)
	s := summary(t, cli{t: t}.ok("cp", src.url, "mem://", "--json"))
	if s["copied"] != 12 || s["failed"] != 0 {
		t.Errorf("cp to mem://: %v", s)
	}
}

// TestCopyErrors: a corrupt source payload fails its document only; other
// documents are copied; a re-run after the repair finishes.
func TestCopyErrors(t *testing.T) {
	t.Parallel()
	src, dst := fileBackend(t), fileBackend(t)
	keys := seed(t, src.url, 9, 10_000)
	sc := cli{t: t, store: src.url}
	key := field(t, sc.ok("stat", "p1", "doc-0004", "--json").lines(t)[0], "attachments", "data", "key").(string)
	src.corrupt(t, key)

	c := cli{t: t}
	r := c.fails(exitCorrupt, "cp", src.url, dst.url, "--json")
	s := summary(t, r)
	if s["failed"] != 1 || s["copied"] != 8 || s["complete"] != 0 {
		t.Errorf("cp with a corrupt payload: %v", s)
	}
	var failed []map[string]any
	for _, l := range ofType(r.lines(t), "copy") {
		if l["status"] == "failed" {
			failed = append(failed, l)
		}
	}
	if len(failed) != 1 || failed[0]["partition"] != "p1" || failed[0]["sort"] != "doc-0004" || failed[0]["code"] != "corrupt" {
		t.Errorf("failed lines: %v", failed)
	}
	e := r.errLine(t)
	wantContains(t, "cp's error", e["error"].(string), "1 document of 9 documents failed", "corrupt")
	if e["code"] != "corrupt" {
		t.Errorf("cp's error line: %v", e)
	}
	cli{t: t, store: dst.url}.fails(exitNotFound, "stat", "p1", "doc-0004")
	cli{t: t, store: dst.url}.ok("check", "--verify")

	// Repair the source, then finish.
	p, _ := randomFile(t, "fixed.bin", 10_000)
	sc.ok("put", "p1", "doc-0004", "data", p)
	s = summary(t, c.ok("cp", src.url, dst.url, "--json"))
	if s["copied"] != 1 || s["skipped"] != 8 {
		t.Errorf("cp after the repair: %v", s)
	}
	sameStores(t, src.url, dst.url, keys)

	// Stores with other key schemas cannot be copied into each other.
	r = c.fails(exitInvalid, "cp", src.url, "file://"+t.TempDir()+"?sort_key=")
	wantContains(t, "cp's error", r.stderr, "partition key only")
	c.fails(exitUsage, "cp", src.url)
}

// TestCopyInterrupted interrupts a cp (SIGINT, then SIGKILL) and resumes
// it to completion, every payload verified.
func TestCopyInterrupted(t *testing.T) {
	for _, dstKind := range []string{"file", "s3dynamo"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			t.Run(dstKind+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				src := fileBackend(t)
				dst := persistentBackends(t)[dstKind](t)
				testCopyInterrupted(t, src, dst, sig)
			})
		}
	}
}

func testCopyInterrupted(t *testing.T, src, dst backend, sig syscall.Signal) {
	const n = 150
	keys := seed(t, src.url, n, 64<<10)
	c := cli{t: t}

	// The first cp is interrupted after a few documents.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, "cp", src.url, dst.url, "--json", "--concurrency", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	copies := 0
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `"type":"copy"`) {
			copies++
		}
		if copies == 5 {
			cmd.Process.Signal(sig)
			break
		}
	}
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	err = cmd.Wait()
	first := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: stderr.String()}
	switch sig {
	case syscall.SIGINT:
		if first.code != exitInterrupted {
			t.Fatalf("interrupted cp: want exit code %d: %v\n%s", exitInterrupted, err, first)
		}
		e := first.errLine(t)
		if e["code"] != "interrupted" || !strings.Contains(e["hint"].(string), "run the same cp again") {
			t.Errorf("interrupted cp's error: %v", e)
		}
		if s := summary(t, first); s["complete"] != 0 || s["copied"] >= n {
			t.Errorf("interrupted cp's summary: %v", s)
		}
	case syscall.SIGKILL:
		if first.code != -1 {
			t.Fatalf("killed cp: %v\n%s", err, first)
		}
	}
	copied := 0
	for _, l := range ofType(first.lines(t), "copy") {
		if l["status"] == "copied" {
			copied++
		}
	}
	if copied == 0 || copied >= n {
		t.Fatalf("the first cp copied %d of %d documents", copied, n)
	}

	// Resumed: what was copied is skipped, the rest copied.
	r := c.ok("cp", src.url, dst.url, "--json")
	s := summary(t, r)
	if s["documents"] != n || s["complete"] != 1 || s["failed"] != 0 || s["skipped"] < int64(copied) || s["copied"]+s["skipped"]+s["updated"] != n {
		t.Errorf("resumed cp (after %d copied): %v", copied, s)
	}
	sameStores(t, src.url, dst.url, keys)

	// Every payload verified; a killed cp may leave only orphans (an upload
	// whose document was never written), which Sweep removes in time.
	r = cli{t: t, store: dst.url}.run("", "check", "--verify", "--json")
	for _, f := range ofType(r.lines(t), "finding") {
		if sig == syscall.SIGINT || f["kind"] != "orphan_payload" {
			t.Errorf("check after the resumed cp: %v", f)
		}
	}
	if sig == syscall.SIGINT && r.code != 0 {
		t.Errorf("check after the resumed cp: %s", r)
	}
}

// writeTemp writes s to a new file and returns its path.
func writeTemp(t *testing.T, s string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "doc-*.json")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
	return f.Name()
}

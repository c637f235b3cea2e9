package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommands runs every document and payload command against a
// persistent store, checking stdout (JSON parsed), stderr and exit codes.
func TestCommands(t *testing.T) {
	for name, mk := range persistentBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCommands(t, mk(t))
		})
	}
}

func testCommands(t *testing.T, b backend) {
	c := cli{t: t, store: b.url}
	pdfPath, pdf := randomFile(t, "march.pdf", 300_000)
	copy(pdf, "%PDF-1.7\n")
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}

	// put FIELD FILE creates the document.
	r := c.ok("put", "acme", "2026-001", "pdf", pdfPath, "--json", "--metadata", "origin=scanner")
	docs := ofType(r.lines(t), "document")
	if len(docs) != 1 {
		t.Fatalf("put --json: want one document line: %s", r)
	}
	d := docs[0]
	if d["partition"] != "acme" || d["sort"] != "2026-001" || d["revision"] == "" {
		t.Errorf("put --json: key or revision: %v", d)
	}
	if got := field(t, d, "attachments", "pdf", "checksum"); got != crc32cText(pdf) {
		t.Errorf("put: checksum %v, want %s", got, crc32cText(pdf))
	}
	if got := field(t, d, "attachments", "pdf", "size").(json.Number).String(); got != "300000" {
		t.Errorf("put: size %v", got)
	}
	if got := field(t, d, "attachments", "pdf", "name"); got != "march.pdf" {
		t.Errorf("put: name %v", got)
	}
	if got := field(t, d, "attachments", "pdf", "content_type"); got != "application/pdf" {
		t.Errorf("put: content type %v", got)
	}
	if got := field(t, d, "attachments", "pdf", "metadata", "origin"); got != "scanner" {
		t.Errorf("put: metadata %v", got)
	}
	wantContains(t, "put's stderr", r.stderr, `{"type":"progress","command":"put","done":true`)
	payloadKey := field(t, d, "attachments", "pdf", "key").(string)

	// put --doc sets the other fields and keeps the attachment; numbers
	// keep all their digits.
	docPath := filepath.Join(t.TempDir(), "doc.json")
	os.WriteFile(docPath, []byte(`{"title":"March","total":1234.5,"big":123456789012345678901234567890,"tags":["a","b"],"paid":false}`), 0o600)
	r = c.ok("put", "acme", "2026-001", "--doc", docPath)
	wantContains(t, "put --doc", r.stdout, `stored ("acme", "2026-001"): 5 fields; revision `)

	// stat shows both, in text and JSON.
	r = c.ok("stat", "acme", "2026-001")
	wantContains(t, "stat", r.stdout, `document  ("acme", "2026-001")`, `title: "March"`,
		"big: 123456789012345678901234567890", "crc32c        "+strings.TrimPrefix(crc32cText(pdf), "crc32c:"), "name          march.pdf", "metadata      origin=scanner")
	if r.stderr != "" {
		t.Errorf("stat wrote on stderr: %s", r.stderr)
	}
	d = c.ok("stat", "acme", "2026-001", "--json").lines(t)[0]
	if got := field(t, d, "fields", "big").(json.Number).String(); got != "123456789012345678901234567890" {
		t.Errorf("stat --json: big = %s", got)
	}
	if got := field(t, d, "fields", "title"); got != "March" {
		t.Errorf("stat --json: title = %v", got)
	}
	if got := field(t, d, "attachments", "pdf", "key"); got != payloadKey {
		t.Errorf("stat --json: the attachment moved: %v, was %v", got, payloadKey)
	}
	rev := d["revision"].(string)

	// More documents for ls.
	scanPath, scan := randomFile(t, "scan.bin", 1000)
	c.ok("put", "acme", "2026-002", "scan", scanPath)
	c.ok("put", "acme", "2026-010", "scan", scanPath, "--name", "renamed.bin", "--content-type", "image/png")
	c.ok("put", "globex", "2026-001", "scan", scanPath)

	r = c.ok("ls", "acme")
	wantLines(t, "ls", r.stdout, "2026-001  293.0 KiB  pdf", "2026-002  1000 B     scan", "2026-010  1000 B     scan")
	sorts := func(r result) []string {
		var out []string
		for _, l := range ofType(r.lines(t), "document") {
			out = append(out, l["sort"].(string))
		}
		return out
	}
	if got := sorts(c.ok("ls", "acme", "--json")); strings.Join(got, ",") != "2026-001,2026-002,2026-010" {
		t.Errorf("ls --json: %v", got)
	}
	if got := sorts(c.ok("ls", "acme", "--json", "--desc", "--limit", "2")); strings.Join(got, ",") != "2026-010,2026-002" {
		t.Errorf("ls --desc --limit 2: %v", got)
	}
	if got := sorts(c.ok("ls", "--between", "2026-002", "2026-010", "acme", "--json")); strings.Join(got, ",") != "2026-002,2026-010" {
		t.Errorf("ls --between: %v", got)
	}
	if got := sorts(c.ok("ls", "acme", "--prefix", "2026-00", "--json")); strings.Join(got, ",") != "2026-001,2026-002" {
		t.Errorf("ls --prefix: %v", got)
	}
	if got := sorts(c.ok("ls", "nobody", "--json")); len(got) != 0 {
		t.Errorf("ls of an empty partition: %v", got)
	}
	if got := c.ok("ls", "--all", "--json").lines(t); len(got) != 4 {
		t.Errorf("ls --all: %d documents, want 4", len(got))
	}
	c.fails(exitUsage, "ls", "acme", "--prefix", "a", "--between", "a", "b")

	// cat streams the payload, verified.
	r = c.ok("cat", "acme", "2026-001", "pdf")
	if r.stdout != string(pdf) {
		t.Errorf("cat: %d bytes differ from the %d put", len(r.stdout), len(pdf))
	}
	wantContains(t, "cat's stderr", r.stderr, "cat: done in ", "293.0 KiB")
	r = c.ok("cat", "acme", "2026-010", "scan", "--quiet")
	if r.stdout != string(scan) || r.stderr != "" {
		t.Errorf("cat --quiet: %s", r)
	}

	// get -o writes a verified file.
	out := filepath.Join(t.TempDir(), "out.pdf")
	r = c.ok("get", "acme", "2026-001", "pdf", "-o", out, "--json")
	got, err := os.ReadFile(out)
	if err != nil || string(got) != string(pdf) {
		t.Fatalf("get -o: %v, %d bytes", err, len(got))
	}
	l := ofType(r.lines(t), "download")
	if len(l) != 1 || l[0]["file"] != out || l[0]["checksum"] != crc32cText(pdf) || l[0]["field"] != "pdf" {
		t.Errorf("get --json: %s", r)
	}
	r = c.ok("get", "acme", "2026-001", "pdf", "-o", "-", "--no-progress")
	if r.stdout != string(pdf) || r.stderr != "" {
		t.Errorf("get -o - --no-progress: %d bytes, stderr %q", len(r.stdout), r.stderr)
	}
	c.fails(exitUsage, "get", "acme", "2026-001", "pdf")

	// url: S3 presigns; a file:// store without sign_url cannot sign.
	if b.name == "s3dynamo" {
		u := c.ok("url", "acme", "2026-001", "pdf", "--expiry", "5m").stdout
		resp, err := http.Get(strings.TrimSpace(u))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != string(pdf) {
			t.Errorf("GET of the signed URL: %s, %d bytes", resp.Status, len(body))
		}
		l := c.ok("url", "acme", "2026-001", "pdf", "--json").lines(t)[0]
		exp, err := time.Parse(time.RFC3339, l["expires"].(string))
		if l["method"] != "GET" || err != nil || time.Until(exp) < 50*time.Minute {
			t.Errorf("url --json: %v", l)
		}
	} else {
		r = c.fails(exitUnimplemented, "url", "acme", "2026-001", "pdf")
		wantContains(t, "url's error", r.stderr, "unimplemented", "sign_url", "secret_env")
	}

	// Not found: a document, an attachment field; text and JSON errors.
	r = c.fails(exitNotFound, "stat", "acme", "nope")
	wantContains(t, "stat's error", r.stderr, `("acme", "nope")`, "not found", "what to do:", "docblob ls acme")
	e := c.fails(exitNotFound, "cat", "acme", "nope", "pdf", "--json").errLine(t)
	if e["code"] != "not_found" || e["partition"] != "acme" || e["sort"] != "nope" || e["exit_code"].(json.Number).String() != "3" || e["hint"] == "" {
		t.Errorf("JSON error line: %v", e)
	}
	r = c.fails(exitNotFound, "cat", "acme", "2026-001", "scan")
	wantContains(t, "cat's error", r.stderr, `("acme", "2026-001") has no attachment "scan" (its attachments: pdf)`)
	r = c.fails(exitNotFound, "get", "acme", "2026-001", "title", "-o", out)
	wantContains(t, "get's error", r.stderr, `field "title" is not an attachment`)

	// Precondition failed: a stale revision.
	r = c.fails(exitPrecondition, "rm", "acme", "2026-001", "--revision", "01stale")
	wantContains(t, "rm's error", r.stderr, "precondition failed", "what to do:", "docblob stat")
	r = c.fails(exitPrecondition, "put", "acme", "2026-001", "--doc", docPath, "--revision", "01stale", "--json")
	if e := r.errLine(t); e["code"] != "precondition_failed" || e["sort"] != "2026-001" {
		t.Errorf("put --revision: %v", e)
	}
	c.ok("put", "acme", "2026-001", "--doc", docPath, "--revision", rev)

	// Already exists.
	r = c.fails(exitAlreadyExists, "put", "globex", "2026-001", "scan", scanPath, "--create")
	wantContains(t, "put --create's error", r.stderr, "already exists", "drop --create")

	// rm, then it is gone; rm -f of a missing document succeeds.
	r = c.ok("rm", "acme", "2026-002", "--json")
	if l := r.lines(t)[0]; l["type"] != "deleted" || l["existed"] != true || l["attachments"].([]any)[0] != "scan" {
		t.Errorf("rm --json: %v", l)
	}
	c.fails(exitNotFound, "stat", "acme", "2026-002")
	c.fails(exitNotFound, "rm", "acme", "2026-002")
	c.ok("rm", "-f", "acme", "2026-002")

	// check and sweep on a healthy store.
	r = c.ok("check", "--verify")
	wantContains(t, "check", r.stdout, "check: no problems found (checksums verified)")
	r = c.ok("check", "--json")
	if s := ofType(r.lines(t), "check_summary"); len(s) != 1 || s[0]["findings"].(json.Number).String() != "0" {
		t.Errorf("check --json: %s", r)
	}
	r = c.ok("sweep", "--dry-run", "--json")
	if s := ofType(r.lines(t), "sweep"); len(s) != 1 || s[0]["dry_run"] != true || s[0]["orphans"].(json.Number).String() != "0" {
		t.Errorf("sweep --json: %s", r)
	}
	r = c.fails(exitInvalid, "sweep", "--grace", "1m")
	wantContains(t, "sweep's error", r.stderr, "grace period", "longer --grace")

	// A corrupt payload: tampered with behind docblob's back, same size.
	b.corrupt(t, payloadKey)
	r = c.fails(exitCorrupt, "cat", "acme", "2026-001", "pdf")
	wantContains(t, "cat's error", r.stderr, "corrupt", "not the stored payload", "check --verify")
	bad := filepath.Join(t.TempDir(), "bad.pdf")
	r = c.fails(exitCorrupt, "get", "acme", "2026-001", "pdf", "-o", bad, "--json")
	if e := r.errLine(t); e["code"] != "corrupt" || e["partition"] != "acme" {
		t.Errorf("get of a corrupt payload: %v", e)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("get of a corrupt payload left %s: %v", bad, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(bad)); len(entries) != 0 {
		t.Errorf("get of a corrupt payload left temporary files: %v", entries)
	}
	c.ok("check") // sizes still match: only --verify reads payloads
	r = c.fails(exitFindings, "check", "--verify", "--json")
	f := ofType(r.lines(t), "finding")
	if len(f) != 1 || f[0]["kind"] != "checksum_mismatch" || f[0]["partition"] != "acme" || f[0]["sort"] != "2026-001" ||
		f[0]["field"] != "pdf" || f[0]["payload_key"] != payloadKey {
		t.Errorf("check --verify --json: %s", r)
	}
	r = c.fails(exitFindings, "check", "--verify")
	wantContains(t, "check --verify", r.stdout, "checksum mismatch", "check: 1 problem (checksums verified)")
}

// wantLines fails the test unless s holds these lines (trailing spaces
// ignored), in this order.
func wantLines(t *testing.T, what, s string, lines ...string) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		got = append(got, strings.TrimRight(l, " "))
	}
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(lines, "\n"))
	}
}

// TestMemStore runs single commands on mem://, whose store lives as long
// as one command.
func TestMemStore(t *testing.T) {
	t.Parallel()
	c := cli{t: t, store: "mem://"}
	if r := c.ok("ls", "acme"); r.stdout != "" {
		t.Errorf("ls on mem://: %s", r)
	}
	c.fails(exitNotFound, "stat", "acme", "1")
	c.fails(exitNotFound, "cat", "acme", "1", "pdf")
	c.fails(exitNotFound, "rm", "acme", "1")
	c.ok("rm", "--force", "acme", "1")
	r := c.run("hello from stdin", "put", "acme", "1", "note", "-", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	if d := r.lines(t)[0]; field(t, d, "attachments", "note", "checksum") != crc32cText([]byte("hello from stdin")) ||
		field(t, d, "attachments", "note", "content_type") != "text/plain; charset=utf-8" {
		t.Errorf("put from stdin: %v", d)
	}
	c.fails(exitUnimplemented, "url", "acme", "1", "pdf", "--put")
	if r := c.ok("check", "--verify", "--json"); len(ofType(r.lines(t), "check_summary")) != 1 {
		t.Errorf("check: %s", r)
	}
	if r := c.ok("sweep", "--json"); len(ofType(r.lines(t), "sweep")) != 1 {
		t.Errorf("sweep: %s", r)
	}
}

// TestPartitionOnly runs the commands on a store whose documents have a
// partition key only: one key argument.
func TestPartitionOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := cli{t: t, store: "file://" + dir + "?sort_key="}
	p, data := randomFile(t, "a.txt", 100)
	c.ok("put", "user-1", "avatar", p)
	if r := c.ok("cat", "user-1", "avatar", "-q"); r.stdout != string(data) {
		t.Errorf("cat: %s", r)
	}
	r := c.ok("stat", "user-1", "--json")
	if d := r.lines(t)[0]; d["partition"] != "user-1" || d["sort"] != "" {
		t.Errorf("stat: %v", d)
	}
	if r := c.ok("ls", "user-1"); !strings.HasPrefix(r.stdout, "user-1  100 B  avatar") {
		t.Errorf("ls: %q", r.stdout)
	}
	r = c.fails(exitUsage, "stat", "user-1", "extra")
	wantContains(t, "stat's error", r.stderr, "stat takes PARTITION on this store (its documents have a partition key only); got 2 argument(s)")
	c.fails(exitUsage, "ls", "user-1", "--prefix", "a")
	c.ok("rm", "user-1")
}

// TestServe runs serve on a file:// store with sign_url, downloads from a
// url, uploads to a url --put and commits the upload from another process.
func TestServe(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	store := "file://" + dir + "?secret_env=CLI_TEST_SECRET&sign_url=http://127.0.0.1:" + port + "/blobs"
	c := cli{t: t, store: store, env: []string{"CLI_TEST_SECRET=" + strings.Repeat("s3cr3t-", 8)}}

	srv := startServe(t, c)
	defer srv.stop(t)

	p, data := randomFile(t, "photo.bin", 50_000)
	c.ok("put", "acme", "1", "photo", p)
	u := strings.TrimSpace(c.ok("url", "acme", "1", "photo").stdout)
	if !strings.HasPrefix(u, "http://127.0.0.1:"+port+"/blobs?") {
		t.Fatalf("url: %q", u)
	}
	body := httpDo(t, "GET", u, nil, nil)
	if body != string(data) {
		t.Errorf("download: %d bytes", len(body))
	}

	up := c.ok("url", "acme", "1", "scan", "--put", "--json").lines(t)[0]
	headers := map[string]string{}
	for k, v := range up["headers"].(map[string]any) {
		headers[k] = v.(string)
	}
	if up["method"] != "PUT" || headers["If-None-Match"] != "*" || up["token"] == "" {
		t.Fatalf("url --put: %v", up)
	}
	_, scan := randomFile(t, "scan.bin", 70_000)
	httpDo(t, "PUT", up["url"].(string), headers, scan)
	r := c.ok("put", "acme", "1", "scan", "--upload-token", up["token"].(string), "--json")
	if got := field(t, r.lines(t)[0], "attachments", "scan", "sha256"); got != sha256Hex(scan) {
		t.Errorf("committed upload: %v", got)
	}
	if r := c.ok("cat", "acme", "1", "scan", "-q"); r.stdout != string(scan) {
		t.Errorf("cat of the upload: %d bytes", len(r.stdout))
	}
	c.ok("check", "--verify")
}

// TestServeStores: serve runs on mem:// with sign_url too, and refuses a
// store that does not sign with localsign.
func TestServeStores(t *testing.T) {
	t.Parallel()
	env := []string{"CLI_TEST_SECRET=" + strings.Repeat("s3cr3t-", 8)}
	mem := cli{t: t, env: env, store: "mem://?secret_env=CLI_TEST_SECRET&sign_url=http://127.0.0.1:" + freePort(t) + "/b"}
	startServe(t, mem).stop(t)

	r := cli{t: t, store: "file://" + t.TempDir()}.fails(exitInvalid, "serve")
	wantContains(t, "serve's error", r.stderr, "does not sign URLs with localsign", "sign_url=", "secret_env=")
	r = cli{t: t, store: "file://" + t.TempDir() + "?sign_url=http://127.0.0.1:1/b"}.fails(exitInvalid, "serve")
	wantContains(t, "serve's error", r.stderr, "secret_env")
}

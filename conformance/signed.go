package conformance

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

// fetch sends a request to a signed URL, refusing any host but loopback
// (unless DOCBLOB_ALLOW_REMOTE=1, for suites run against a cloud account).
func fetch(t *testing.T, method, rawURL string, header http.Header, body []byte) (int, []byte, http.Header) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("signed URL %q: %v", rawURL, err)
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" && os.Getenv("DOCBLOB_ALLOW_REMOTE") != "1" {
		t.Fatalf("signed URL host %q is not loopback; set DOCBLOB_ALLOW_REMOTE=1 to allow it", u.Hostname())
	}
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.ContentLength = int64(len(body))
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// testSignedURLs checks downloads from signed URLs and direct uploads, on
// drivers that sign URLs.
func testSignedURLs(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	in := &record{PK: "sig", SK: "1", File: docblob.NewBlobBytes([]byte("%PDF-1.7 signed"), &docblob.BlobOptions{Name: "s.pdf"})}
	must(t, e.store.Put(e.ctx, in), "Put")
	u, err := in.File.SignedURL(e.ctx, &docblob.SignedURLOptions{Expiry: time.Minute, ContentDisposition: `attachment; filename="s.pdf"`})
	if docblob.Code(err) == docblob.Unimplemented {
		t.Skipf("the driver does not sign URLs: %v", err)
	}
	must(t, err, "SignedURL")

	t.Run("Download", func(t *testing.T) {
		status, body, h := fetch(t, "GET", u, nil, nil)
		if status != 200 || string(body) != "%PDF-1.7 signed" {
			t.Fatalf("GET: %d %q", status, body)
		}
		if ct := h.Get("Content-Type"); ct != "application/pdf" {
			t.Errorf("Content-Type %q, want the recorded application/pdf", ct)
		}
		if cd := h.Get("Content-Disposition"); !strings.Contains(cd, "s.pdf") {
			t.Errorf("Content-Disposition %q", cd)
		}
	})
	t.Run("TamperedKey", func(t *testing.T) {
		other := &record{PK: "sig", SK: "2", File: docblob.NewBlobBytes([]byte("secret"), nil)}
		must(t, e.store.Put(e.ctx, other), "Put")
		forged := strings.Replace(u, url.QueryEscape(in.File.Key()), url.QueryEscape(other.File.Key()), 1)
		forged = strings.Replace(forged, strings.ReplaceAll(url.PathEscape(in.File.Key()), "%2F", "/"), strings.ReplaceAll(url.PathEscape(other.File.Key()), "%2F", "/"), 1)
		if forged == u {
			t.Fatal("could not find the key in the URL to tamper with")
		}
		if status, body, _ := fetch(t, "GET", forged, nil, nil); status != 403 {
			t.Errorf("tampered URL: %d %q, want 403", status, body)
		}
	})
	t.Run("DirectUpload", func(t *testing.T) {
		doc := &record{PK: "sig", SK: "up", Title: "uploaded"}
		up, err := e.store.NewUpload(e.ctx, doc, "file", &docblob.UploadOptions{ContentType: "image/png", Name: "u.png"})
		must(t, err, "NewUpload")
		payload := []byte("\x89PNG\x0D\x0A\x1A\x0A direct")
		status, body, _ := fetch(t, up.Method, up.URL, up.Header, payload)
		if status/100 != 2 {
			t.Fatalf("upload: %d %q", status, body)
		}
		doc.File = up.Blob
		must(t, e.store.Put(e.ctx, doc), "Put with the uploaded payload")
		got := &record{PK: "sig", SK: "up"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != string(payload) || got.File.ContentType() != "image/png" || got.File.Name() != "u.png" || got.File.Size() != int64(len(payload)) {
			t.Errorf("uploaded attachment: %q %q %d", got.File.ContentType(), got.File.Name(), got.File.Size())
		}
	})
	t.Run("UploadWrongContentType", func(t *testing.T) {
		doc := &record{PK: "sig", SK: "ct"}
		up, err := e.store.NewUpload(e.ctx, doc, "file", &docblob.UploadOptions{ContentType: "image/png"})
		must(t, err, "NewUpload")
		if status, _, _ := fetch(t, up.Method, up.URL, http.Header{"Content-Type": {"text/html"}}, []byte("<html>")); status/100 == 2 {
			t.Errorf("an upload with another content type was accepted (%d)", status)
		}
	})
	t.Run("NothingUploaded", func(t *testing.T) {
		doc := &record{PK: "sig", SK: "none"}
		up, err := e.store.NewUpload(e.ctx, doc, "file", nil)
		must(t, err, "NewUpload")
		doc.File = up.Blob
		wantCode(t, e.store.Put(e.ctx, doc), docblob.NotFound, "Put before the upload")
		e.wantDocuments(3)
	})
	t.Run("WrongDocument", func(t *testing.T) {
		up, err := e.store.NewUpload(e.ctx, &record{PK: "sig", SK: "a"}, "file", nil)
		must(t, err, "NewUpload")
		fetch(t, up.Method, up.URL, up.Header, []byte("x"))
		err = e.store.Put(e.ctx, &record{PK: "sig", SK: "b", File: up.Blob})
		wantCode(t, err, docblob.InvalidArgument, "Put of an upload into another document")
		// The stray upload is an orphan for the sweep to remove. A store
		// that sees every payload as old sweeps it now (the driver it uses
		// is closed by the env).
		aged, err := docblob.NewStore(shiftedDriver{spy.New(e.rawDriver()), 48 * time.Hour}, nil)
		must(t, err, "NewStore")
		res, err := aged.Sweep(e.ctx, nil)
		must(t, err, "Sweep")
		if res.Deleted != 1 {
			t.Errorf("sweep deleted %d payloads, want the stray upload", res.Deleted)
		}
	})
}

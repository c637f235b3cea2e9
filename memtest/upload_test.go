package memtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/memtest"
)

// scanUploads is a user's HTTP API for receipts whose scans a browser
// uploads directly to the blob store:
//
//	POST /receipts/{shop}/{id}/scan    starts an upload; answers its URL
//	POST /receipts/{shop}/{id}/commit  files the receipt with the scan
type scanUploads struct {
	store *docblob.Store

	mu      sync.Mutex
	pending map[string]*docblob.Upload // by shop/id
}

// uploadTicket is what the API answers to start an upload.
type uploadTicket struct {
	URL    string      `json:"url"`
	Method string      `json:"method"`
	Header http.Header `json:"header"`
}

func (s *scanUploads) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /receipts/{shop}/{id}/scan", func(w http.ResponseWriter, r *http.Request) {
		shop, id := r.PathValue("shop"), r.PathValue("id")
		up, err := s.store.NewUpload(r.Context(), &Receipt{Shop: shop, ID: id}, "scan",
			&docblob.UploadOptions{ContentType: "image/jpeg", MaxSize: 1 << 20, Name: id + ".jpg"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		s.pending[shop+"/"+id] = up
		s.mu.Unlock()
		json.NewEncoder(w).Encode(uploadTicket{URL: up.URL, Method: up.Method, Header: up.Header})
	})
	mux.HandleFunc("POST /receipts/{shop}/{id}/commit", func(w http.ResponseWriter, r *http.Request) {
		shop, id := r.PathValue("shop"), r.PathValue("id")
		s.mu.Lock()
		up := s.pending[shop+"/"+id]
		s.mu.Unlock()
		if up == nil {
			http.Error(w, "no upload", http.StatusNotFound)
			return
		}
		if err := s.store.Put(r.Context(), &Receipt{Shop: shop, ID: id, Scan: up.Blob}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		delete(s.pending, shop+"/"+id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// call sends a request to the API's handler and returns the response.
func call(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// upload starts an upload through the API and sends data to its URL, as
// a browser would, with the memtest server's client.
func upload(t *testing.T, store *docblob.Store, api http.Handler, shop, id string, data []byte) *uploadTicket {
	t.Helper()
	rec := call(api, "POST", "/receipts/"+shop+"/"+id+"/scan")
	if rec.Code != http.StatusOK {
		t.Fatalf("starting the upload: %d %s", rec.Code, rec.Body)
	}
	var tk uploadTicket
	if err := json.Unmarshal(rec.Body.Bytes(), &tk); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(tk.Method, tk.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = tk.Header.Clone()
	resp, err := memtest.Server(t, store).Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	return &tk
}

// uploadKey returns the payload key that a signed upload URL writes.
func uploadKey(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("k")
}

func TestDirectUploadFailedCommitIsSwept(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	api := (&scanUploads{store: store, pending: map[string]*docblob.Upload{}}).handler()

	// A browser uploads the scan; committing it fails.
	tk := upload(t, store, api, "bakery", "r1", []byte("\xff\xd8\xff jpeg"))
	memtest.FailNext(store, memtest.PutDocument, errors.New("connection reset by peer"))
	if rec := call(api, "POST", "/receipts/bakery/r1/commit"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("commit: %d %s, want the store's failure", rec.Code, rec.Body)
	}

	// The upload is left, an orphan as production's Check would report.
	key := uploadKey(t, tk.URL)
	if got := memtest.Orphans(t, store); !slices.Equal(got, []string{key}) {
		t.Fatalf("orphans %q, want the upload %q", got, key)
	}
	f := &fakeTB{TB: t}
	memtest.AssertConsistent(f, store)
	if len(f.errors) != 1 {
		t.Errorf("AssertConsistent reported %q, want the orphan", f.errors)
	}
	memtest.AssertNoBrokenReferences(t, store)
	if n := len(memtest.Documents(t, store)); n != 0 {
		t.Fatalf("%d documents stored", n)
	}

	// Sweep spares it during its grace period...
	res, err := store.Sweep(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 0 || res.Young != 1 {
		t.Fatalf("sweep within the grace period: %+v", res)
	}
	// ... and removes exactly it after.
	memtest.ClockOf(t, store).Advance(25 * time.Hour)
	memtest.ResetCalls(store)
	res, err = store.Sweep(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || res.Orphans != 1 || res.Young != 0 {
		t.Fatalf("sweep after the grace period: %+v", res)
	}
	if n := memtest.Calls(store)[memtest.DeleteBlobs]; n != 1 {
		t.Errorf("sweep made %d DeleteBlobs calls, want 1", n)
	}
	memtest.AssertConsistent(t, store)
	memtest.AssertEmpty(t, store)
}

func TestDirectUploadCommitRetried(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	api := (&scanUploads{store: store, pending: map[string]*docblob.Upload{}}).handler()
	upload(t, store, api, "bakery", "r2", []byte("\xff\xd8\xff jpeg"))
	memtest.FailNext(store, memtest.PutDocument, docblob.Unavailable)
	if rec := call(api, "POST", "/receipts/bakery/r2/commit"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("commit: %d %s", rec.Code, rec.Body)
	}
	if rec := call(api, "POST", "/receipts/bakery/r2/commit"); rec.Code != http.StatusNoContent {
		t.Fatalf("retried commit: %d %s", rec.Code, rec.Body)
	}
	memtest.AssertConsistent(t, store)
	got := &Receipt{Shop: "bakery", ID: "r2"}
	if err := store.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	data, err := got.Scan.ReadAll(ctx)
	if err != nil || string(data) != "\xff\xd8\xff jpeg" || got.Scan.Name() != "r2.jpg" || got.Scan.ContentType() != "image/jpeg" {
		t.Fatalf("committed scan %q %q %q, %v", data, got.Scan.Name(), got.Scan.ContentType(), err)
	}
}

func TestSignedURLDownload(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	r := &Receipt{Shop: "s", ID: "1", Scan: docblob.NewBlobBytes([]byte("scanned bytes"), &docblob.BlobOptions{ContentType: "image/png"})}
	if err := store.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	u, err := r.Scan.SignedURL(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := memtest.Server(t, store)
	get := func() (int, string) {
		t.Helper()
		resp, err := srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return -1, err.Error()
		}
		return resp.StatusCode, string(b)
	}
	memtest.ResetCalls(store)
	if code, body := get(); code != http.StatusOK || body != "scanned bytes" {
		t.Fatalf("GET: %d %q", code, body)
	}
	if n := memtest.Calls(store)[memtest.OpenBlob]; n != 1 {
		t.Errorf("the server's reads are not counted: %v", memtest.Calls(store))
	}
	// The server's reads meet faults like the store's. (The answer's
	// status is sent before the payload is opened: the body is cut off.)
	memtest.FailNext(store, memtest.OpenBlob, errors.New("disk on fire"))
	if code, body := get(); code == http.StatusOK {
		t.Errorf("GET with a failing read: %d %q", code, body)
	}
	if code, body := get(); code != http.StatusOK || body != "scanned bytes" {
		t.Fatalf("GET after the fault: %d %q", code, body)
	}
	// A tampered URL is refused.
	resp, err := srv.Client().Get(u + "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered URL: %s, want 403", resp.Status)
	}
}

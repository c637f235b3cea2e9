// Command directupload shows the browser direct-upload flow of a web
// service deployed as several instances: one instance signs the upload
// URL, the browser sends the file straight to the blob store, and another
// instance, which never saw the upload, commits it from the token the
// browser hands back. It runs the service and a browser-like client in one
// process, on 127.0.0.1.
//
//	go run ./examples/directupload
//	go run ./examples/directupload -store 's3dynamo://receipts?bucket=b&region=r&secret_env=RECEIPTS_SECRET'
//
// By default the store is a temporary file:// directory whose signed URLs
// are served by localsign, under /blobs of the service itself; the secret
// comes from $RECEIPTS_SECRET (a random one is made for the demo if it is
// unset). Every instance opens the store from the same URL.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/filestore"
	_ "github.com/docblob/docblob/drivers/memstore"
	_ "github.com/docblob/docblob/drivers/s3dynamo"
	"github.com/docblob/docblob/localsign"
)

// Receipt is the service's document: a user's scanned receipt.
type Receipt struct {
	User     string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Scan     *docblob.Blob `docstore:"scan"`
	Revision any           `docstore:"DocstoreRevision"`
}

// uploadTicket is what the service sends the browser to upload a file.
type uploadTicket struct {
	URL    string            `json:"url"`
	Method string            `json:"method"`
	Header map[string]string `json:"header"`
	Token  string            `json:"token"`
}

// service is one instance of the web service.
type service struct{ store *docblob.Store }

// newUpload (POST /receipts/{user}/{id}/upload) signs an upload URL.
func (s *service) newUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ContentType string `json:"contentType"`
		Size        int64  `json:"size"`
		SHA256      []byte `json:"sha256"` // a browser computes it with crypto.subtle.digest
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	doc := &Receipt{User: r.PathValue("user"), ID: r.PathValue("id")}
	up, err := s.store.NewUpload(r.Context(), doc, "scan", &docblob.UploadOptions{
		ContentType: req.ContentType, Size: req.Size, SHA256: req.SHA256, MaxSize: 10 << 20})
	if err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	t := uploadTicket{URL: up.URL, Method: up.Method, Header: map[string]string{}, Token: up.Token}
	for k := range up.Header {
		t.Header[k] = up.Header.Get(k)
	}
	json.NewEncoder(w).Encode(t)
}

// commit (POST /receipts/{user}/{id}) commits an upload from its token.
func (s *service) commit(w http.ResponseWriter, r *http.Request) {
	blob, err := s.store.BlobFromUpload(r.FormValue("token"))
	if err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	doc := &Receipt{User: r.PathValue("user"), ID: r.PathValue("id"), Scan: blob}
	if err := s.store.Put(r.Context(), doc); err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	fmt.Fprintf(w, "committed %d bytes, sha256 %s\n", doc.Scan.Size(), doc.Scan.SHA256()[:8])
}

// download (GET /receipts/{user}/{id}) redirects to a signed URL.
func (s *service) download(w http.ResponseWriter, r *http.Request) {
	doc := &Receipt{User: r.PathValue("user"), ID: r.PathValue("id")}
	if err := s.store.Get(r.Context(), doc); err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	u, err := doc.Scan.SignedURL(r.Context(), &docblob.SignedURLOptions{Expiry: 5 * time.Minute})
	if err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// httpStatus maps docblob's error codes to HTTP statuses.
func httpStatus(err error) int {
	switch docblob.Code(err) {
	case docblob.NotFound:
		return http.StatusNotFound
	case docblob.InvalidArgument, docblob.TooLarge, docblob.Corrupt:
		return http.StatusBadRequest
	case docblob.PermissionDenied:
		return http.StatusForbidden
	case docblob.FailedPrecondition, docblob.AlreadyExists:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// routes returns the instance's handler; signer, if not nil, serves the
// localsign URLs of a file:// or mem:// store under /blobs.
func (s *service) routes(signer *localsign.Signer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /receipts/{user}/{id}/upload", s.newUpload)
	mux.HandleFunc("POST /receipts/{user}/{id}", s.commit)
	mux.HandleFunc("GET /receipts/{user}/{id}", s.download)
	if signer != nil {
		mux.Handle("/blobs", signer.Handler())
	}
	return mux
}

// instance opens the store and serves one instance of the service on ln.
func instance(ctx context.Context, storeURL string, ln net.Listener) (*docblob.Store, error) {
	store, err := docblob.Open(ctx, storeURL)
	if err != nil {
		return nil, err
	}
	var signer *localsign.Signer
	store.As(&signer) // set only for stores opened with sign_url
	go http.Serve(ln, (&service{store}).routes(signer))
	return store, nil
}

func main() {
	storeURL := flag.String("store", "", "store URL (default: a temporary file:// directory signed by localsign)")
	flag.Parse()
	if err := run(context.Background(), *storeURL, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run starts two instances and plays the browser against them.
func run(ctx context.Context, storeURL string, out io.Writer) error {
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if storeURL == "" {
		if os.Getenv("RECEIPTS_SECRET") == "" {
			os.Setenv("RECEIPTS_SECRET", rand.Text()+rand.Text()) // demo only: share a real one between instances
		}
		dir, err := os.MkdirTemp("", "receipts-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// Both instances serve /blobs; the URLs name instance A's.
		storeURL = "file://" + dir + "?secret_env=RECEIPTS_SECRET&sign_url=" + url.QueryEscape("http://"+lnA.Addr().String()+"/blobs")
	}
	a, err := instance(ctx, storeURL, lnA)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := instance(ctx, storeURL, lnB)
	if err != nil {
		return err
	}
	defer b.Close()
	return browser(out, "http://"+lnA.Addr().String(), "http://"+lnB.Addr().String())
}

// browser does what the web page's script does: ask instance A for an
// upload URL, send the file there, and have instance B commit it.
func browser(out io.Writer, instanceA, instanceB string) error {
	file := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("receipt "), 1000)...)
	sum := sha256.Sum256(file)
	docURL := "/receipts/ann/2026-11-30-coffee"

	req, _ := json.Marshal(map[string]any{"contentType": "image/png", "size": len(file), "sha256": sum[:]})
	resp, err := http.Post(instanceA+docURL+"/upload", "application/json", bytes.NewReader(req))
	if err != nil {
		return err
	}
	var t uploadTicket
	err = json.NewDecoder(resp.Body).Decode(&t)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload URL: %d %v", resp.StatusCode, err)
	}
	fmt.Fprintln(out, "1. instance A signed an upload URL")

	put, _ := http.NewRequest(t.Method, t.URL, bytes.NewReader(file))
	for k, v := range t.Header {
		put.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(put)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintf(out, "2. the browser uploaded %d bytes straight to the blob store: %s\n", len(file), resp.Status)

	resp, err = http.PostForm(instanceB+docURL, url.Values{"token": {t.Token}})
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintf(out, "3. instance B %s", msg)

	forged := t.Token[:len(t.Token)-4] + "AAAA"
	resp, err = http.PostForm(instanceB+docURL, url.Values{"token": {forged}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintf(out, "4. a forged token: %s\n", resp.Status)

	resp, err = http.Get(instanceB + docURL) // follows the redirect to the signed URL
	if err != nil {
		return err
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintf(out, "5. the download: %s, %s, same bytes: %v\n", resp.Status, resp.Header.Get("Content-Type"), bytes.Equal(got, file))
	return nil
}

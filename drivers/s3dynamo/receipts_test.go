package s3dynamo

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
)

// s3Proxy is a reverse proxy in front of the S3 server that counts the
// requests it forwards, by method, as they cross the wire.
type s3Proxy struct {
	mu     sync.Mutex
	counts map[string]int
}

func (p *s3Proxy) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[method]
}

func (p *s3Proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
}

// startS3Proxy serves a counting proxy to target on 127.0.0.1. The Host
// header is passed through, so SigV4 signatures made for the proxy's
// address verify at the server.
func startS3Proxy(t *testing.T, target string) (*s3Proxy, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3Proxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.Method]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// TestReceiptsFlow is a receipts web service's direct upload on S3 +
// DynamoDB: the URL is signed by one Store and the upload committed by
// another, both opened from the same URL, as two instances of the service
// would; the commit trusts the checksum S3 verified and reads nothing.
func TestReceiptsFlow(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	proxy, proxyURL := startS3Proxy(t, f.srv.S3Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", f.srv.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", f.srv.SecretAccessKey)
	t.Setenv("DOCBLOB_RECEIPTS_SECRET", "receipts test secret of at least 32 bytes")
	storeURL := "s3dynamo://" + f.table + "?" + url.Values{
		"bucket": {f.opts.Bucket}, "region": {f.srv.Region}, "path_style": {"true"},
		"s3_endpoint": {proxyURL}, "dynamodb_endpoint": {f.srv.DynamoDBEndpoint},
		"secret_env": {"DOCBLOB_RECEIPTS_SECRET"},
	}.Encode()
	open := func() *docblob.Store {
		s, err := docblob.Open(ctx, storeURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	signing, committing := open(), open()
	type receipt struct {
		User string        `docstore:"pk"`
		ID   string        `docstore:"sk"`
		Scan *docblob.Blob `docstore:"scan"`
	}
	scan := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("receipt "), 4096)...)
	sum := sha256.Sum256(scan)

	up, err := signing.NewUpload(ctx, &receipt{User: "ann", ID: "r1"}, "scan", &docblob.UploadOptions{
		ContentType: "image/png", Size: int64(len(scan)), SHA256: sum[:], Name: "r1.png"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(body []byte) int {
		t.Helper()
		req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = up.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	other := append([]byte(nil), scan...)
	other[len(other)-1] ^= 1
	if st := put(other); st/100 == 2 {
		t.Fatalf("S3 accepted bytes that do not match the signed checksum (%d)", st)
	}
	if st := put(scan); st != http.StatusOK {
		t.Fatalf("upload: %d", st)
	}

	t.Run("Refused", func(t *testing.T) {
		forged := []byte(up.Token)
		// Another base64url character in the claims: well-formed, unsigned.
		if i := len(forged) / 2; forged[i] == 'A' {
			forged[i] = 'B'
		} else {
			forged[i] = 'A'
		}
		if _, err := committing.BlobFromUpload(string(forged)); docblob.Code(err) != docblob.PermissionDenied {
			t.Errorf("forged token: %v", err)
		}
		drv, err := New(&f.opts)
		if err != nil {
			t.Fatal(err)
		}
		later, err := docblob.NewStore(drv, &docblob.Options{Secret: []byte("receipts test secret of at least 32 bytes"),
			Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		defer later.Close()
		if _, err := later.BlobFromUpload(up.Token); docblob.Code(err) != docblob.FailedPrecondition {
			t.Errorf("expired token: %v", err)
		}
	})
	t.Run("Commit", func(t *testing.T) {
		proxy.reset()
		blob, err := committing.BlobFromUpload(up.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := committing.Put(ctx, &receipt{User: "ann", ID: "r1", Scan: blob}); err != nil {
			t.Fatal(err)
		}
		if n := proxy.count(http.MethodGet); n != 0 {
			t.Errorf("the commit sent %d GET requests to S3; S3 vouched for the checksum", n)
		}
		if n := proxy.count(http.MethodHead); n != 1 {
			t.Errorf("the commit sent %d HEAD requests, want 1", n)
		}
		got := &receipt{User: "ann", ID: "r1"}
		if err := signing.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		data, err := got.Scan.ReadAll(ctx) // verified against the recorded SHA-256
		if err != nil || !bytes.Equal(data, scan) {
			t.Fatalf("read back %d bytes, %v", len(data), err)
		}
		if got.Scan.ContentType() != "image/png" || got.Scan.Size() != int64(len(scan)) {
			t.Errorf("recorded %q, %d bytes", got.Scan.ContentType(), got.Scan.Size())
		}
	})
}

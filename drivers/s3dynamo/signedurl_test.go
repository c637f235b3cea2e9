package s3dynamo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/docblob/docblob/driver"
)

// offlineDriver is a driver whose endpoints nothing listens on: presigning
// makes no request, so it needs no servers.
func offlineDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(&Options{Table: "t", Bucket: "b",
		S3Endpoint: "http://127.0.0.1:9", DynamoDBEndpoint: "http://127.0.0.1:9", UsePathStyle: true,
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// signedHeaders returns the X-Amz-SignedHeaders of a presigned URL.
func signedHeaders(t *testing.T, u string) []string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	for k := range q {
		// Hoisted headers would not be enforced as headers.
		if lk := strings.ToLower(k); lk == "if-none-match" || lk == "content-length" || lk == "content-type" || lk == "x-amz-checksum-sha256" {
			t.Errorf("header %s was hoisted into the query", k)
		}
	}
	return strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
}

// The PUT options become signed headers, so that S3 refuses a request
// without them; nothing is hoisted into the query.
func TestSignedURLPutSignedHeaders(t *testing.T) {
	d := offlineDriver(t)
	ctx := context.Background()
	cases := []struct {
		name      string
		opts      driver.SignedURLOptions
		signed    []string
		notSigned []string
	}{
		{"create only", driver.SignedURLOptions{Size: -1, CreateOnly: true},
			[]string{"host", "if-none-match"}, []string{"content-length", "content-type"}},
		{"create only with content type", driver.SignedURLOptions{Size: -1, CreateOnly: true, ContentType: "image/png"},
			[]string{"host", "if-none-match", "content-type"}, []string{"content-length"}},
		{"exact size", driver.SignedURLOptions{Size: 5, CreateOnly: true, ContentType: "image/png"},
			[]string{"host", "if-none-match", "content-type", "content-length"}, nil},
		// SigV4 never signs a zero Content-Length; the content type must
		// stay signed all the same.
		{"zero size", driver.SignedURLOptions{Size: 0, CreateOnly: true, ContentType: "image/png"},
			[]string{"host", "if-none-match", "content-type"}, []string{"content-length"}},
		{"max size is not signed", driver.SignedURLOptions{Size: -1, MaxSize: 1 << 20, CreateOnly: true},
			[]string{"host", "if-none-match"}, []string{"content-length"}},
		{"not create only", driver.SignedURLOptions{Size: -1},
			[]string{"host"}, []string{"if-none-match", "content-length", "content-type", "x-amz-checksum-sha256"}},
		{"checksum", driver.SignedURLOptions{Size: 5, CreateOnly: true, SHA256: make([]byte, 32)},
			[]string{"host", "if-none-match", "content-length", "x-amz-checksum-sha256"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Method, opts.Expiry = http.MethodPut, 60e9
			u, err := d.SignedURL(ctx, "k", &opts)
			if err != nil {
				t.Fatal(err)
			}
			got := signedHeaders(t, u)
			for _, h := range c.signed {
				if !slices.Contains(got, h) {
					t.Errorf("%s is not signed: %q", h, got)
				}
			}
			for _, h := range c.notSigned {
				if slices.Contains(got, h) {
					t.Errorf("%s is signed: %q", h, got)
				}
			}
		})
	}
}

func TestSignedURLInvalidOptions(t *testing.T) {
	d := offlineDriver(t)
	ctx := context.Background()
	cases := []struct {
		name string
		opts *driver.SignedURLOptions
	}{
		{"nil", nil},
		{"no expiry", &driver.SignedURLOptions{Method: http.MethodGet}},
		{"expiry over 7 days", &driver.SignedURLOptions{Method: http.MethodGet, Expiry: 8 * 24 * 3600e9}},
		{"DELETE", &driver.SignedURLOptions{Method: http.MethodDelete, Expiry: 60e9}},
		{"size below -1", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, Size: -2}},
		{"negative max size", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, Size: -1, MaxSize: -1}},
		{"size over max size", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, Size: 11, MaxSize: 10}},
		{"short SHA-256", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, Size: -1, SHA256: make([]byte, 31)}},
		{"empty SHA-256", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, Size: -1, SHA256: []byte{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := d.SignedURL(ctx, "k", c.opts)
			wantCode(t, d, err, driver.InvalidArgument)
		})
	}
}

func TestCheckSignedHeaders(t *testing.T) {
	const u = "http://127.0.0.1:9/b/k?X-Amz-SignedHeaders=content-type%3Bhost%3Bif-none-match&X-Amz-Signature=00"
	if err := checkSignedHeaders(u, []string{"if-none-match", "content-type"}); err != nil {
		t.Errorf("signed headers refused: %v", err)
	}
	err := checkSignedHeaders(u, []string{"if-none-match", "content-length"})
	if errorCode(err) != driver.Unimplemented {
		t.Errorf("a missing signed header: %v, want Unimplemented", err)
	}
	if err := checkSignedHeaders("http://h/%zz?x", []string{"host"}); err == nil || strings.Contains(err.Error(), "%zz") {
		t.Errorf("unparsable URL: %v", err)
	}
}

// sendPut sends body to a presigned PUT URL with the given headers and
// returns the status; chunked sends the body without a Content-Length.
func sendPut(ctx context.Context, t *testing.T, client *http.Client, u string, body []byte, chunked bool, header map[string]string) int {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // of unknown length
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A create-only URL creates the payload once: the second PUT gets 412
// and leaves the first bytes in place, and a PUT without If-None-Match
// does not match the signature.
func TestSignedURLCreateOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	client := &http.Client{Transport: f.wire}
	u, err := f.drv.SignedURL(ctx, "once.png", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9,
		ContentType: "image/png", Size: -1, CreateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ct := map[string]string{"Content-Type": "image/png"}
	cond := map[string]string{"Content-Type": "image/png", "If-None-Match": "*"}
	// A request that lacks a signed header does not match the signature:
	// S3 answers 403, MinIO 400.
	unsigned := []int{http.StatusBadRequest, http.StatusForbidden}
	steps := []struct {
		name   string
		header map[string]string
		body   string
		want   []int
		stored string // "" for nothing
	}{
		{"without If-None-Match", ct, "first", unsigned, ""},
		{"first", cond, "first", []int{http.StatusOK}, "first"},
		{"second", cond, "second", []int{http.StatusPreconditionFailed}, "first"},
		{"second without If-None-Match", ct, "second", unsigned, "first"},
	}
	for _, s := range steps {
		if code := sendPut(ctx, t, client, u, []byte(s.body), false, s.header); !slices.Contains(s.want, code) {
			t.Errorf("%s: status %d, want one of %d", s.name, code, s.want)
		}
		keys := f.rawKeys(ctx)
		switch {
		case s.stored == "" && len(keys) != 0:
			t.Errorf("%s: stored %q", s.name, keys)
		case s.stored != "":
			if got := readBlob(ctx, t, f.drv, "once.png", 0, -1); string(got) != s.stored {
				t.Errorf("%s: payload %q, want %q", s.name, got, s.stored)
			}
		}
	}
}

// A URL with a Size accepts a body of exactly that length only.
func TestSignedURLSize(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	client := &http.Client{Transport: f.wire}
	cases := []struct {
		name    string
		size    int64
		body    string
		chunked bool
		ok      bool
	}{
		{"exact", 5, "hello", false, true},
		{"shorter", 6, "hello", false, false},
		{"longer", 4, "hello", false, false},
		{"chunked", 5, "hello", true, false},
		{"any size", -1, "hello, any length", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := "size/" + strings.ReplaceAll(c.name, " ", "-")
			u, err := f.drv.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9,
				ContentType: "text/plain", Size: c.size, MaxSize: 1 << 20, CreateOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			code := sendPut(ctx, t, client, u, []byte(c.body), c.chunked,
				map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"})
			page, err := f.drv.ListBlobs(ctx, key, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.ok {
				if code != http.StatusOK {
					t.Fatalf("status %d, want 200", code)
				}
				if got := readBlob(ctx, t, f.drv, key, 0, -1); string(got) != c.body {
					t.Errorf("stored %q", got)
				}
				return
			}
			if code < 400 {
				t.Errorf("status %d, want a refusal", code)
			}
			t.Logf("refused with %d", code)
			if len(page.Blobs) != 0 {
				t.Errorf("a refused PUT stored %+v", page.Blobs)
			}
		})
	}
}

// A GET URL overrides the response's headers as asked.
func TestSignedURLGetHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.drv.WriteBlob(ctx, "page.html", strings.NewReader("<html>"), &driver.WriteOptions{ContentType: "text/html", Size: -1}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: f.wire}
	cases := []struct {
		name   string
		opts   driver.SignedURLOptions
		header map[string]string
	}{
		{"attachment", driver.SignedURLOptions{ContentDisposition: "attachment"},
			map[string]string{"Content-Disposition": "attachment", "Content-Type": "text/html"}},
		{"attachment with type", driver.SignedURLOptions{ContentDisposition: "attachment", ContentType: "application/octet-stream"},
			map[string]string{"Content-Disposition": "attachment", "Content-Type": "application/octet-stream"}},
		{"no override", driver.SignedURLOptions{},
			map[string]string{"Content-Disposition": "", "Content-Type": "text/html"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Method, opts.Expiry = http.MethodGet, 60e9
			u, err := f.drv.SignedURL(ctx, "page.html", &opts)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "<html>" {
				t.Fatalf("GET: %s %q", resp.Status, body)
			}
			for k, want := range c.header {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

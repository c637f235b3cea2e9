package localsign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// env is a Signer over a driver wrapped in a call counter, served by an
// httptest server on 127.0.0.1.
type env struct {
	t      *testing.T
	ctx    context.Context
	drv    driver.Driver // the raw driver, for setup and checks
	spy    *spy.Driver
	signer *Signer
	srv    *httptest.Server
	clock  atomic.Int64 // Unix seconds; 0 means time.Now
}

// drivers returns the drivers every test runs against (see
// export_test.go).
func drivers(t *testing.T) map[string]driver.Driver { return TestDrivers(t) }

// forEachDriver runs f against every driver.
func forEachDriver(t *testing.T, f func(t *testing.T, e *env)) {
	for name, drv := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			defer drv.Close()
			e := &env{t: t, ctx: context.Background(), drv: drv, spy: spy.New(drv)}
			mux := http.NewServeMux()
			var handler http.Handler
			mux.HandleFunc("/blobs", func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) })
			e.srv = httptest.NewServer(mux) // listens on 127.0.0.1
			defer e.srv.Close()
			e.signer = New(e.spy, testSecret, e.srv.URL+"/blobs")
			e.signer.now = func() time.Time {
				if s := e.clock.Load(); s != 0 {
					return time.Unix(s, 0)
				}
				return time.Now()
			}
			handler = e.signer.Handler()
			f(t, e)
		})
	}
}

func (e *env) put(key string, data []byte) {
	e.t.Helper()
	if _, err := e.drv.WriteBlob(e.ctx, key, bytes.NewReader(data), nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sign(key string, opts *driver.SignedURLOptions) string {
	e.t.Helper()
	u, err := e.signer.SignedURL(e.ctx, key, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) do(method, u string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, data
}

func (e *env) read(key string) ([]byte, error) {
	r, err := e.drv.OpenBlob(e.ctx, key, 0, -1, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestGet(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		data := bytes.Repeat([]byte("0123456789"), 10000)
		key := "prefix/Acme%20Corp/2026-001/pdf/01abc"
		e.put(key, data)
		e.put(key+"x", []byte("a longer key"))

		u := e.sign(key, &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute,
			ContentType: "application/pdf", ContentDisposition: `attachment; filename="march.pdf"`})
		resp, body := e.do("GET", u, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("GET: %s, %d bytes", resp.Status, len(body))
		}
		for k, want := range map[string]string{
			"Content-Type": "application/pdf", "Content-Disposition": `attachment; filename="march.pdf"`,
			"Content-Length": fmt.Sprint(len(data)), "X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if resp.Header.Get("Last-Modified") == "" {
			t.Error("no Last-Modified")
		}

		// Ranges read only what they need.
		resp, body = e.do("GET", u, nil, map[string]string{"Range": "bytes=10-29"})
		if resp.StatusCode != 206 || string(body) != string(data[10:30]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 10-29/%d", len(data)) {
			t.Errorf("range: %s %q %q", resp.Status, body, resp.Header.Get("Content-Range"))
		}
		resp, body = e.do("GET", u, nil, map[string]string{"Range": "bytes=-5"})
		if resp.StatusCode != 206 || string(body) != string(data[len(data)-5:]) {
			t.Errorf("suffix range: %s %q", resp.Status, body)
		}
		// Several ranges get the whole payload, as on S3 (see
		// TestMultipleRanges).
		resp, body = e.do("GET", u, nil, map[string]string{"Range": "bytes=0-1,5-6"})
		if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("multiple ranges: %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
		resp, body = e.do("GET", u, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)+10)})
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || errorCode(t, resp, body) != "InvalidRange" {
			t.Errorf("unsatisfiable range: %s %q", resp.Status, body)
		}

		// Without a signed content type, nothing is sniffed.
		e.put("page", []byte("<html><script>alert(1)</script></html>"))
		resp, _ = e.do("GET", e.sign("page", nil), nil, nil)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/octet-stream" {
			t.Errorf("unsigned content type: %s %q", resp.Status, ct)
		}
		// An empty payload.
		e.put("empty", nil)
		resp, body = e.do("GET", e.sign("empty", nil), nil, nil)
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Errorf("empty payload: %s %q", resp.Status, body)
		}
		// A valid URL for a missing payload.
		resp, _ = e.do("GET", e.sign("prefix/missing", nil), nil, nil)
		if resp.StatusCode != 404 {
			t.Errorf("missing payload: %s", resp.Status)
		}
		resp, _ = e.do("GET", e.sign("prefix/Acme%20Corp/2026-001/pdf/01ab", nil), nil, nil)
		if resp.StatusCode != 404 {
			t.Errorf("key that is a prefix of another: %s", resp.Status)
		}
	})
}

// tamper returns variants of a signed URL, each changed in one way.
func tamper(t *testing.T, signed string) map[string]string {
	u, err := url.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{}
	with := func(name string, f func(q url.Values)) {
		q := u.Query()
		f(q)
		v := *u
		v.RawQuery = q.Encode()
		if v.RawQuery != u.RawQuery { // a change that does not apply
			variants[name] = v.String()
		}
	}
	with("other key", func(q url.Values) { q.Set("k", q.Get("k")+"x") })
	with("key prefix", func(q url.Values) { q.Set("k", q.Get("k")[:1]) })
	with("other method", func(q url.Values) {
		if q.Get("m") == "GET" {
			q.Set("m", "PUT")
		} else {
			q.Set("m", "GET")
		}
	})
	with("later expiry", func(q url.Values) { q.Set("e", q.Get("e")+"0") })
	with("expiry with a leading zero", func(q url.Values) { q.Set("e", "0"+q.Get("e")) })
	with("added content type", func(q url.Values) { q.Set("ct", "text/html") })
	with("added disposition", func(q url.Values) { q.Set("cd", "inline") })
	with("added size", func(q url.Values) {
		if q.Get("sz") == "" {
			q.Set("sz", "4")
		}
	})
	with("larger size", func(q url.Values) {
		if sz := q.Get("sz"); sz != "" {
			q.Set("sz", sz+"0")
		}
	})
	with("size with a leading zero", func(q url.Values) {
		if sz := q.Get("sz"); sz != "" {
			q.Set("sz", "0"+sz)
		}
	})
	with("no size", func(q url.Values) { q.Del("sz") })
	with("added max size", func(q url.Values) {
		if q.Get("mx") == "" {
			q.Set("mx", "1000000")
		}
	})
	with("larger max size", func(q url.Values) {
		if mx := q.Get("mx"); mx != "" {
			q.Set("mx", mx+"0")
		}
	})
	with("no max size", func(q url.Values) { q.Del("mx") })
	with("added create only", func(q url.Values) { q.Set("co", "1") })
	with("no create only", func(q url.Values) { q.Del("co") })
	with("added checksum", func(q url.Values) {
		if q.Get("cs") == "" {
			q.Set("cs", "uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek")
		}
	})
	with("other checksum", func(q url.Values) {
		if cs := q.Get("cs"); cs != "" {
			q.Set("cs", "A"+cs[1:])
		}
	})
	with("checksum with other unused bits", func(q url.Values) {
		if cs := q.Get("cs"); cs != "" {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			i := strings.IndexByte(alphabet, cs[len(cs)-1])
			q.Set("cs", cs[:len(cs)-1]+string(alphabet[i^1]))
		}
	})
	with("checksum with padding", func(q url.Values) {
		if cs := q.Get("cs"); cs != "" {
			q.Set("cs", cs+"=")
		}
	})
	with("no checksum", func(q url.Values) { q.Del("cs") })
	with("no signature", func(q url.Values) { q.Del("s") })
	with("empty signature", func(q url.Values) { q.Set("s", "") })
	with("flipped signature", func(q url.Values) {
		s := []byte(q.Get("s"))
		s[3] ^= 1
		q.Set("s", string(s))
	})
	with("signature with a newline", func(q url.Values) { q.Set("s", q.Get("s")[:10]+"\n"+q.Get("s")[10:]) })
	with("signature with other unused bits", func(q url.Values) {
		// The last of 43 characters carries 4 bits of the MAC and 2
		// unused ones.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		s := q.Get("s")
		i := strings.IndexByte(alphabet, s[len(s)-1])
		q.Set("s", s[:len(s)-1]+string(alphabet[i^1]))
	})
	with("signature of another URL", func(q url.Values) { q.Set("s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") })
	with("duplicated key", func(q url.Values) { q.Add("k", "other") })
	with("duplicated signature", func(q url.Values) { q.Add("s", q.Get("s")) })
	with("unknown parameter", func(q url.Values) { q.Set("x", "1") })
	with("no expiry", func(q url.Values) { q.Del("e") })
	variants["no query"] = u.Scheme + "://" + u.Host + u.Path
	variants["raw garbage"] = u.Scheme + "://" + u.Host + u.Path + "?%zz"
	return variants
}

func TestTamperedURLsTouchNothing(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		e.put("a/b", []byte("secret payload"))
		get := e.sign("a/b", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute, ContentType: "text/plain"})
		put := e.sign("a/new", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, ContentType: "text/plain",
			Size: 4, MaxSize: 10, CreateOnly: true})
		good := []byte("good")
		goodSum := sha256.Sum256(good)
		putCS := e.sign("a/checked", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, ContentType: "text/plain",
			Size: 4, SHA256: goodSum[:], CreateOnly: true})
		e.spy.Reset()
		headers := map[string]string{"Content-Type": "text/plain", "If-None-Match": "*",
			"X-Amz-Checksum-Sha256": base64.StdEncoding.EncodeToString(goodSum[:])}
		check := func(name, method, u string) {
			t.Helper()
			h := headers
			if !strings.Contains(u, "cs=") {
				h = map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}
			}
			resp, body := e.do(method, u, strings.NewReader("evil"), h)
			if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("secret")) {
				t.Errorf("%s (%s): %s %q", name, method, resp.Status, body)
			}
			if n := e.spy.Counts(); len(n) != 0 {
				t.Errorf("%s (%s): the driver was called: %v", name, method, n)
				e.spy.Reset()
			}
		}
		for name, u := range tamper(t, get) {
			check("GET URL, "+name, "GET", u)
		}
		for name, u := range tamper(t, put) {
			check("PUT URL, "+name, "PUT", u)
		}
		for name, u := range tamper(t, putCS) {
			check("checksum PUT URL, "+name, "PUT", u)
		}
		// Wrong methods.
		for _, m := range []string{"PUT", "POST", "DELETE", "HEAD", "PATCH"} {
			check("GET URL used with "+m, m, get)
		}
		for _, m := range []string{"GET", "POST", "DELETE", "HEAD"} {
			check("PUT URL used with "+m, m, put)
		}
		// Expired.
		e.clock.Store(time.Now().Add(2 * time.Minute).Unix())
		check("expired GET", "GET", get)
		check("expired PUT", "PUT", put)
		e.clock.Store(0)
		// A signature made with another secret.
		other := New(e.spy, bytes.Repeat([]byte{7}, 32), e.srv.URL+"/blobs")
		u, err := other.SignedURL(e.ctx, "a/b", nil)
		if err != nil {
			t.Fatal(err)
		}
		check("other secret", "GET", u)
		if got, err := e.read("a/new"); err == nil {
			t.Errorf("a refused PUT stored %q", got)
		}
		// And the untampered URLs work.
		if resp, body := e.do("GET", get, nil, nil); resp.StatusCode != 200 || string(body) != "secret payload" {
			t.Errorf("untampered GET: %s", resp.Status)
		}
		if resp, _ := e.do("PUT", put, strings.NewReader("good"), map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}); resp.StatusCode != 200 {
			t.Errorf("untampered PUT: %s", resp.Status)
		}
		if resp, _ := e.do("PUT", putCS, bytes.NewReader(good), headers); resp.StatusCode != 200 {
			t.Errorf("untampered checksum PUT: %s", resp.Status)
		}
	})
}

func TestPut(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		u := e.sign("up/one", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, ContentType: "image/png", Size: -1})
		resp, _ := e.do("PUT", u, strings.NewReader("png data"), map[string]string{"Content-Type": "image/jpeg"})
		if resp.StatusCode != 403 {
			t.Errorf("wrong content type: %s", resp.Status)
		}
		resp, _ = e.do("PUT", u, strings.NewReader("png data"), map[string]string{"Content-Type": "image/png"})
		if resp.StatusCode != 200 {
			t.Fatalf("PUT: %s", resp.Status)
		}
		if got, err := e.read("up/one"); err != nil || string(got) != "png data" {
			t.Fatalf("stored %q, %v", got, err)
		}
		// Never replaced, even with a valid URL.
		resp, _ = e.do("PUT", u, strings.NewReader("other"), map[string]string{"Content-Type": "image/png"})
		if resp.StatusCode != 412 {
			t.Errorf("second PUT: %s", resp.Status)
		}
		if got, _ := e.read("up/one"); string(got) != "png data" {
			t.Errorf("second PUT replaced the payload: %q", got)
		}
		// Without a signed content type, any is accepted.
		resp, _ = e.do("PUT", e.sign("up/two", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1}), strings.NewReader("x"), nil)
		if resp.StatusCode != 200 {
			t.Errorf("PUT without content type: %s", resp.Status)
		}
	})
}

// gatedDriver tells when WriteBlob first reads from the request body.
type gatedDriver struct {
	driver.Driver
	firstRead chan int // receives the size of the first read in WriteBlob
}

func (g *gatedDriver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	return g.Driver.WriteBlob(ctx, key, &notifyReader{r: r, ch: g.firstRead}, opts)
}

type notifyReader struct {
	r    io.Reader
	ch   chan int
	once sync.Once
}

func (n *notifyReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if k > 0 {
		n.once.Do(func() { n.ch <- k })
	}
	return k, err
}

// TestPutStreams checks that the upload reaches the driver while the
// client is still sending (a body of a known length sent as it is
// produced), and that an upload cut short stores nothing.
func TestPutStreams(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		g := &gatedDriver{Driver: e.spy, firstRead: make(chan int, 1)}
		e.signer.drv = g
		u := e.sign("big", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1})
		pr, pw := io.Pipe()
		done := make(chan *http.Response, 1)
		go func() {
			// The client announces 1 MiB and sends 64 KiB.
			req, _ := http.NewRequest("PUT", u, pr)
			req.ContentLength = 1 << 20
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				done <- nil
				return
			}
			resp.Body.Close()
			done <- resp
		}()
		chunk := bytes.Repeat([]byte("z"), 64<<10)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case <-g.firstRead: // the driver got data before the body ended
		case <-time.After(10 * time.Second):
			t.Fatal("the driver saw nothing of the body while it was being sent")
		}
		// Cut the upload short: nothing may be stored.
		pw.CloseWithError(errors.New("client gone"))
		if resp := <-done; resp != nil && resp.StatusCode == 200 {
			t.Fatalf("cut upload: %s", resp.Status)
		}
		// The client may see the failure before the handler finishes.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			e.signer.mu.Lock()
			busy := len(e.signer.uploading) > 0
			e.signer.mu.Unlock()
			if !busy {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the cut upload's handler does not end")
			}
		}
		if _, err := e.read("big"); err == nil {
			t.Error("a cut upload stored a payload")
		}

		// A complete streamed upload of 8 MiB.
		g.firstRead = make(chan int, 1)
		pr, pw = io.Pipe()
		go func() {
			for range 128 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("PUT", u, pr)
		req.ContentLength = int64(128 * len(chunk))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("streamed PUT: %s", resp.Status)
		}
		if got, err := e.read("big"); err != nil || len(got) != 128*len(chunk) {
			t.Errorf("stored %d bytes, %v", len(got), err)
		}
	})
}

func TestConcurrentPuts(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		u := e.sign("race", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1})
		var created atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				req, _ := http.NewRequest("PUT", u, strings.NewReader(fmt.Sprintf("writer %d", i)))
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					created.Add(1)
				case 409, 412: // in progress, or done
				default:
					t.Errorf("PUT: %s", resp.Status)
				}
			})
		}
		wg.Wait()
		if n := created.Load(); n != 1 {
			t.Errorf("%d PUTs created the payload, want 1", n)
		}
	})
}

func TestSignedURLOptions(t *testing.T) {
	s := New(NewMemDriver(), testSecret, "https://example.test/blobs")
	ctx := context.Background()
	bad := []struct {
		key  string
		opts *driver.SignedURLOptions
	}{
		{"", nil},
		{"k", &driver.SignedURLOptions{Method: "DELETE", Expiry: time.Minute}},
		{"k", &driver.SignedURLOptions{Method: "GET"}},
		{"k", &driver.SignedURLOptions{Method: "GET", Expiry: -time.Second}},
		{"k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, ContentDisposition: "inline"}},
		{"k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -2}},
		{"k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1, MaxSize: -1}},
		{"k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: 11, MaxSize: 10}},
		{"k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute, ContentType: "text/plain\r\nSet-Cookie: x=1"}},
		{"k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute, ContentType: "not a type"}},
		{"k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute, ContentDisposition: "attachment; filename=\"a\nb\""}},
	}
	for _, c := range bad {
		_, err := s.SignedURL(ctx, c.key, c.opts)
		var code driver.ErrorCode
		if !errors.As(err, &code) || code != driver.InvalidArgument {
			t.Errorf("SignedURL(%q, %+v): %v", c.key, c.opts, err)
		}
	}
	u, err := s.SignedURL(ctx, "a/b c/é", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://example.test/blobs?") {
		t.Errorf("URL %q", u)
	}
	pu, _ := url.Parse(u)
	g, err := s.verify("GET", pu.RawQuery, time.Now())
	if err != nil || g.key != "a/b c/é" {
		t.Errorf("verify: %+v %v", g, err)
	}
	// The expiry is rounded up, never down.
	s.now = func() time.Time { return time.Unix(1000, 1) }
	u, _ = s.SignedURL(ctx, "k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Second})
	if pu, _ := url.Parse(u); pu.Query().Get("e") != "1002" {
		t.Errorf("expiry %s, want 1002", pu.Query().Get("e"))
	}
	for _, base := range []string{"", "/relative", "ftp://x/y", "http://h/p?q=1", "http://h/p#f", "http:opaque"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with base %q did not panic", base)
				}
			}()
			New(NewMemDriver(), testSecret, base)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("New with a short secret did not panic")
			}
		}()
		New(NewMemDriver(), []byte("short"), "http://h/")
	}()
}

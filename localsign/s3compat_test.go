package localsign

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// The tests of this file check that the handler answers as S3 (and MinIO)
// answer the same requests, where localsign once answered otherwise.

// s3ErrorDetail is an error response with the elements S3 adds for some
// codes.
type s3ErrorDetail struct {
	XMLName          xml.Name `xml:"Error"`
	Code             string
	Message          string
	HeadersNotSigned string
	Condition        string
	RangeRequested   string
	ActualObjectSize string
	Method           string
	ResourceType     string
}

// errorDetail returns the S3 error of a response, checking that it is
// S3-like XML.
func errorDetail(t *testing.T, resp *http.Response, body []byte) s3ErrorDetail {
	t.Helper()
	errorCode(t, resp, body)
	var e s3ErrorDetail
	_ = xml.Unmarshal(body, &e)
	return e
}

// send sends req and returns the response and its body.
func (e *env) send(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
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

// sendRaw sends a raw HTTP/1.1 request, written by hand, to the server.
func (e *env) sendRaw(raw string) (*http.Response, []byte) {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
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

// TestPutWithoutContentLength checks that a PUT whose body has no
// Content-Length (chunked, or none announced) is refused with 411
// MissingContentLength before the driver is called, whatever the URL
// binds, as S3 refuses it; MaxSize and Size are enforced on the
// Content-Length (TestPutSizes).
func TestPutWithoutContentLength(t *testing.T) {
	data := []byte("hello")
	cases := []struct {
		name string
		opts driver.SignedURLOptions
		raw  bool // no Content-Length and no body: a raw HTTP/1.1 request
		want int
	}{
		{"chunked", driver.SignedURLOptions{Size: -1}, false, 411},
		{"chunked, exact size", driver.SignedURLOptions{Size: 5}, false, 411},
		{"chunked, max size", driver.SignedURLOptions{Size: -1, MaxSize: 10}, false, 411},
		{"chunked, create only", driver.SignedURLOptions{Size: -1, CreateOnly: true}, false, 411},
		{"chunked, checksum", driver.SignedURLOptions{Size: -1, SHA256: sumOf(data)}, false, 411},
		{"no Content-Length header", driver.SignedURLOptions{Size: -1}, true, 411},
		{"no Content-Length header, size 0", driver.SignedURLOptions{Size: 0}, true, 411},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := fmt.Sprintf("nolength/%d", i)
				o := c.opts
				o.Method, o.Expiry = "PUT", time.Minute
				u := e.sign(key, &o)
				e.spy.Reset()
				var resp *http.Response
				var body []byte
				if c.raw {
					pu, _ := url.Parse(u)
					resp, body = e.sendRaw("PUT " + pu.RequestURI() + " HTTP/1.1\r\nHost: " + pu.Host + "\r\nIf-None-Match: *\r\nConnection: close\r\n\r\n")
				} else {
					req, _ := http.NewRequest("PUT", u, io.MultiReader(bytes.NewReader(data)))
					req.ContentLength = -1 // chunked
					req.Header.Set("If-None-Match", "*")
					if o.SHA256 != nil {
						req.Header.Set(checksumHeader, base64.StdEncoding.EncodeToString(o.SHA256))
					}
					resp, body = e.send(req)
				}
				if resp.StatusCode != c.want {
					t.Errorf("status %s, want %d", resp.Status, c.want)
				}
				if code := errorCode(t, resp, body); code != "MissingContentLength" {
					t.Errorf("code %q, want MissingContentLength", code)
				}
				if n := e.spy.Counts(); len(n) != 0 {
					t.Errorf("the driver was called: %v", n)
				}
				if got, err := e.read(key); err == nil {
					t.Errorf("stored %q", got)
				}
			})
		}
		// With a Content-Length, empty or not, the same URLs work.
		for _, body := range [][]byte{nil, data} {
			u := e.sign(fmt.Sprintf("withlength/%d", len(body)), &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: int64(len(body))})
			if resp := e.putBody(u, body, false, nil); resp.StatusCode != 200 {
				t.Errorf("PUT of %d bytes with a Content-Length: %s", len(body), resp.Status)
			}
		}
	})
}

// TestUnsignedAmzHeaders checks that a request carrying an x-amz-*
// header that the URL does not sign (user metadata, a checksum, an ACL)
// is refused with 403 AccessDenied naming the headers, as S3 refuses it,
// before the driver is called; other unsigned headers are let through.
func TestUnsignedAmzHeaders(t *testing.T) {
	data := []byte("payload")
	b64 := base64.StdEncoding.EncodeToString(sumOf(data))
	cases := []struct {
		name     string
		method   string
		opts     driver.SignedURLOptions
		header   map[string]string
		want     int
		unsigned string // HeadersNotSigned
	}{
		{"user metadata", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"x-amz-meta-owner": "bob"}, 403, "x-amz-meta-owner"},
		{"two metadata headers", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"X-Amz-Meta-B": "2", "x-amz-meta-a": "1"}, 403, "x-amz-meta-a,x-amz-meta-b"},
		{"empty metadata", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"x-amz-meta-owner": ""}, 403, "x-amz-meta-owner"},
		{"ACL", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"x-amz-acl": "public-read"}, 403, "x-amz-acl"},
		{"storage class", "PUT", driver.SignedURLOptions{Size: -1, ContentType: "text/plain"}, map[string]string{"Content-Type": "text/plain", "x-amz-storage-class": "GLACIER"}, 403, "x-amz-storage-class"},
		{"unsigned SHA-256", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{checksumHeader: b64}, 403, "x-amz-checksum-sha256"},
		{"unsigned CRC32", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, 403, "x-amz-checksum-crc32"},
		{"signed SHA-256 and metadata", "PUT", driver.SignedURLOptions{Size: -1, SHA256: sumOf(data)}, map[string]string{checksumHeader: b64, "x-amz-meta-owner": "bob"}, 403, "x-amz-meta-owner"},
		{"signed SHA-256", "PUT", driver.SignedURLOptions{Size: -1, SHA256: sumOf(data)}, map[string]string{checksumHeader: b64}, 200, ""},
		{"other unsigned headers", "PUT", driver.SignedURLOptions{Size: -1}, map[string]string{"X-Request-Id": "1", "Cache-Control": "no-cache"}, 200, ""},
		{"GET with an encryption key", "GET", driver.SignedURLOptions{}, map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES256"}, 403, "x-amz-server-side-encryption-customer-algorithm"},
		{"GET with checksum mode", "GET", driver.SignedURLOptions{}, map[string]string{"x-amz-checksum-mode": "ENABLED"}, 403, "x-amz-checksum-mode"},
		{"GET with other unsigned headers", "GET", driver.SignedURLOptions{}, map[string]string{"X-Request-Id": "1"}, 200, ""},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		e.put("existing", data)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := "existing"
				o := c.opts
				o.Method, o.Expiry = c.method, time.Minute
				var body io.Reader
				if c.method == "PUT" {
					key, body = fmt.Sprintf("amz/%d", i), bytes.NewReader(data)
				}
				u := e.sign(key, &o)
				e.spy.Reset()
				req, _ := http.NewRequest(c.method, u, body)
				for k, v := range c.header {
					req.Header[k] = []string{v} // as given, not canonicalized
				}
				resp, got := e.send(req)
				if resp.StatusCode != c.want {
					t.Fatalf("status %s, want %d: %q", resp.Status, c.want, got)
				}
				if c.want == 200 {
					return
				}
				if d := errorDetail(t, resp, got); d.Code != "AccessDenied" || d.HeadersNotSigned != c.unsigned ||
					d.Message != "There were headers present in the request which were not signed" {
					t.Errorf("error %+v, want AccessDenied for %q", d, c.unsigned)
				}
				if n := e.spy.Counts(); len(n) != 0 {
					t.Errorf("the driver was called: %v", n)
				}
				if c.method == "PUT" {
					if got, err := e.read(key); err == nil {
						t.Errorf("stored %q", got)
					}
				}
			})
		}
	})
}

// corsHeaders are the CORS headers of a response.
var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"}

// TestCORS checks the handler's CORS support: off by default, as on a
// bucket without a CORS configuration, and with AllowOrigins, preflights
// answered and CORS headers added as S3 does for a bucket with the CORS
// rule that AllowOrigins documents.
func TestCORS(t *testing.T) {
	const app = "http://localhost:5173"
	preflight := func(origin, method, headers string) map[string]string {
		h := map[string]string{}
		if origin != "" {
			h["Origin"] = origin
		}
		if method != "" {
			h["Access-Control-Request-Method"] = method
		}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return h
	}
	allowed := func(origin, headers string) map[string]string {
		m := map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, PUT",
			"Access-Control-Expose-Headers": "ETag, x-amz-checksum-sha256", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Headers": headers}
		if origin == "*" {
			m["Access-Control-Allow-Credentials"] = ""
		}
		return m
	}
	none := map[string]string{}
	type request struct {
		name    string
		origins []string // AllowOrigins; nil: never called
		method  string
		url     string // "get", "put", "tampered", "none" (no query)
		header  map[string]string
		status  int
		code    string            // for errors
		cors    map[string]string // the CORS headers wanted; absent ones must be missing
	}
	cases := []request{
		{"preflight, CORS off", nil, "OPTIONS", "put", preflight(app, "PUT", "content-type"), 403, "AccessForbidden", none},
		{"GET, CORS off", nil, "GET", "get", map[string]string{"Origin": app}, 200, "", none},
		{"preflight for PUT", []string{app}, "OPTIONS", "put", preflight(app, "PUT", "Content-Type, X-Amz-Checksum-Sha256, If-None-Match"), 200, "",
			allowed(app, "content-type, x-amz-checksum-sha256, if-none-match")},
		{"preflight for GET", []string{app}, "OPTIONS", "get", preflight(app, "GET", ""), 200, "", allowed(app, "")},
		{"preflight without a query", []string{app}, "OPTIONS", "none", preflight(app, "PUT", ""), 200, "", allowed(app, "")},
		{"preflight, one of two origins", []string{"http://other.test", app}, "OPTIONS", "put", preflight(app, "PUT", ""), 200, "", allowed(app, "")},
		{"preflight, wildcard origin", []string{"http://*.example.test"}, "OPTIONS", "put", preflight("http://app.example.test", "PUT", ""), 200, "",
			allowed("http://app.example.test", "")},
		{"preflight, any origin", []string{"*"}, "OPTIONS", "put", preflight(app, "PUT", "content-type"), 200, "", allowed("*", "content-type")},
		{"preflight from another origin", []string{app}, "OPTIONS", "put", preflight("http://evil.test", "PUT", ""), 403, "AccessForbidden", none},
		{"preflight from another port", []string{app}, "OPTIONS", "put", preflight("http://localhost:5174", "PUT", ""), 403, "AccessForbidden", none},
		{"preflight, wildcard origin not matching", []string{"http://*.example.test"}, "OPTIONS", "put", preflight("http://example.test", "PUT", ""), 403, "AccessForbidden", none},
		{"preflight for DELETE", []string{app}, "OPTIONS", "put", preflight(app, "DELETE", ""), 403, "AccessForbidden", none},
		{"preflight without Origin", []string{app}, "OPTIONS", "put", preflight("", "PUT", ""), 400, "BadRequest", none},
		{"preflight without a method", []string{app}, "OPTIONS", "put", preflight(app, "", ""), 400, "BadRequest", none},
		{"GET", []string{app}, "GET", "get", map[string]string{"Origin": app}, 200, "", allowed(app, "")},
		{"GET, any origin", []string{"*"}, "GET", "get", map[string]string{"Origin": app}, 200, "", allowed("*", "")},
		{"PUT", []string{app}, "PUT", "put", map[string]string{"Origin": app}, 200, "", allowed(app, "")},
		{"refused GET", []string{app}, "GET", "tampered", map[string]string{"Origin": app}, 403, "AccessDenied", allowed(app, "")},
		{"refused PUT", []string{app}, "PUT", "put", map[string]string{"Origin": app, "x-amz-meta-a": "1"}, 403, "AccessDenied", allowed(app, "")},
		{"GET from another origin", []string{app}, "GET", "get", map[string]string{"Origin": "http://evil.test"}, 200, "", none},
		{"GET without Origin", []string{app}, "GET", "get", nil, 200, "", none},
		{"CORS off again", []string{}, "OPTIONS", "put", preflight(app, "PUT", ""), 403, "AccessForbidden", none},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		e.put("page", []byte("data"))
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.origins != nil {
					e.signer.AllowOrigins(c.origins...)
				}
				defer e.signer.AllowOrigins()
				var u string
				var body io.Reader
				switch c.url {
				case "get":
					u = e.sign("page", nil)
				case "tampered":
					u = e.sign("page", nil) + "x"
				case "put":
					u = e.sign(fmt.Sprintf("cors/%d", i), &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1})
				case "none":
					u = e.srv.URL + "/blobs"
				}
				if c.method == "PUT" {
					body = strings.NewReader("data")
				}
				e.spy.Reset()
				resp, data := e.do(c.method, u, body, c.header)
				if resp.StatusCode != c.status {
					t.Fatalf("status %s, want %d: %q", resp.Status, c.status, data)
				}
				if c.code != "" {
					if code := errorCode(t, resp, data); code != c.code {
						t.Errorf("code %q, want %q", code, c.code)
					}
				}
				for _, name := range corsHeaders {
					if got, want := resp.Header.Get(name), c.cors[name]; got != want {
						t.Errorf("%s: %q, want %q", name, got, want)
					}
				}
				if c.method == "OPTIONS" {
					if n := e.spy.Counts(); len(n) != 0 {
						t.Errorf("a preflight called the driver: %v", n)
					}
					if c.status == 200 && len(data) != 0 {
						t.Errorf("preflight body %q", data)
					}
				}
				if c.cors["Access-Control-Allow-Origin"] != "" && !strings.Contains(resp.Header.Get("Vary"), "Origin") {
					t.Errorf("Vary %q", resp.Header.Get("Vary"))
				}
			})
		}
	})
	// Malformed origins are configuration errors.
	for _, o := range []string{"", "http://*.*.test"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AllowOrigins(%q) did not panic", o)
				}
			}()
			New(NewMemDriver(), testSecret, "http://h/").AllowOrigins(o)
		}()
	}
}

// rangeEnv stores a payload of 10 bytes and an empty one, and returns
// the URL to GET each.
func rangeEnv(e *env) (ten, empty string, data []byte) {
	data = []byte("0123456789")
	e.put("ten", data)
	e.put("empty", nil)
	return e.sign("ten", nil), e.sign("empty", nil), data
}

// TestMultipleRanges checks that a Range header with several ranges gets
// the whole payload with 200 OK, as S3 answers it, not multipart ranges.
func TestMultipleRanges(t *testing.T) {
	ranges := []string{"bytes=0-1,5-6", "bytes=0-1, 3-4", "bytes=0-1,", "bytes=,0-1", "bytes=-2,0-1",
		"bytes=0-1,100-200", "bytes=100-200,300-400", "bytes=0-0,0-0"}
	forEachDriver(t, func(t *testing.T, e *env) {
		u, _, data := rangeEnv(e)
		for _, spec := range ranges {
			t.Run(spec, func(t *testing.T) {
				resp, body := e.do("GET", u, nil, map[string]string{"Range": spec})
				if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Range") != "" ||
					resp.Header.Get("Content-Type") != "application/octet-stream" || resp.Header.Get("Content-Length") != "10" {
					t.Errorf("%s %q %q: %q", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Range"), body)
				}
			})
		}
	})
}

// TestMalformedRange checks that a Range header S3 cannot read (bad
// syntax, last byte before the first, another unit) is ignored: the whole
// payload with 200 OK, as S3 answers.
func TestMalformedRange(t *testing.T) {
	ranges := []string{"bytes=x-y", "bytes=1-x", "bytes=x-", "bytes=-x", "bytes=5-3", "bytes=-", "bytes=", "bytes=1",
		"bytes=--1", "bytes=1-2-3", "bytes=+1-2", "bytes=0x1-2", "bytes=1.5-2", "items=0-1", "0-1", "bytes 0-1", "bytes=-1-2"}
	forEachDriver(t, func(t *testing.T, e *env) {
		u, empty, data := rangeEnv(e)
		for _, spec := range ranges {
			t.Run(spec, func(t *testing.T) {
				resp, body := e.do("GET", u, nil, map[string]string{"Range": spec})
				if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Range") != "" {
					t.Errorf("%s %q: %q", resp.Status, resp.Header.Get("Content-Range"), body)
				}
				resp, body = e.do("GET", empty, nil, map[string]string{"Range": spec})
				if resp.StatusCode != 200 || len(body) != 0 {
					t.Errorf("empty payload: %s %q", resp.Status, body)
				}
			})
		}
	})
}

// TestUnsatisfiableRange checks that a range the payload does not reach
// gets 416 with S3's XML error InvalidRange, and that ranges reaching
// past the end are cut to it (206).
func TestUnsatisfiableRange(t *testing.T) {
	cases := []struct {
		empty  bool // the range asks the empty payload
		spec   string
		status int
		want   string // the range served
	}{
		{false, "bytes=10-", 416, ""},
		{false, "bytes=10-20", 416, ""},
		{false, "bytes=99999999999999999999-", 416, ""},
		{false, "bytes=-0", 416, ""},
		{true, "bytes=0-", 416, ""},
		{true, "bytes=0-0", 416, ""},
		{true, "bytes=-1", 416, ""},
		{false, "bytes=9-100", 206, "bytes 9-9/10"},
		{false, "bytes=2-99999999999999999999", 206, "bytes 2-9/10"},
		{false, "bytes=-100", 206, "bytes 0-9/10"},
		{false, "bytes=-3", 206, "bytes 7-9/10"},
		{false, "bytes=0-0", 206, "bytes 0-0/10"},
		{false, "Bytes = 3-4", 206, "bytes 3-4/10"},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		ten, empty, data := rangeEnv(e)
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s, empty %v", c.spec, c.empty), func(t *testing.T) {
				u, size := ten, "10"
				if c.empty {
					u, size = empty, "0"
				}
				e.spy.Reset()
				resp, body := e.do("GET", u, nil, map[string]string{"Range": c.spec})
				if resp.StatusCode != c.status {
					t.Fatalf("status %s, want %d: %q", resp.Status, c.status, body)
				}
				if c.status == 206 {
					var a, b, n int
					fmt.Sscanf(c.want, "bytes %d-%d/%d", &a, &b, &n)
					if got := resp.Header.Get("Content-Range"); got != c.want || !bytes.Equal(body, data[a:b+1]) {
						t.Errorf("Content-Range %q, body %q; want %q", got, body, c.want)
					}
					return
				}
				d := errorDetail(t, resp, body)
				if d.Code != "InvalidRange" || d.RangeRequested != c.spec || d.ActualObjectSize != size {
					t.Errorf("error %+v", d)
				}
				if n := e.spy.Counts(); n[spy.OpenBlob] != 0 {
					t.Errorf("the payload was opened: %v", n)
				}
				if got := resp.Header.Get("Content-Range"); got != "" {
					t.Errorf("Content-Range %q", got)
				}
			})
		}
	})
}

// TestFailedConditionals checks conditional GETs: a failed If-Match or
// If-Unmodified-Since gets 412 with S3's XML error PreconditionFailed
// naming the condition, a matched If-None-Match or a false
// If-Modified-Since 304 without a body, in the order of RFC 9110 that S3
// follows, and neither opens the payload.
func TestFailedConditionals(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		data := []byte("conditional payload")
		e.put("c", data)
		u := e.sign("c", nil)
		resp, _ := e.do("GET", u, nil, nil)
		tag := resp.Header.Get("ETag")
		mod, err := http.ParseTime(resp.Header.Get("Last-Modified"))
		if resp.StatusCode != 200 || tag == "" || err != nil {
			t.Fatalf("GET: %s, ETag %q, Last-Modified %v", resp.Status, tag, err)
		}
		past := mod.Add(-time.Hour).Format(http.TimeFormat)
		future := mod.Add(time.Hour).Format(http.TimeFormat)
		same := mod.Format(http.TimeFormat)
		cases := []struct {
			name      string
			header    map[string]string
			status    int
			condition string // for 412
		}{
			{"If-Match, other tag", map[string]string{"If-Match": `"0123"`}, 412, "If-Match"},
			{"If-Match, weak tag", map[string]string{"If-Match": "W/" + tag}, 412, "If-Match"},
			{"If-Match, unquoted tag", map[string]string{"If-Match": strings.Trim(tag, `"`)}, 412, "If-Match"},
			{"If-Match, the tag", map[string]string{"If-Match": tag}, 200, ""},
			{"If-Match, a list with the tag", map[string]string{"If-Match": `"0123", ` + tag}, 200, ""},
			{"If-Match, any", map[string]string{"If-Match": "*"}, 200, ""},
			{"If-Unmodified-Since, before", map[string]string{"If-Unmodified-Since": past}, 412, "If-Unmodified-Since"},
			{"If-Unmodified-Since, at", map[string]string{"If-Unmodified-Since": same}, 200, ""},
			{"If-Unmodified-Since, after", map[string]string{"If-Unmodified-Since": future}, 200, ""},
			{"If-Unmodified-Since, not a date", map[string]string{"If-Unmodified-Since": "yesterday"}, 200, ""},
			{"If-Match wins over If-Unmodified-Since", map[string]string{"If-Match": tag, "If-Unmodified-Since": past}, 200, ""},
			{"failed If-Match with a range", map[string]string{"If-Match": `"0123"`, "Range": "bytes=0-1"}, 412, "If-Match"},
			{"failed If-Match before If-None-Match", map[string]string{"If-Match": `"0123"`, "If-None-Match": tag}, 412, "If-Match"},
			{"If-Match with a range", map[string]string{"If-Match": tag, "Range": "bytes=0-1"}, 206, ""},
			{"If-None-Match, the tag", map[string]string{"If-None-Match": tag}, 304, ""},
			{"If-None-Match, weak tag", map[string]string{"If-None-Match": "W/" + tag}, 304, ""},
			{"If-None-Match, any", map[string]string{"If-None-Match": "*"}, 304, ""},
			{"If-None-Match, other tag", map[string]string{"If-None-Match": `"0123"`}, 200, ""},
			{"If-Modified-Since, after", map[string]string{"If-Modified-Since": future}, 304, ""},
			{"If-Modified-Since, at", map[string]string{"If-Modified-Since": same}, 304, ""},
			{"If-Modified-Since, before", map[string]string{"If-Modified-Since": past}, 200, ""},
			{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"0123"`, "If-Modified-Since": future}, 200, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.spy.Reset()
				resp, body := e.do("GET", u, nil, c.header)
				if resp.StatusCode != c.status {
					t.Fatalf("status %s, want %d: %q", resp.Status, c.status, body)
				}
				switch c.status {
				case 200:
					if !bytes.Equal(body, data) {
						t.Errorf("body %q", body)
					}
				case 412:
					if d := errorDetail(t, resp, body); d.Code != "PreconditionFailed" || d.Condition != c.condition {
						t.Errorf("error %+v, want PreconditionFailed for %s", d, c.condition)
					}
				case 304:
					if len(body) != 0 || resp.Header.Get("ETag") != tag || resp.Header.Get("Content-Type") != "" {
						t.Errorf("304 with body %q, ETag %q, Content-Type %q", body, resp.Header.Get("ETag"), resp.Header.Get("Content-Type"))
					}
				}
				if n := e.spy.Counts(); c.status >= 300 && n[spy.OpenBlob] != 0 {
					t.Errorf("the payload was opened: %v", n)
				}
			})
		}
	})
}

// TestParseRange checks the reading of Range headers on its own.
func TestParseRange(t *testing.T) {
	cases := []struct {
		spec          string
		size          int64
		start, length int64
		kind          rangeKind
	}{
		{"bytes=0-0", 10, 0, 1, rangeOne},
		{"bytes=0-9", 10, 0, 10, rangeOne},
		{"bytes=3-", 10, 3, 7, rangeOne},
		{"bytes=-3", 10, 7, 3, rangeOne},
		{"bytes=-30", 10, 0, 10, rangeOne},
		{"bytes=5-50", 10, 5, 5, rangeOne},
		{" bytes = 1 - 2 ", 10, 1, 2, rangeOne},
		{"BYTES=1-2", 10, 1, 2, rangeOne},
		{"bytes=10-", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=-5", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=9223372036854775807-", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=92233720368547758070-", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=0-92233720368547758070", 10, 0, 10, rangeOne},
		{"bytes=-92233720368547758070", 10, 0, 10, rangeOne},
		{"bytes=2-1", 10, 0, 0, rangeIgnored},
		{"bytes=0-1,2-3", 10, 0, 0, rangeIgnored},
		{"bytes=a-b", 10, 0, 0, rangeIgnored},
		{"bytes=-", 10, 0, 0, rangeIgnored},
		{"bytes=1-2-3", 10, 0, 0, rangeIgnored},
		{"bytes=+1-2", 10, 0, 0, rangeIgnored},
		{"items=1-2", 10, 0, 0, rangeIgnored},
		{"", 10, 0, 0, rangeIgnored},
	}
	for _, c := range cases {
		start, length, kind := parseRange(c.spec, c.size)
		if start != c.start || length != c.length || kind != c.kind {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", c.spec, c.size, start, length, kind, c.start, c.length, c.kind)
		}
	}
}

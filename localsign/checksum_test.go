package localsign

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/spy"
)

// s3Error is the body of an error response.
type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Code    string
	Message string
}

// errorCode returns the S3 error code of an error response, checking that
// it is S3-like XML.
func errorCode(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("error response of type %q: %q", ct, body)
	}
	var e s3Error
	if err := xml.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
		t.Errorf("error response %q: %v", body, err)
	}
	return e.Code
}

func sumOf(data []byte) []byte {
	s := sha256.Sum256(data)
	return s[:]
}

func wantETag(sum []byte) string { return `"` + hex.EncodeToString(sum[:16]) + `"` }

// TestPutChecksum checks URLs that bind a SHA-256: the client must send
// it in x-amz-checksum-sha256 (403 otherwise, before the driver is
// called), the body must match it (400 BadDigest otherwise, nothing
// stored), and the driver then reports it.
func TestPutChecksum(t *testing.T) {
	data := []byte("the payload the client announced")
	sum := sumOf(data)
	b64 := base64.StdEncoding.EncodeToString(sum)
	other := sumOf([]byte("other"))
	forEachDriver(t, func(t *testing.T, e *env) {
		u := e.sign("cs/one", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1, SHA256: sum, CreateOnly: true})
		pu, _ := url.Parse(u)
		if got := pu.Query().Get("cs"); got != base64.RawURLEncoding.EncodeToString(sum) {
			t.Fatalf("cs = %q", got)
		}
		refused := []struct {
			name   string
			header map[string]string
			body   []byte
		}{
			{"no checksum header", map[string]string{}, data},
			{"other checksum", map[string]string{checksumHeader: base64.StdEncoding.EncodeToString(other)}, data},
			{"checksum in base64url", map[string]string{checksumHeader: base64.URLEncoding.EncodeToString(sum)}, data},
			{"checksum in hex", map[string]string{checksumHeader: hex.EncodeToString(sum)}, data},
			{"checksum without padding", map[string]string{checksumHeader: strings.TrimRight(b64, "=")}, data},
			{"unsigned CRC32 too", map[string]string{checksumHeader: b64, "X-Amz-Checksum-Crc32": "AAAAAA=="}, data},
		}
		for _, c := range refused {
			c.header["If-None-Match"] = "*"
			e.spy.Reset()
			resp, body := e.do("PUT", u, bytes.NewReader(c.body), c.header)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s", c.name, resp.Status)
			}
			if code := errorCode(t, resp, body); code != "SignatureDoesNotMatch" && code != "AccessDenied" {
				t.Errorf("%s: code %q", c.name, code)
			}
			if n := e.spy.Counts(); len(n) != 0 {
				t.Errorf("%s: the driver was called: %v", c.name, n)
			}
		}
		// A duplicated header is refused too.
		req, _ := http.NewRequest("PUT", u, bytes.NewReader(data))
		req.Header.Set("If-None-Match", "*")
		req.Header.Add(checksumHeader, b64)
		req.Header.Add(checksumHeader, b64)
		if resp, err := e.srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("duplicated checksum header: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}

		// Other bytes with the signed checksum: BadDigest, nothing stored.
		h := map[string]string{"If-None-Match": "*", checksumHeader: b64}
		resp, body := e.do("PUT", u, strings.NewReader("bytes the client did not announce"), h)
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp, body) != "BadDigest" {
			t.Errorf("wrong bytes: %s %q", resp.Status, body)
		}
		if _, err := e.drv.StatBlob(e.ctx, "cs/one"); e.drv.ErrorCode(err) != driver.NotFound {
			t.Errorf("wrong bytes were stored: %v", err)
		}

		// The right bytes: stored, and the driver vouches for the checksum.
		resp, body = e.do("PUT", u, bytes.NewReader(data), h)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT: %s %q", resp.Status, body)
		}
		if got := resp.Header.Get(checksumHeader); got != b64 {
			t.Errorf("response %s %q, want %q", checksumHeader, got, b64)
		}
		if got := resp.Header.Get("ETag"); got != wantETag(sum) {
			t.Errorf("ETag %q, want %q", got, wantETag(sum))
		}
		info, err := e.drv.StatBlob(e.ctx, "cs/one")
		if err != nil || !bytes.Equal(info.Checksum.Sum, sum) || info.Size != int64(len(data)) {
			t.Errorf("StatBlob: %+v, %v", info, err)
		}
		// Never replaced, checksum or not.
		resp, body = e.do("PUT", u, bytes.NewReader(data), h)
		if resp.StatusCode != http.StatusPreconditionFailed || errorCode(t, resp, body) != "PreconditionFailed" {
			t.Errorf("second PUT: %s %q", resp.Status, body)
		}
	})
}

// TestPutRecordsChecksum checks that a URL without a checksum stores the
// payload with its SHA-256 recorded (RecordSHA256), answers with it and an
// ETag, and refuses a checksum header it did not sign, as S3 refuses
// unsigned x-amz-* headers.
func TestPutRecordsChecksum(t *testing.T) {
	data := []byte("bytes nobody hashed in advance")
	sum := sumOf(data)
	forEachDriver(t, func(t *testing.T, e *env) {
		u := e.sign("rec/one", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1, CreateOnly: true})
		e.spy.Reset()
		resp, body := e.do("PUT", u, bytes.NewReader(data), map[string]string{"If-None-Match": "*", checksumHeader: base64.StdEncoding.EncodeToString(sum)})
		if resp.StatusCode != http.StatusForbidden || errorCode(t, resp, body) != "AccessDenied" {
			t.Errorf("unsigned checksum header: %s %q", resp.Status, body)
		}
		if n := e.spy.Counts(); len(n) != 0 {
			t.Errorf("the driver was called: %v", n)
		}
		e.spy.Reset()
		resp, body = e.do("PUT", u, bytes.NewReader(data), map[string]string{"If-None-Match": "*"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT: %s %q", resp.Status, body)
		}
		if n := e.spy.Counts(); n[spy.ListBlobs] != 0 || n[spy.WriteBlob] != 1 {
			t.Errorf("driver calls: %v", n)
		}
		if got := resp.Header.Get(checksumHeader); got != base64.StdEncoding.EncodeToString(sum) {
			t.Errorf("response %s %q", checksumHeader, got)
		}
		etag := resp.Header.Get("ETag")
		if etag != wantETag(sum) {
			t.Errorf("ETag %q, want %q", etag, wantETag(sum))
		}
		info, err := e.drv.StatBlob(e.ctx, "rec/one")
		if err != nil || !bytes.Equal(info.Checksum.Sum, sum) {
			t.Errorf("StatBlob: %+v, %v", info, err)
		}
		// A GET finds the size with StatBlob, not a listing, and sends
		// the same ETag.
		e.spy.Reset()
		resp, body = e.do("GET", e.sign("rec/one", nil), nil, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("GET: %s %q", resp.Status, body)
		}
		if n := e.spy.Counts(); n[spy.ListBlobs] != 0 || n[spy.StatBlob] != 1 || n[spy.OpenBlob] != 1 {
			t.Errorf("GET driver calls: %v", n)
		}
		if got := resp.Header.Get("ETag"); got != etag {
			t.Errorf("GET ETag %q, PUT's %q", got, etag)
		}
		resp, _ = e.do("GET", e.sign("rec/one", nil), nil, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET If-None-Match the ETag: %s", resp.Status)
		}
	})
}

// TestErrorResponses checks that refusals carry S3's status, error code
// and XML body.
func TestErrorResponses(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		e.put("exists", []byte("x"))
		put := func(key string, o driver.SignedURLOptions) string {
			o.Method, o.Expiry = "PUT", time.Minute
			return e.sign(key, &o)
		}
		get := e.sign("exists", nil)
		bad := []byte(get)
		// Another base64url character in the signature (flipping a bit
		// may leave the alphabet, which is malformed, not a mismatch).
		if bad[len(bad)-3] == 'A' {
			bad[len(bad)-3] = 'B'
		} else {
			bad[len(bad)-3] = 'A'
		}
		e.clock.Store(time.Now().Add(-time.Hour).Unix())
		expired := e.sign("exists", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute})
		e.clock.Store(0)
		cases := []struct {
			name   string
			method string
			url    string
			body   string
			header map[string]string
			status int
			code   string
		}{
			{"tampered", "GET", string(bad), "", nil, 403, "SignatureDoesNotMatch"},
			{"other method", "DELETE", get, "", nil, 403, "SignatureDoesNotMatch"},
			{"expired", "GET", expired, "", nil, 403, "AccessDenied"},
			{"malformed", "GET", get + "&x=1", "", nil, 403, "AccessDenied"},
			{"missing", "GET", e.sign("missing", nil), "", nil, 404, "NoSuchKey"},
			{"wrong content type", "PUT", put("a", driver.SignedURLOptions{Size: -1, ContentType: "image/png"}), "x", map[string]string{"Content-Type": "text/html"}, 403, "SignatureDoesNotMatch"},
			{"no If-None-Match", "PUT", put("a", driver.SignedURLOptions{Size: -1, CreateOnly: true}), "x", nil, 403, "SignatureDoesNotMatch"},
			{"exists", "PUT", put("exists", driver.SignedURLOptions{Size: -1}), "x", nil, 412, "PreconditionFailed"},
			{"too large", "PUT", put("a", driver.SignedURLOptions{Size: -1, MaxSize: 2}), "xyz", nil, 413, "EntityTooLarge"},
			{"bad digest", "PUT", put("a", driver.SignedURLOptions{Size: -1, SHA256: sumOf([]byte("y"))}), "x",
				map[string]string{checksumHeader: base64.StdEncoding.EncodeToString(sumOf([]byte("y")))}, 400, "BadDigest"},
		}
		for _, c := range cases {
			var body *strings.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			var resp *http.Response
			var data []byte
			if body != nil {
				resp, data = e.do(c.method, c.url, body, c.header)
			} else {
				resp, data = e.do(c.method, c.url, nil, c.header)
			}
			if resp.StatusCode != c.status {
				t.Errorf("%s: %s, want %d", c.name, resp.Status, c.status)
			}
			if code := errorCode(t, resp, data); code != c.code {
				t.Errorf("%s: code %q, want %q (%s)", c.name, code, c.code, data)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: sniffable", c.name)
			}
		}
		if _, err := e.read("a"); err == nil {
			t.Error("a refused PUT stored a payload")
		}
	})
}

// TestSpellings checks that a signed URL is accepted in exactly one
// spelling: every other base64url spelling of its signature (other unused
// bits in the last character, padding, newlines) and of its checksum is
// refused, though it decodes to the same bytes.
func TestSpellings(t *testing.T) {
	s := New(NewMemDriver(), testSecret, "http://127.0.0.1/blobs")
	sum := sumOf([]byte("payload"))
	u, err := s.SignedURL(t.Context(), "k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Hour, Size: -1, SHA256: sum})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	now := time.Now()
	if _, err := s.verify("PUT", pu.RawQuery, now); err != nil {
		t.Fatalf("the URL as signed: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, param := range []string{"s", "cs"} {
		q := pu.Query()
		v := q.Get(param)
		spellings := []string{v + "=", v + "==", v[:10] + "\n" + v[10:], v[:10] + "\r\n" + v[10:],
			strings.NewReplacer("-", "+", "_", "/").Replace(v) + "="}
		for i := 0; i < len(alphabet); i++ {
			if w := v[:len(v)-1] + alphabet[i:i+1]; w != v {
				spellings = append(spellings, w)
			}
		}
		same := 0
		for _, w := range spellings {
			if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(w, "=")); err == nil && bytes.Equal(b, mustDecode(t, v)) {
				same++ // decodes to the same bytes: the case that matters
			}
			q.Set(param, w)
			if g, err := s.verify("PUT", q.Encode(), now); err == nil {
				t.Errorf("%s spelled %q accepted: %+v", param, w, g)
			}
		}
		if same < 4 {
			t.Errorf("%s: only %d other spellings decode to the same bytes; the test is too weak", param, same)
		}
	}
}

func mustDecode(t *testing.T, v string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChecksumOptions checks the SHA256 option's arguments.
func TestChecksumOptions(t *testing.T) {
	s := New(NewMemDriver(), testSecret, "http://127.0.0.1/blobs")
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := s.SignedURL(t.Context(), "k", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Hour, Size: -1, SHA256: make([]byte, n)})
		var code driver.ErrorCode
		if !errors.As(err, &code) || code != driver.InvalidArgument {
			t.Errorf("SHA256 of %d bytes: %v", n, err)
		}
	}
	// A GET ignores it, as it ignores the other PUT options.
	u, err := s.SignedURL(t.Context(), "k", &driver.SignedURLOptions{Method: "GET", Expiry: time.Hour, SHA256: sumOf(nil)})
	if err != nil || strings.Contains(u, "cs=") {
		t.Errorf("GET with a SHA256: %q, %v", u, err)
	}
}

package localsign

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// putBody sends a PUT of body to u; chunked sends it without a
// Content-Length.
func (e *env) putBody(u string, body []byte, chunked bool, header map[string]string) *http.Response {
	e.t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // of unknown length
	}
	req, err := http.NewRequest("PUT", u, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestPutSizes checks that a PUT honours the signed Size and MaxSize
// from its Content-Length, before the driver is called, and that a
// refused upload stores nothing. A body without a Content-Length is
// refused whatever the sizes, as S3 refuses it (411; see
// TestPutWithoutContentLength).
func TestPutSizes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name     string
		size     int64
		maxSize  int64
		body     []byte
		chunked  bool
		want     int
		noDriver bool // refused before the driver is called
	}{
		{"any size", -1, 0, []byte("hello"), false, 200, false},
		{"any size, chunked", -1, 0, []byte("hello"), true, 411, true},
		{"exact size", 5, 0, []byte("hello"), false, 200, false},
		{"exact size, chunked", 5, 0, []byte("hello"), true, 411, true},
		{"exact size, empty", 0, 0, nil, false, 200, false},
		{"shorter than size", 6, 0, []byte("hello"), false, 403, true},
		{"longer than size", 4, 0, []byte("hello"), false, 403, true},
		{"not empty with size 0", 0, 0, []byte("x"), false, 403, true},
		{"shorter than size, chunked", 6, 0, []byte("hello"), true, 411, true},
		{"longer than size, chunked", 4, 0, []byte("hello"), true, 411, true},
		{"at max size", -1, 5, []byte("hello"), false, 200, false},
		{"at max size, chunked", -1, 5, []byte("hello"), true, 411, true},
		{"under max size", -1, 5, []byte("hi"), false, 200, false},
		{"over max size", -1, 4, []byte("hello"), false, 413, true},
		{"over max size, chunked", -1, 4, []byte("hello"), true, 411, true},
		{"far over max size", -1, 64 << 10, big, false, 413, true},
		{"far over max size, chunked", -1, 64 << 10, big, true, 411, true},
		{"size and max size", 5, 10, []byte("hello"), false, 200, false},
		{"size and max size, longer", 5, 10, []byte("hello, world"), false, 403, true},
		{"size and max size, chunked", 5, 10, []byte("hello"), true, 411, true},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := "sizes/" + c.name
				u := e.sign(key, &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: c.size, MaxSize: c.maxSize, CreateOnly: true})
				e.spy.Reset()
				resp := e.putBody(u, c.body, c.chunked, map[string]string{"If-None-Match": "*"})
				if resp.StatusCode != c.want {
					t.Errorf("status %s, want %d", resp.Status, c.want)
				}
				if n := e.spy.Counts(); c.noDriver && len(n) != 0 {
					t.Errorf("the driver was called: %v", n)
				}
				got, err := e.read(key)
				switch {
				case c.want == 200 && (err != nil || !bytes.Equal(got, c.body)):
					t.Errorf("stored %q, %v; want %q", got, err, c.body)
				case c.want != 200 && err == nil:
					t.Errorf("a refused PUT stored %d bytes", len(got))
				}
			})
		}
	})
}

// TestBodyReaderLimit checks that no byte past the limit reaches the
// driver, whatever the sizes of the reads.
func TestBodyReaderLimit(t *testing.T) {
	cases := []struct {
		name          string
		size, maxSize int64
		body          string
		handed        string
		err           error
	}{
		{"max size", -1, 4, "hello", "hell", errTooLarge},
		{"exact size", 3, 0, "hello", "hel", errWrongSize},
		{"exact size and max size", 3, 4, "hello", "hel", errWrongSize},
		{"short", 6, 0, "hello", "hello", errWrongSize},
		{"fits", 5, 5, "hello", "hello", nil},
		{"no limit", -1, 0, "hello", "hello", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 4096} {
				b := &bodyReader{r: strings.NewReader(c.body), size: c.size, maxSize: c.maxSize}
				var got []byte
				buf := make([]byte, chunk)
				var err error
				for err == nil {
					var n int
					n, err = b.Read(buf)
					got = append(got, buf[:n]...)
				}
				if err == io.EOF {
					err = nil
				}
				if string(got) != c.handed || err != c.err || b.err != c.err {
					t.Errorf("reads of %d: handed %q, %v (recorded %v); want %q, %v", chunk, got, err, b.err, c.handed, c.err)
				}
			}
		})
	}
}

// TestPutCreateOnly checks that a create-only URL wants If-None-Match: *
// like S3, and that no URL ever replaces a payload: the second PUT gets
// 412 and leaves the first bytes.
func TestPutCreateOnly(t *testing.T) {
	steps := []struct {
		name        string
		createOnly  bool
		ifNoneMatch string
		body        string
		want        int
		stored      string // "" for nothing
	}{
		{"create only without If-None-Match", true, "", "first", 403, ""},
		{"create only with an etag", true, `"abc"`, "first", 403, ""},
		{"create only", true, "*", "first", 200, "first"},
		{"create only again", true, "*", "second", 412, "first"},
		{"not create only, again", false, "", "second", 412, "first"},
		{"not create only with If-None-Match, again", false, "*", "second", 412, "first"},
	}
	forEachDriver(t, func(t *testing.T, e *env) {
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				u := e.sign("once", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1, CreateOnly: s.createOnly})
				h := map[string]string{}
				if s.ifNoneMatch != "" {
					h["If-None-Match"] = s.ifNoneMatch
				}
				if resp := e.putBody(u, []byte(s.body), false, h); resp.StatusCode != s.want {
					t.Errorf("status %s, want %d", resp.Status, s.want)
				}
				got, err := e.read("once")
				switch {
				case s.stored == "" && err == nil:
					t.Errorf("stored %q", got)
				case s.stored != "" && string(got) != s.stored:
					t.Errorf("stored %q, %v; want %q", got, err, s.stored)
				}
			})
		}
	})
}

// TestNosniff checks that every response of the handler, payload or
// error, forbids content sniffing.
func TestNosniff(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		e.put("page", []byte("<html><script>alert(1)</script></html>"))
		get := e.sign("page", nil)
		cases := []struct {
			name   string
			method string
			url    string
			header map[string]string
			want   int
		}{
			{"GET", "GET", get, nil, 200},
			{"GET with a content type", "GET", e.sign("page", &driver.SignedURLOptions{Method: "GET", Expiry: time.Minute, ContentType: "text/plain"}), nil, 200},
			{"GET range", "GET", get, map[string]string{"Range": "bytes=0-5"}, 206},
			{"GET missing", "GET", e.sign("missing", nil), nil, 404},
			{"GET tampered", "GET", get + "x", nil, 403},
			{"PUT", "PUT", e.sign("new", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1}), nil, 200},
			{"PUT existing", "PUT", e.sign("page", &driver.SignedURLOptions{Method: "PUT", Expiry: time.Minute, Size: -1}), nil, 412},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body io.Reader
				if c.method == "PUT" {
					body = strings.NewReader("data")
				}
				resp, _ := e.do(c.method, c.url, body, c.header)
				if resp.StatusCode != c.want {
					t.Errorf("status %s, want %d", resp.Status, c.want)
				}
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q", got)
				}
			})
		}
	})
}

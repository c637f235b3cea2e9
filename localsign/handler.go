package localsign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docblob/docblob/driver"
)

// Handler returns the http.Handler that serves the Signer's URLs.
func (s *Signer) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Signer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// No response, payload or error, is ever sniffed into active content.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rules := s.cors.Load()
	if r.Method == http.MethodOptions {
		// A CORS preflight: unsigned, as on S3.
		rules.preflight(w, r)
		return
	}
	rules.annotate(w.Header(), r)
	g, err := s.verify(r.Method, r.URL.RawQuery, s.now())
	if err != nil {
		// As S3 answers a presigned URL whose signature, expiry or method
		// does not match.
		code := "AccessDenied"
		if errors.Is(err, errSignature) || errors.Is(err, errMethod) {
			code = "SignatureDoesNotMatch"
		}
		writeError(w, http.StatusForbidden, code, err.Error())
		return
	}
	if names := unsignedHeaders(r.Header, g); len(names) > 0 {
		// S3 refuses a presigned request with an x-amz-* header that the
		// signature does not cover, and names them.
		writeError(w, http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed",
			"HeadersNotSigned", strings.Join(names, ","))
		return
	}
	switch g.method {
	case "GET":
		s.serveGet(w, r, g)
	case "PUT":
		s.servePut(w, r, g)
	}
}

// writeError answers a refused request as S3 does: the status, and an XML
// body with an S3 error code, a message and, in extra, the names and
// values of further elements (HeadersNotSigned, Condition, ...).
func writeError(w http.ResponseWriter, status int, code, msg string, extra ...string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	element := func(name, v string) {
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + name + ">")
	}
	b.WriteString("<Error>")
	element("Code", code)
	element("Message", msg)
	for i := 0; i+1 < len(extra); i += 2 {
		element(extra[i], extra[i+1])
	}
	b.WriteString("</Error>\n")
	h := w.Header()
	h.Del("Content-Range")
	h.Del("Content-Disposition")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// unsignedHeaders returns the x-amz-* headers of a request that g does
// not sign, in lower case and sorted: all of them but x-amz-checksum-sha256
// when g binds a SHA-256.
func unsignedHeaders(h http.Header, g *grant) []string {
	var names []string
	for name := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && !(g.checksum != "" && lower == "x-amz-checksum-sha256") {
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// etag returns the entity tag of a stored payload: the quoted hex of the
// first 16 bytes of its SHA-256, 32 hex digits like S3's MD5 ETag of a
// single PUT, but not an MD5 (the driver computes the SHA-256 as the
// payload arrives; an MD5 would cost another pass over the bytes). For a
// payload whose SHA-256 the driver does not know, it is derived from the
// key, size and modification time: payloads are never replaced, so these
// identify its content too.
func etag(info *driver.BlobInfo) string {
	sum := info.Checksum.Sum
	if info.Checksum.Algorithm != driver.SHA256 || len(sum) != sha256.Size {
		h := sha256.New()
		fmt.Fprintf(h, "localsign-etag\x00%d\x00%d\x00%s", info.Size, info.ModTime.UnixNano(), info.Key)
		sum = h.Sum(nil)
	}
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// serveGet streams a payload, or the one range of it asked for, as S3
// does: conditional requests first, then the Range header.
func (s *Signer) serveGet(w http.ResponseWriter, r *http.Request, g *grant) {
	ctx := r.Context()
	info, err := s.drv.StatBlob(ctx, g.key)
	if err != nil {
		s.driverError(w, err)
		return
	}
	h := w.Header()
	tag := etag(info)
	h.Set("ETag", tag)
	if !info.ModTime.IsZero() {
		h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private")
	switch failed, status := checkConditions(r.Header, tag, info.ModTime); status {
	case http.StatusPreconditionFailed:
		writeError(w, status, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", "Condition", failed)
		return
	case http.StatusNotModified:
		w.WriteHeader(status)
		return
	}
	off, n, status := int64(0), info.Size, http.StatusOK
	if spec := r.Header.Get("Range"); spec != "" {
		switch start, length, kind := parseRange(spec, info.Size); kind {
		case rangeUnsatisfiable:
			writeError(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable",
				"RangeRequested", spec, "ActualObjectSize", strconv.FormatInt(info.Size, 10))
			return
		case rangeOne:
			off, n, status = start, length, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, info.Size))
		}
	}
	var body io.ReadCloser = http.NoBody
	if n > 0 {
		br, err := s.drv.OpenBlob(ctx, g.key, off, n, nil)
		if err != nil {
			s.driverError(w, err) // writeError drops Content-Range
			return
		}
		body = br
		defer body.Close()
	}
	if g.contentType != "" {
		h.Set("Content-Type", g.contentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if g.contentDisposition != "" {
		h.Set("Content-Disposition", g.contentDisposition)
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if k, _ := io.CopyN(w, body, n); k < n {
		// The payload is shorter than listed, the driver failed or the
		// client left: the status is sent, so cut the response short
		// rather than end it as if it were whole.
		panic(http.ErrAbortHandler)
	}
}

// checkConditions evaluates a GET's conditional headers against the
// payload's ETag and modification time, in the order of RFC 9110 (as S3
// does): it returns 412 and the header that failed, 304, or 0 to serve
// the request.
func checkConditions(h http.Header, tag string, mod time.Time) (string, int) {
	mod = mod.Truncate(time.Second) // as Last-Modified says it
	if vs := h.Values("If-Match"); len(vs) > 0 {
		if !etagListMatches(vs, tag, false) {
			return "If-Match", http.StatusPreconditionFailed
		}
	} else if t, ok := httpDate(h, "If-Unmodified-Since"); ok && !mod.IsZero() && mod.After(t) {
		return "If-Unmodified-Since", http.StatusPreconditionFailed
	}
	if vs := h.Values("If-None-Match"); len(vs) > 0 {
		if etagListMatches(vs, tag, true) {
			return "If-None-Match", http.StatusNotModified
		}
	} else if t, ok := httpDate(h, "If-Modified-Since"); ok && !mod.IsZero() && !mod.After(t) {
		return "If-Modified-Since", http.StatusNotModified
	}
	return "", 0
}

// httpDate parses the date of header name, if present and valid.
func httpDate(h http.Header, name string) (time.Time, bool) {
	v := h.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// etagListMatches reports whether a list of entity tags (the values of
// If-Match or If-None-Match) holds "*" or tag: compared strongly (a weak
// W/ tag never matches), or weakly if weak is set. A malformed list ends
// the comparison there.
func etagListMatches(values []string, tag string, weak bool) bool {
	for _, v := range values {
		for {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			isWeak := strings.HasPrefix(v, "W/")
			if isWeak {
				v = v[2:]
			}
			end := strings.IndexByte(v[min(1, len(v)):], '"')
			if len(v) < 2 || v[0] != '"' || end < 0 {
				break
			}
			if v[:end+2] == tag && (weak || !isWeak) {
				return true
			}
			v = v[end+2:]
		}
	}
	return false
}

// What a Range header asks for.
type rangeKind int

const (
	rangeIgnored       rangeKind = iota // malformed or several ranges: the whole payload
	rangeOne                            // one satisfiable range
	rangeUnsatisfiable                  // one range that the payload does not reach
)

// parseRange reads a Range header as S3 does: one byte range (first-last,
// first- or -suffix) is served, a range that starts at or past the end (or
// a suffix of 0, or any range of an empty payload) is unsatisfiable, and
// anything else (other units, several ranges, bad syntax, last before
// first) is ignored.
func parseRange(spec string, size int64) (start, length int64, kind rangeKind) {
	unit, set, ok := strings.Cut(spec, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(set, ",") {
		return 0, 0, rangeIgnored
	}
	first, last, ok := strings.Cut(strings.TrimSpace(set), "-")
	if !ok {
		return 0, 0, rangeIgnored
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, ok := rangeNumber(last)
		switch {
		case !ok:
			return 0, 0, rangeIgnored
		case n == 0 || size == 0:
			return 0, 0, rangeUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, rangeOne
	}
	a, ok := rangeNumber(first)
	if !ok {
		return 0, 0, rangeIgnored
	}
	b := int64(math.MaxInt64)
	if last != "" {
		if b, ok = rangeNumber(last); !ok || b < a {
			return 0, 0, rangeIgnored
		}
	}
	if a >= size {
		return 0, 0, rangeUnsatisfiable
	}
	b = min(b, size-1)
	return a, b - a + 1, rangeOne
}

// rangeNumber parses the digits of a byte position; a number too large for
// an int64 is math.MaxInt64, past any payload's end.
func rangeNumber(v string) (int64, bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		n = math.MaxInt64 // only digits: out of range
	}
	return n, true
}

// checksumHeader is the header that carries an upload's SHA-256, in
// standard base64, as on S3.
const checksumHeader = "X-Amz-Checksum-Sha256"

// servePut streams the request body into a new payload.
func (s *Signer) servePut(w http.ResponseWriter, r *http.Request, g *grant) {
	ct := r.Header.Get("Content-Type")
	sum := g.sha256()
	// The headers a URL binds are signed headers on S3: a request without
	// them does not match the signature. (Unsigned x-amz-* headers were
	// refused by serveHTTP.)
	switch {
	case r.ContentLength < 0 || r.ProtoMajor == 1 && len(r.Header.Values("Content-Length")) == 0:
		// A chunked body, or (HTTP/1) none announced: S3 wants the
		// length first.
		writeError(w, http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		return
	case g.contentType != "" && ct != g.contentType:
		writeError(w, http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("the signed URL requires Content-Type %q", g.contentType))
		return
	case g.createOnly && r.Header.Get("If-None-Match") != "*":
		writeError(w, http.StatusForbidden, "SignatureDoesNotMatch", "the signed URL requires If-None-Match: *")
		return
	case g.size >= 0 && r.ContentLength >= 0 && r.ContentLength != g.size:
		writeError(w, http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("the signed URL requires Content-Length %d", g.size))
		return
	case sum != nil && !hasOnly(r.Header, checksumHeader, base64.StdEncoding.EncodeToString(sum)):
		writeError(w, http.StatusForbidden, "SignatureDoesNotMatch", "the signed URL requires the header "+checksumHeader+" with the SHA-256 it was signed for, in base64")
		return
	case g.maxSize > 0 && r.ContentLength > g.maxSize:
		writeError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", fmt.Sprintf("the signed URL allows at most %d bytes", g.maxSize))
		return
	}
	if !s.claim(g.key) {
		writeError(w, http.StatusConflict, "ConditionalRequestConflict", "an upload to this key is in progress")
		return
	}
	defer s.release(g.key)
	ctx := r.Context()
	switch _, err := s.drv.StatBlob(ctx, g.key); {
	case err == nil:
		writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", "a payload exists under this key; payloads are never replaced")
		return
	case driver.Classify(s.drv, err) != driver.NotFound:
		s.driverError(w, err)
		return
	}
	body := &bodyReader{r: r.Body, size: g.size, maxSize: g.maxSize}
	_, err := s.drv.WriteBlob(ctx, g.key, body, &driver.WriteOptions{ContentType: ct, Size: r.ContentLength, Checksum: driver.SHA256, Sum: sum})
	if err == nil && body.err != nil {
		// The driver took a failed read for the end of the payload: take
		// the partial payload back.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = s.drv.DeleteBlob(dctx, g.key)
		cancel()
		err = body.err
	}
	switch {
	case err == nil:
		s.putDone(ctx, w, g.key, sum)
	case errors.Is(body.err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", body.err.Error())
	case errors.Is(body.err, errWrongSize):
		writeError(w, http.StatusBadRequest, "InvalidRequest", body.err.Error())
	case body.err != nil:
		writeError(w, http.StatusBadRequest, "IncompleteBody", body.err.Error())
	default:
		s.driverError(w, err)
	}
}

// putDone answers a successful upload as S3 does: 200 OK with the
// payload's ETag and, when its SHA-256 is known (recorded by the driver,
// or bound in the URL and verified by it), the SHA-256 in
// x-amz-checksum-sha256.
func (s *Signer) putDone(ctx context.Context, w http.ResponseWriter, key string, bound []byte) {
	h := w.Header()
	info, err := s.drv.StatBlob(ctx, key)
	if err != nil {
		// Stored, but the driver cannot describe it right now: the
		// upload succeeded all the same.
		info = nil
	}
	if info != nil && info.Checksum.Algorithm != driver.SHA256 && bound != nil {
		info.Checksum = driver.Checksum{Algorithm: driver.SHA256, Sum: bound}
	}
	if info != nil {
		h.Set("ETag", etag(info))
		if info.Checksum.Algorithm == driver.SHA256 && len(info.Checksum.Sum) == sha256.Size {
			h.Set(checksumHeader, base64.StdEncoding.EncodeToString(info.Checksum.Sum))
		}
	}
	w.WriteHeader(http.StatusOK)
}

// hasOnly reports whether the request carries header name exactly once,
// with value v.
func hasOnly(h http.Header, name, v string) bool {
	vs := h.Values(name)
	return len(vs) == 1 && vs[0] == v
}

// claim marks a key as being uploaded to, and reports whether it was free.
func (s *Signer) claim(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploading[key] {
		return false
	}
	s.uploading[key] = true
	return true
}

func (s *Signer) release(key string) {
	s.mu.Lock()
	delete(s.uploading, key)
	s.mu.Unlock()
}

// The body of a PUT does not fit the signed sizes.
var (
	errTooLarge  = errors.New("localsign: the body exceeds the signed maximum size")
	errWrongSize = errors.New("localsign: the body's length differs from the signed size")
)

// bodyReader enforces the signed sizes on the request body as it streams,
// and records the body's error, to tell the client's failures from the
// driver's. No byte past the limit reaches the driver: it reads at most one
// byte more than allowed, and hands over only what was allowed. The
// Content-Length was checked against both sizes before, and net/http
// reads no further than it, so the limits hold twice. It wraps the body's
// own errors, so that a body cut short (io.ErrUnexpectedEOF from
// net/http) cannot be mistaken for the short last read that io.ReadFull
// reports with the same value.
type bodyReader struct {
	r       io.Reader
	size    int64 // the exact length required, or -1
	maxSize int64 // the largest length allowed, or 0
	n       int64 // bytes handed over
	err     error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	limit, over := int64(-1), errTooLarge
	switch {
	case b.size >= 0:
		limit, over = b.size, errWrongSize
	case b.maxSize > 0:
		limit = b.maxSize
	}
	if limit >= 0 && int64(len(p)) > limit-b.n+1 {
		p = p[:limit-b.n+1]
	}
	n, err := b.r.Read(p)
	if limit >= 0 && b.n+int64(n) > limit {
		n = int(limit - b.n)
		b.n = limit
		b.err = over
		return n, b.err
	}
	b.n += int64(n)
	switch {
	case err == io.EOF && b.size >= 0 && b.n != b.size:
		b.err = errWrongSize
		return n, b.err
	case err != nil && err != io.EOF:
		b.err = fmt.Errorf("localsign: reading the request body: %w", err)
		return n, b.err
	}
	return n, err
}

// driverError answers a driver failure after the signature was accepted.
func (s *Signer) driverError(w http.ResponseWriter, err error) {
	code := driver.Classify(s.drv, err)
	status, s3code := http.StatusInternalServerError, "InternalError"
	switch {
	case code == driver.NotFound:
		status, s3code = http.StatusNotFound, "NoSuchKey"
	case code == driver.AlreadyExists:
		// Another process stored the payload first: the precondition
		// that the key is free failed.
		status, s3code = http.StatusPreconditionFailed, "PreconditionFailed"
	case code == driver.InvalidArgument:
		status, s3code = http.StatusBadRequest, "InvalidRequest"
	case code == driver.TooLarge:
		status, s3code = http.StatusRequestEntityTooLarge, "EntityTooLarge"
	case code == driver.Corrupt:
		// The body does not match the SHA-256 the URL was signed for.
		status, s3code = http.StatusBadRequest, "BadDigest"
	case code == driver.PermissionDenied:
		status, s3code = http.StatusForbidden, "AccessDenied"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status, s3code = http.StatusServiceUnavailable, "ServiceUnavailable"
	case code == driver.Unavailable:
		status, s3code = http.StatusServiceUnavailable, "ServiceUnavailable"
	}
	// The driver's error may name files or hosts: keep it out of the
	// response.
	writeError(w, status, s3code, fmt.Sprintf("%s: %v", http.StatusText(status), code))
}

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
	"net/http"
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
	switch g.method {
	case "GET":
		s.serveGet(w, r, g)
	case "PUT":
		s.servePut(w, r, g)
	}
}

// writeError answers a refused request as S3 does: the status, and an XML
// body with an S3 error code and a message.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString("</Message></Error>\n")
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// etag returns the entity tag of a stored payload: the quoted hex of the
// first 16 bytes of its SHA-256, 32 hex digits like S3's MD5 ETag of a
// single PUT, but not an MD5 (the driver computes the SHA-256 as the
// payload arrives; an MD5 would cost another pass over the bytes). For a
// payload whose SHA-256 the driver does not know, it is derived from the
// key, size and modification time: payloads are never replaced, so these
// identify its content too.
func etag(info *driver.BlobInfo) string {
	sum := info.SHA256
	if len(sum) != sha256.Size {
		h := sha256.New()
		fmt.Fprintf(h, "localsign-etag\x00%d\x00%d\x00%s", info.Size, info.ModTime.UnixNano(), info.Key)
		sum = h.Sum(nil)
	}
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// serveGet streams a payload, with Range support.
func (s *Signer) serveGet(w http.ResponseWriter, r *http.Request, g *grant) {
	ctx := r.Context()
	info, err := s.drv.StatBlob(ctx, g.key)
	if err != nil {
		s.driverError(w, err)
		return
	}
	h := w.Header()
	if g.contentType != "" {
		h.Set("Content-Type", g.contentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if g.contentDisposition != "" {
		h.Set("Content-Disposition", g.contentDisposition)
	}
	h.Set("Cache-Control", "private")
	h.Set("ETag", etag(info))
	content := &lazyBlob{ctx: ctx, drv: s.drv, key: g.key, size: info.Size}
	defer content.Close()
	http.ServeContent(w, r, "", info.ModTime, content)
}

// lazyBlob is an io.ReadSeeker over a payload of known size for
// http.ServeContent: seeking costs nothing, and the first read after a seek
// opens the range from there to the end.
type lazyBlob struct {
	ctx  context.Context
	drv  driver.Driver
	key  string
	size int64
	off  int64
	rc   io.ReadCloser
}

func (b *lazyBlob) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	}
	if offset < 0 {
		return 0, errors.New("localsign: negative seek")
	}
	if offset != b.off {
		b.Close()
		b.off = offset
	}
	return offset, nil
}

func (b *lazyBlob) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	if b.rc == nil {
		rc, err := b.drv.OpenBlob(b.ctx, b.key, b.off, b.size-b.off)
		if err != nil {
			return 0, err
		}
		b.rc = rc
	}
	if int64(len(p)) > b.size-b.off {
		p = p[:b.size-b.off]
	}
	n, err := b.rc.Read(p)
	b.off += int64(n)
	if err == io.EOF && b.off < b.size {
		err = io.ErrUnexpectedEOF // the payload is shorter than listed
	}
	return n, err
}

func (b *lazyBlob) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
}

// checksumHeader is the header that carries an upload's SHA-256, in
// standard base64, as on S3.
const checksumHeader = "X-Amz-Checksum-Sha256"

// servePut streams the request body into a new payload.
func (s *Signer) servePut(w http.ResponseWriter, r *http.Request, g *grant) {
	ct := r.Header.Get("Content-Type")
	sum := g.sha256()
	// The headers a URL binds are signed headers on S3: a request without
	// them does not match the signature. Other checksum headers are not
	// signed, and S3 refuses unsigned x-amz-* headers.
	switch {
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
	case unsignedChecksum(r.Header, sum != nil):
		writeError(w, http.StatusForbidden, "AccessDenied", "there were checksum headers present in the request which were not signed")
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
	_, err := s.drv.WriteBlob(ctx, g.key, body, &driver.WriteOptions{ContentType: ct, Size: r.ContentLength, SHA256: sum, RecordSHA256: true})
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
	if info != nil && len(info.SHA256) != sha256.Size && bound != nil {
		info.SHA256 = bound
	}
	if info != nil {
		h.Set("ETag", etag(info))
		if len(info.SHA256) == sha256.Size {
			h.Set(checksumHeader, base64.StdEncoding.EncodeToString(info.SHA256))
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

// unsignedChecksum reports whether the request carries an x-amz-checksum-*
// header that the URL does not sign: any but x-amz-checksum-sha256 when
// sha256Signed, any at all otherwise.
func unsignedChecksum(h http.Header, sha256Signed bool) bool {
	for name := range h {
		if strings.HasPrefix(name, "X-Amz-Checksum-") && !(sha256Signed && name == checksumHeader) {
			return true
		}
	}
	return false
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
// byte more than allowed, and hands over only what was allowed. It wraps
// the body's own errors, so that a body cut short (io.ErrUnexpectedEOF
// from the chunked reader) cannot be mistaken for the short last read
// that io.ReadFull reports with the same value.
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

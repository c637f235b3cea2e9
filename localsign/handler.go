package localsign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
		http.Error(w, "403 forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	switch g.method {
	case "GET":
		s.serveGet(w, r, g)
	case "PUT":
		s.servePut(w, r, g)
	}
}

// serveGet streams a payload, with Range support.
func (s *Signer) serveGet(w http.ResponseWriter, r *http.Request, g *grant) {
	ctx := r.Context()
	info, err := s.stat(ctx, g.key)
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
	content := &lazyBlob{ctx: ctx, drv: s.drv, key: g.key, size: info.Size}
	defer content.Close()
	http.ServeContent(w, r, "", info.ModTime, content)
}

// stat finds a payload's size and modification time. The driver interface
// has no call for one payload's attributes; a listing from the key finds
// it first, as every other key with that prefix sorts after it.
func (s *Signer) stat(ctx context.Context, key string) (*driver.BlobInfo, error) {
	token := ""
	for {
		page, err := s.drv.ListBlobs(ctx, key, token)
		if err != nil {
			return nil, err
		}
		if len(page.Blobs) > 0 {
			if b := page.Blobs[0]; b.Key == key {
				return &b, nil
			}
			return nil, errNotFound
		}
		if page.NextPageToken == "" {
			return nil, errNotFound
		}
		token = page.NextPageToken
	}
}

var errNotFound = errors.New("no payload under this key")

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

// servePut streams the request body into a new payload.
func (s *Signer) servePut(w http.ResponseWriter, r *http.Request, g *grant) {
	ct := r.Header.Get("Content-Type")
	switch {
	case g.contentType != "" && ct != g.contentType:
		http.Error(w, fmt.Sprintf("403 forbidden: the signed URL requires Content-Type %q", g.contentType), http.StatusForbidden)
		return
	case g.createOnly && r.Header.Get("If-None-Match") != "*":
		http.Error(w, "403 forbidden: the signed URL requires If-None-Match: *", http.StatusForbidden)
		return
	case g.size >= 0 && r.ContentLength >= 0 && r.ContentLength != g.size:
		http.Error(w, fmt.Sprintf("403 forbidden: the signed URL requires Content-Length %d", g.size), http.StatusForbidden)
		return
	case g.maxSize > 0 && r.ContentLength > g.maxSize:
		http.Error(w, fmt.Sprintf("413 request entity too large: the signed URL allows at most %d bytes", g.maxSize), http.StatusRequestEntityTooLarge)
		return
	}
	if !s.claim(g.key) {
		http.Error(w, "409 conflict: an upload to this key is in progress", http.StatusConflict)
		return
	}
	defer s.release(g.key)
	ctx := r.Context()
	switch _, err := s.stat(ctx, g.key); {
	case err == nil:
		http.Error(w, "412 precondition failed: a payload exists under this key; payloads are never replaced", http.StatusPreconditionFailed)
		return
	case !errors.Is(err, errNotFound):
		s.driverError(w, err)
		return
	}
	body := &bodyReader{r: r.Body, size: g.size, maxSize: g.maxSize}
	_, err := s.drv.WriteBlob(ctx, g.key, body, &driver.WriteOptions{ContentType: ct, Size: r.ContentLength})
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
		w.WriteHeader(http.StatusOK)
	case errors.Is(body.err, errTooLarge):
		http.Error(w, "413 request entity too large: "+body.err.Error(), http.StatusRequestEntityTooLarge)
	case body.err != nil:
		http.Error(w, "400 bad request: "+body.err.Error(), http.StatusBadRequest)
	default:
		s.driverError(w, err)
	}
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
	code := driver.Unknown
	if errors.Is(err, errNotFound) {
		code = driver.NotFound
	} else if err != nil {
		code = s.drv.ErrorCode(err)
	}
	status := http.StatusInternalServerError
	switch {
	case code == driver.NotFound:
		status = http.StatusNotFound
	case code == driver.AlreadyExists:
		// Another process stored the payload first: the precondition
		// that the key is free failed.
		status = http.StatusPreconditionFailed
	case code == driver.InvalidArgument:
		status = http.StatusBadRequest
	case code == driver.TooLarge:
		status = http.StatusRequestEntityTooLarge
	case code == driver.Corrupt:
		status = http.StatusUnprocessableEntity
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	case code == driver.Unavailable:
		status = http.StatusServiceUnavailable
	}
	// The driver's error may name files or hosts: keep it out of the
	// response.
	http.Error(w, fmt.Sprintf("%d %s: %v", status, http.StatusText(status), code), status)
}

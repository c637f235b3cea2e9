// Package localsign gives backends without a signing service of their own
// (a directory, memory) signed URLs like S3's presigned URLs: time-limited
// links that let anyone holding one download (GET) or upload (PUT) one
// payload without credentials, served by an http.Handler over any
// driver.Driver.
//
// # Use
//
//	signer := localsign.New(drv, secret, "http://127.0.0.1:8080/blobs")
//	http.Handle("/blobs", signer.Handler())
//	u, err := signer.SignedURL(ctx, key, &driver.SignedURLOptions{Method: "GET", Expiry: time.Hour})
//
// Signer.Driver wraps the driver in one whose SignedURL is the Signer's and
// whose Info reports SignsURLs; docblob.Open's sign_url parameter does it
// for any driver that cannot sign URLs itself. The errors SignedURL returns
// are *driver.Error values with code InvalidArgument, which docblob reports
// without asking the wrapped driver's ErrorCode.
//
// # URLs
//
// A signed URL is the base URL with these query parameters:
//
//	k   the payload key
//	m   the method it grants: GET or PUT
//	e   the expiry, in Unix seconds
//	ct  GET: the Content-Type of the response; PUT: the Content-Type the
//	    upload must carry (absent if none)
//	cd  GET: the Content-Disposition of the response (absent if none)
//	sz  PUT: the exact length of the upload in bytes (absent: any)
//	mx  PUT: the largest upload allowed in bytes (absent: no limit)
//	co  PUT: 1 if the upload must carry If-None-Match: * (absent if not)
//	cs  PUT: the SHA-256 the upload must have (SignedURLOptions.SHA256),
//	    base64url-encoded without padding (absent if none)
//	s   the signature: HMAC-SHA256 with the secret over all of the above,
//	    base64url-encoded without padding
//
// The signature covers every parameter (a URL whose key, method, expiry,
// sizes or headers were changed fails), is compared in constant time, and
// is checked before anything else happens (but for CORS preflights, which
// S3 does not authenticate either): a tampered, expired or wrong-method
// request gets 403 Forbidden without the driver being called.
// Duplicated or unknown parameters, numbers in any but their shortest
// decimal form, and signatures and checksums in any but their canonical
// base64url form (no padding, no line breaks, zero unused bits in the last
// character) are refused too, so that no two readings of one URL can
// disagree and each URL has one spelling. The request's path is not
// checked: the handler may be mounted anywhere.
//
// A request may carry any header, but an x-amz-* header that the URL
// does not sign (x-amz-meta-*, x-amz-acl, an x-amz-checksum-* other than
// the x-amz-checksum-sha256 of a URL signed with one; see Uploads), on a
// GET or a PUT, gets 403 AccessDenied naming them in a HeadersNotSigned
// element, before the driver is called, as S3 refuses headers that a
// presigned URL's signature does not cover: code that sends them works
// locally only to fail in production.
//
// Refusals answer as S3 does, with its status codes and an XML body
// (Content-Type application/xml) naming an S3 error code, and for some
// codes the elements S3 adds:
//
//	<Error><Code>SignatureDoesNotMatch</Code><Message>...</Message></Error>
//
// 403 AccessDenied or SignatureDoesNotMatch for a URL that does not
// verify, a request without the headers it binds or with x-amz-* headers
// it does not sign (HeadersNotSigned), 404 NoSuchKey, 409
// ConditionalRequestConflict, 411 MissingContentLength, 412
// PreconditionFailed (Condition, for a GET), 413 EntityTooLarge, 416
// InvalidRange (RangeRequested, ActualObjectSize), 400 BadDigest (a body
// that does not match the signed SHA-256), IncompleteBody or
// InvalidRequest, 500 InternalError and 503 ServiceUnavailable; for CORS
// preflights, 400 BadRequest and 403 AccessForbidden (see
// Signer.AllowOrigins). Driver errors are reduced to their code, so that
// no file name or host reaches the client.
//
// # Downloads
//
// GET streams the payload, with Content-Length, Last-Modified, ETag (see
// Uploads) and Accept-Ranges: bytes. The Content-Type is the signed one,
// or application/octet-stream (never sniffed: X-Content-Type-Options is
// nosniff), so that a payload uploaded by a user is not served as a page
// of the site unless the signer said so. Like S3, the handler serves the
// bytes as stored and does not verify their checksum; docblob's own reads
// do. Finding the size takes a StatBlob call before OpenBlob.
//
// Conditional requests are evaluated first, in the order of RFC 9110, as
// S3 does: an If-Match that holds neither "*" nor the ETag (compared
// strongly), or without If-Match an If-Unmodified-Since before
// Last-Modified, gets 412 PreconditionFailed with an XML body naming the
// header in a Condition element; an If-None-Match that holds "*" or the
// ETag, or without If-None-Match an If-Modified-Since at or after
// Last-Modified, gets 304 Not Modified without a body. Neither opens the
// payload. A date that does not parse is ignored, and so is If-Range
// (payloads never change).
//
// The Range header is read as S3 reads it. One byte range (first-last,
// first- or -suffix) gets 206 Partial Content with Content-Range, and the
// handler reads only that range; a last byte past the end is cut to it.
// A range that starts at or past the end, a suffix of 0 bytes, and any
// range of an empty payload get 416 with the XML error InvalidRange. A
// header S3 does not serve as a range (several ranges, another unit, bad
// syntax, a last byte before the first) is ignored: the whole payload,
// 200 OK, never a multipart/byteranges response.
//
// # Uploads
//
// PUT streams the request body into WriteBlob: memory stays bounded
// whatever the size, and the payload appears only once complete (an upload
// cut short stores nothing). It asks the driver for the payload's SHA-256
// as it arrives (driver.WriteOptions.Checksum), so that the driver's
// StatBlob vouches for it and docblob commits the upload without reading
// it back. If the URL binds a content type, the request
// must carry exactly that Content-Type (403 otherwise); if not, the
// request's Content-Type is passed on. A URL signed with CreateOnly
// requires the header If-None-Match: * (403 otherwise), as S3 does, so
// that a client written against localsign works against S3 too.
//
// A URL signed with a SHA256 (the cs parameter) requires the header
// x-amz-checksum-sha256 with that SHA-256 in standard base64, exactly
// once (403 otherwise, before the driver is called), and the body must
// match it: the handler passes it to WriteBlob as
// driver.WriteOptions.Sum, the driver verifies it, and a body with
// other bytes gets 400 BadDigest, nothing stored. x-amz-checksum-sha256
// is the only x-amz-* header a URL signs: any other, or that one on a URL
// signed without a SHA256, gets 403 AccessDenied (see URLs).
//
// Payloads are immutable in docblob, so a PUT never replaces one, with or
// without CreateOnly: if the key holds a payload, the answer is 412
// Precondition Failed, as S3 answers a conditional PUT. The handler checks
// that the key is free before writing, and refuses a second concurrent
// upload to the same key in the same process with 409 Conflict; whether
// two processes racing for one key are kept apart depends on the driver's
// WriteBlob (filestore and memstore refuse to overwrite; the loser also
// gets 412).
//
// Like S3, the handler wants the body's length first: a PUT without a
// Content-Length (a chunked body, as a client sends a stream of unknown
// length, or over HTTP/1 no body length at all) gets 411 Length Required
// with the XML error MissingContentLength, before the driver is called.
// A URL signed with a Size accepts a body of exactly that many bytes: a
// request whose Content-Length differs is refused with 403 before the
// driver is called. A URL signed with a MaxSize refuses a Content-Length
// above it with 413 Request Entity Too Large, before the driver is
// called; the limits are enforced again on the bytes as they stream to
// the driver, which never gets one past them, and a body shorter than its
// Content-Length (a client that went away) gets 400 IncompleteBody;
// nothing is stored. The expiry is checked when the request arrives; an
// upload that started in time may finish after it, as with S3.
//
// A successful upload answers 200 OK, like S3, with an ETag header and,
// when the payload's SHA-256 is known (the driver recorded it, or the URL
// bound it and the driver verified it), x-amz-checksum-sha256 in standard
// base64. The ETag is the quoted hex of the first 16 bytes of the
// payload's SHA-256: 32 hex digits like S3's ETag of a single PUT, which
// is an MD5, but not an MD5, because the driver already computes the
// SHA-256 as the bytes arrive and an MD5 would cost a second pass over
// them. For a driver that records no SHA-256, the ETag is derived from the
// key, size and modification time instead (payloads are never replaced,
// so these identify the content too). A GET of the payload sends the same
// ETag.
//
// # Browsers
//
// Like an S3 bucket without a CORS configuration, the handler answers no
// CORS preflight (403 AccessForbidden) and adds no CORS headers, so that
// a page served from another origin cannot use its URLs. For local
// development of such a page, Signer.AllowOrigins lets the page's origins
// in: the handler then answers preflights and adds the CORS headers (the
// ETag and x-amz-checksum-sha256 among the headers a script may read) as
// S3 does with the bucket CORS configuration that AllowOrigins documents,
// the one to give the production bucket.
package localsign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docblob/docblob/driver"
)

// Signer makes and verifies signed URLs for the payloads of one driver.
// It is safe for concurrent use.
type Signer struct {
	drv    driver.Driver
	secret []byte
	base   *url.URL
	now    func() time.Time // time.Now, replaced by tests

	mu        sync.Mutex
	uploading map[string]bool // keys with a PUT in progress

	cors atomic.Pointer[corsRules] // nil: CORS off (see AllowOrigins)
}

// New returns a Signer for drv's payloads, signing with secret, for URLs
// under baseURL (an absolute http or https URL without query or fragment,
// where Handler is served). The secret must be at least 32 bytes of
// randomness and is copied. New panics if the secret is shorter or the
// base URL is not of that form: both are configuration errors.
func New(drv driver.Driver, secret []byte, baseURL string) *Signer {
	if len(secret) < 32 {
		panic("localsign: the secret must be at least 32 bytes")
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		panic(fmt.Sprintf("localsign: base URL %q must be an absolute http(s) URL without query or fragment", baseURL))
	}
	return &Signer{
		drv:       drv,
		secret:    append([]byte(nil), secret...),
		base:      u,
		now:       time.Now,
		uploading: map[string]bool{},
	}
}

// grant is what a signed URL allows.
type grant struct {
	key                string
	method             string
	expiry             int64 // Unix seconds
	contentType        string
	contentDisposition string
	size               int64 // PUT: the exact length, or -1 for any
	maxSize            int64 // PUT: the largest length, or 0 for no limit
	createOnly         bool  // PUT: the request must carry If-None-Match: *
	// checksum is, for PUT, the SHA-256 the upload must have, as the cs
	// parameter spells it (canonical base64url without padding), or "".
	checksum string
}

// sha256 returns the SHA-256 a PUT grant binds, or nil.
func (g *grant) sha256() []byte {
	if g.checksum == "" {
		return nil
	}
	b, _ := base64.RawURLEncoding.DecodeString(g.checksum) // checked by SignedURL or verify
	return b
}

// SignedURL returns a URL granting opts.Method on the payload under key
// until opts.Expiry from now. Method is "GET" or "PUT"; ContentDisposition
// is for GET only; Size, MaxSize, SHA256 and CreateOnly are for PUT only
// (and ignored for GET). SHA256, if set, must be 32 bytes. Size is -1 for any length; a MaxSize of 0 means no
// limit, and a MaxSize below Size is refused. nil opts mean a GET valid
// for an hour. Its errors are *driver.Error values with code
// InvalidArgument.
func (s *Signer) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	o := driver.SignedURLOptions{Method: "GET", Expiry: time.Hour}
	if opts != nil {
		o = *opts
	}
	switch {
	case key == "":
		return "", invalidf("empty key")
	case o.Method != "GET" && o.Method != "PUT":
		return "", invalidf("method %q: only GET and PUT can be signed", o.Method)
	case o.Expiry <= 0:
		return "", invalidf("expiry %v is not positive", o.Expiry)
	case o.Method == "PUT" && o.ContentDisposition != "":
		return "", invalidf("a content disposition applies to GET only")
	case o.Method == "PUT" && o.Size < -1:
		return "", invalidf("size %d: must be -1 (any) or at least 0", o.Size)
	case o.Method == "PUT" && o.MaxSize < 0:
		return "", invalidf("maximum size %d: must be 0 (no limit) or positive", o.MaxSize)
	case o.Method == "PUT" && o.MaxSize > 0 && o.Size > o.MaxSize:
		return "", invalidf("size %d exceeds the maximum size %d", o.Size, o.MaxSize)
	case o.Method == "PUT" && o.SHA256 != nil && len(o.SHA256) != sha256.Size:
		return "", invalidf("SHA-256 of %d bytes, want %d", len(o.SHA256), sha256.Size)
	}
	if o.ContentType != "" {
		if _, _, err := mime.ParseMediaType(o.ContentType); err != nil || !headerSafe(o.ContentType) {
			return "", invalidf("content type %q: %v", o.ContentType, err)
		}
	}
	if o.ContentDisposition != "" {
		if _, _, err := mime.ParseMediaType(o.ContentDisposition); err != nil || !headerSafe(o.ContentDisposition) {
			return "", invalidf("content disposition %q: %v", o.ContentDisposition, err)
		}
	}
	// Round the expiry up to a whole second, so the URL lasts at least as
	// long as asked.
	exp := s.now().Add(o.Expiry)
	sec := exp.Unix()
	if exp.Nanosecond() != 0 {
		sec++
	}
	g := grant{key: key, method: o.Method, expiry: sec, contentType: o.ContentType, contentDisposition: o.ContentDisposition, size: -1}
	if o.Method == "PUT" {
		g.size, g.maxSize, g.createOnly = o.Size, o.MaxSize, o.CreateOnly
		if o.SHA256 != nil {
			g.checksum = base64.RawURLEncoding.EncodeToString(o.SHA256)
		}
	}
	u := *s.base
	u.RawQuery = s.query(&g).Encode()
	return u.String(), nil
}

func invalidf(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidArgument, Err: fmt.Errorf("localsign: "+format, args...)}
}

// headerSafe reports whether v can be a header value as is: no control
// characters.
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// query returns the signed URL's parameters for g.
func (s *Signer) query(g *grant) url.Values {
	q := url.Values{
		"k": {g.key},
		"m": {g.method},
		"e": {strconv.FormatInt(g.expiry, 10)},
		"s": {base64.RawURLEncoding.EncodeToString(s.sign(g))},
	}
	if g.contentType != "" {
		q.Set("ct", g.contentType)
	}
	if g.contentDisposition != "" {
		q.Set("cd", g.contentDisposition)
	}
	if v := sizeParam(g.size); v != "" {
		q.Set("sz", v)
	}
	if v := maxSizeParam(g.maxSize); v != "" {
		q.Set("mx", v)
	}
	if g.createOnly {
		q.Set("co", "1")
	}
	if g.checksum != "" {
		q.Set("cs", g.checksum)
	}
	return q
}

// sizeParam is the sz parameter for a grant's size: "" for any.
func sizeParam(n int64) string {
	if n < 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// maxSizeParam is the mx parameter for a grant's maximum size: "" for no
// limit.
func maxSizeParam(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// sign returns the MAC of a grant. The message is a version tag and each
// field prefixed with its length, so that no two grants share a message.
// Each field is the query parameter's value, "" when it is absent, except
// the checksum (cs), which is appended only when present: URLs signed
// before it existed keep their signatures, and a message with it is
// never one without it (the eight fields before it parse the same, and
// one of the two messages then ends).
func (s *Signer) sign(g *grant) []byte {
	m := hmac.New(sha256.New, s.secret)
	co := ""
	if g.createOnly {
		co = "1"
	}
	var b []byte
	b = append(b, "docblob-localsign-v2"...)
	for _, f := range []string{g.method, g.key, strconv.FormatInt(g.expiry, 10), g.contentType, g.contentDisposition,
		sizeParam(g.size), maxSizeParam(g.maxSize), co} {
		b = appendField(b, f)
	}
	if g.checksum != "" {
		b = appendField(b, g.checksum)
	}
	m.Write(b)
	return m.Sum(nil)
}

// appendField appends a field of a MAC's message, prefixed with its
// length.
func appendField(b []byte, f string) []byte {
	b = strconv.AppendInt(b, int64(len(f)), 10)
	b = append(b, ':')
	return append(b, f...)
}

// Reasons a request is refused; they are told to the client, as S3 does.
var (
	errMalformed = errors.New("malformed signed URL")
	errSignature = errors.New("signature does not match")
	errExpired   = errors.New("signed URL has expired")
	errMethod    = errors.New("method not granted by the signed URL")
)

// verify checks a request's method and query against its signature and
// expiry, and returns the grant.
func (s *Signer) verify(method, rawQuery string, now time.Time) (*grant, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errMalformed
	}
	valid := true
	// take removes a parameter from q and returns its value. Each must be
	// given once, with a value, or (if optional) not at all.
	take := func(name string, required bool) string {
		v, ok := q[name]
		delete(q, name)
		if ok && (len(v) != 1 || v[0] == "") || !ok && required {
			valid = false
			return ""
		}
		if ok {
			return v[0]
		}
		return ""
	}
	var g grant
	g.key = take("k", true)
	g.method = take("m", true)
	exp := take("e", true)
	sig := take("s", true)
	g.contentType = take("ct", false)
	g.contentDisposition = take("cd", false)
	sz := take("sz", false)
	mx := take("mx", false)
	co := take("co", false)
	g.checksum = take("cs", false)
	if !valid || len(q) != 0 {
		return nil, errMalformed
	}
	var ok bool
	if g.expiry, ok = parseInt(exp); !ok {
		return nil, errMalformed
	}
	g.size = -1
	if sz != "" {
		if g.size, ok = parseInt(sz); !ok || g.size < 0 {
			return nil, errMalformed
		}
	}
	if mx != "" {
		if g.maxSize, ok = parseInt(mx); !ok || g.maxSize <= 0 {
			return nil, errMalformed
		}
	}
	switch co {
	case "":
	case "1":
		g.createOnly = true
	default:
		return nil, errMalformed
	}
	// The checksum and signature must be spelled as they are encoded: the
	// decoder skips newlines and ignores the last character's unused bits.
	if g.checksum != "" && !canonical(g.checksum) {
		return nil, errMalformed
	}
	if !canonical(sig) {
		return nil, errMalformed
	}
	mac, _ := base64.RawURLEncoding.DecodeString(sig)
	if !hmac.Equal(mac, s.sign(&g)) {
		return nil, errSignature
	}
	if now.Unix() >= g.expiry {
		return nil, errExpired
	}
	if method != g.method {
		return nil, errMethod
	}
	return &g, nil
}

// canonical reports whether v is the canonical base64url encoding, without
// padding, of 32 bytes (a SHA-256 or an HMAC-SHA256): the one spelling
// that encoding them produces.
func canonical(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == sha256.Size && base64.RawURLEncoding.EncodeToString(b) == v
}

// parseInt parses a decimal integer written in its shortest form (no sign
// but a minus, no leading zeros), so that one number has one spelling.
func parseInt(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && strconv.FormatInt(n, 10) == v
}

package docblob

import (
	"context"
	"io"
	"maps"
	"net/http"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// UploadOptions configure NewUpload.
type UploadOptions struct {
	// Expiry is how long the upload URL stays valid. Default 15 minutes;
	// at most half of Options.CommitDeadline, since the document must be
	// written within the commit deadline of the URL's creation.
	Expiry time.Duration
	// ContentType is the Content-Type the client must send, recorded as
	// the payload's type. If empty, the client may send any, and the type
	// is sniffed when Put reads the payload.
	ContentType string
	// Name and Metadata are recorded with the payload, as in BlobOptions.
	Name     string
	Metadata map[string]string
}

// Upload is a direct upload: a signed URL to which a client (a browser, a
// mobile app) sends a payload without it passing through the server, and
// the Blob that stands for that payload in a document.
type Upload struct {
	// URL is where the client sends the payload, with Method and Header.
	URL     string
	Method  string // "PUT"
	Header  http.Header
	Expires time.Time
	// Blob is the attachment to set in the document's field once the
	// client has finished; Put then reads the payload once to record its
	// size and SHA-256, and commits the document.
	Blob *Blob
}

// NewUpload prepares a direct upload of the payload of field in doc (whose
// key fields must be set). After the client has sent the payload to the
// URL, set the field to Upload.Blob and Put the document; Put fails with
// code NotFound if nothing was uploaded. An upload never attached to a
// document is an orphan that Sweep removes. Drivers without signed URLs
// give code Unimplemented (for local backends, see package localsign).
// opts may be nil.
func (s *Store) NewUpload(ctx context.Context, doc any, field string, opts *UploadOptions) (*Upload, error) {
	const op = "new upload"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	d, err := s.locate(op, doc)
	if err != nil {
		return nil, err
	}
	var o UploadOptions
	if opts != nil {
		o = *opts
	}
	if o.Expiry == 0 {
		o.Expiry = 15 * time.Minute
	}
	if o.Expiry < 0 || o.Expiry > s.opts.CommitDeadline/2 {
		return nil, errorf(InvalidArgument, op, d.keyStr, "expiry %v must be positive and at most half the commit deadline (%v)", o.Expiry, s.opts.CommitDeadline)
	}
	if field == "" {
		return nil, errorf(InvalidArgument, op, d.keyStr, "empty field name")
	}
	signer, ok := s.drv.(driver.Signer)
	if !ok {
		return nil, errorf(Unimplemented, op, d.keyStr, "the driver cannot sign URLs")
	}
	key, err := s.freshKey(ctx, op, d, field)
	if err != nil {
		return nil, err
	}
	created := time.Now()
	u, err := signer.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodPut, Expiry: o.Expiry, ContentType: o.ContentType})
	if err != nil {
		return nil, s.wrap(op, d.keyStr, err)
	}
	up := &Upload{URL: u, Method: http.MethodPut, Header: http.Header{}, Expires: created.Add(o.Expiry)}
	if o.ContentType != "" {
		up.Header.Set("Content-Type", o.ContentType)
	}
	up.Blob = &Blob{
		opts:    BlobOptions{Name: o.Name, ContentType: o.ContentType, Metadata: maps.Clone(o.Metadata)},
		pending: &pendingUpload{store: s, key: key, docKey: d.keyStr, field: field, created: created},
	}
	return up, nil
}

// pendingUpload is a payload a client is uploading directly.
type pendingUpload struct {
	store   *Store
	key     string
	docKey  string
	field   string
	created time.Time
}

// adoptUpload reads a directly uploaded payload once, to record its size,
// SHA-256 and (if not given) content type.
func (s *Store) adoptUpload(ctx context.Context, op string, d *document, a *attachment) (*attach.Ref, error) {
	p := a.blob.pending
	if p.store != s || p.docKey != d.keyStr || p.field != a.field {
		return nil, errorf(InvalidArgument, op, d.keyStr, "the upload was made for field %q of document %q; it can only be attached there", p.field, p.docKey)
	}
	rc, err := s.drv.OpenBlob(ctx, p.key, 0, -1)
	if err != nil {
		err = s.wrap(op, d.keyStr, err)
		if Code(err) == NotFound {
			return nil, errorf(NotFound, op, d.keyStr, "nothing was uploaded to the upload URL of field %q", a.field)
		}
		return nil, err
	}
	defer rc.Close()
	ref := &attach.Ref{Key: p.key, Name: a.blob.opts.Name, ContentType: a.blob.opts.ContentType,
		Metadata: a.blob.opts.Metadata, Created: p.created.UTC(), Bucket: s.info.Container}
	hr := newHashingReader(rc)
	head := make([]byte, sniffLen)
	n, err := readUpTo(hr, head)
	if err == nil && n == len(head) {
		_, err = io.Copy(io.Discard, hr)
	}
	if err != nil {
		return nil, s.wrap(op, d.keyStr, err)
	}
	if ref.ContentType == "" {
		ref.ContentType = sniffContentType(head[:n], ref.Name)
	}
	ref.Size, ref.SHA256 = hr.n, hr.h.Sum(nil)
	return ref, nil
}

// readUpTo reads into buf until it is full or r ends, and returns how many
// bytes it read; io.EOF is not an error.
func readUpTo(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

package docblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
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
	// the payload's type. When the commit reads nothing (see Upload), it
	// is recorded as given, whatever the bytes: a download of HTML
	// uploaded as image/png is served as image/png, which browsers never
	// render as a page. When the commit reads the payload, a declared
	// type that displays inline gives way to a sniffed active one, as in
	// BlobOptions.ContentType. If empty, the client may send any type,
	// and the type is sniffed from the first 512 bytes at the commit.
	ContentType string
	// Size, if positive, is the exact number of bytes the client must
	// send: the URL accepts no other length (a signed Content-Length on
	// S3; localsign checks it), and Put checks it again.
	Size int64
	// MaxSize, if positive, is the most bytes the upload may hold. Put
	// refuses a larger upload with code TooLarge. localsign refuses it
	// while it arrives; S3 cannot bound a presigned PUT except exactly, so
	// set Size where the client knows it (a browser's File.size).
	MaxSize int64
	// SHA256, if set, is the SHA-256 the client must send (a browser
	// computes it with crypto.subtle.digest): the URL requires it as the
	// header x-amz-checksum-sha256 (base64, in Header), the backend
	// refuses other bytes, and Put then commits the upload on the
	// backend's word without reading it (see Upload). Give it where the
	// client can: it is what lets an S3 commit skip the read.
	SHA256 []byte
	// ReadOnCommit makes Put read the whole payload to compute its
	// SHA-256 even when the backend vouches for one.
	ReadOnCommit bool
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
	// client has finished; Put then records the payload's size, checksum
	// and type and commits the document. Blob works in the Stores of
	// this process over the same namespace; in other processes, use
	// Token.
	Blob *Blob
	// Token stands for Blob in any process whose store has the same
	// configuration: hand it to the client with the URL, take it back
	// with the client's "done" request, and turn it into the Blob with
	// Store.BlobFromUpload. It is tamper-proof (authenticated with
	// Options.Secret) and good until the commit deadline
	// (Options.CommitDeadline) after NewUpload. It holds no secret but is
	// readable: it names the store's namespace and collection (the
	// DynamoDB region and table), the document key, the field, the payload
	// key, and the upload's name, type, size, checksum and metadata.
	Token string
}

// Committing an upload costs no read of the payload when the backend
// vouches for a checksum of the whole payload: S3 when the client sent
// the SHA-256 bound in the URL (UploadOptions.SHA256) or any full-object
// checksum S3 keeps (a client's CRC32C, or the CRC64NVME that S3
// computes by default for new objects), and localsign (file://, mem://)
// always, as it computes the SHA-256 while the bytes arrive. The
// document then records that checksum, in the backend's algorithm,
// whatever the store's Options.Checksum (see Blob.Checksum); a payload
// read on commit records the store's. Put then asks the
// backend for the payload's size and checksum (one HEAD request on S3)
// and, if UploadOptions.ContentType was not set, reads the first 512
// bytes to sniff the type. Otherwise (S3 without a client checksum, or
// UploadOptions.ReadOnCommit) Put reads the payload once, within its
// context's deadline. A declared ContentType is bound in the URL and
// recorded as given, without sniffing, when nothing is read: browsers
// never render a payload served as an image, PDF or plain text as a page,
// and other types are downloaded (see Blob.SignedURL). When Put reads the
// payload, a declared type gives way to a sniffed active one, as for
// NewBlob.
//
// Direct uploads are create-only: the URL writes its key at most once
// (the client sends "If-None-Match: *", in Header; S3 refuses a second PUT
// with 412 Precondition Failed, and so does localsign), so neither a
// reused URL nor a late retry can replace a payload. A client whose PUT
// response was lost and whose retry gets 412 has uploaded: it should go
// on to commit. A payload committed from an upload is not deleted while
// its URL is valid, even when the document is replaced or deleted (Sweep
// removes it later), so that the freed key can never be written again
// through the old URL. A Put that commits an upload and fails keeps the
// upload, so the commit can be retried; an upload never committed is an
// orphan that Sweep removes after its grace period, by which time the URL
// has expired.
//
// The URL and the token are bearer credentials until they expire: whoever
// holds them can upload (once) and commit, and can replay a commit, which
// attaches the very bytes uploaded to the very document and field it was
// made for (bringing back a replaced or deleted version). Authorize the
// commit request as the upload request, and give the document's revision
// (as the client last saw it) to make the commit conditional: a replay
// then fails with FailedPrecondition. On S3, only Size bounds what the
// URL accepts; MaxSize alone is checked at the commit, so an oversized
// upload is refused then and stays until Sweep.

// NewUpload prepares a direct upload of the payload of field in doc (whose
// key fields must be set). After the client has sent the payload to the
// URL, with Method and Header, set the field to Upload.Blob and Put the
// document; Put fails with code NotFound if nothing was uploaded, and
// keeps the upload if it fails for another reason (retry the Put). An upload never attached to a
// document is an orphan that Sweep removes. Drivers without signed URLs
// give code Unimplemented (for local backends, see package localsign).
// opts may be nil.
func (s *Store) NewUpload(ctx context.Context, doc any, field string, opts *UploadOptions) (_ *Upload, err error) {
	const op = "new upload"
	ctx, sp := s.startSpan(ctx, "NewUpload")
	defer func() { sp.end(err) }()
	exit, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	defer exit()
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
	o.Expiry = (o.Expiry + time.Second - 1).Truncate(time.Second) // backends count whole seconds
	if o.Expiry <= 0 || o.Expiry > s.opts.CommitDeadline/2 || o.Expiry > MaxSignedURLExpiry {
		return nil, errorf(InvalidArgument, op, d.key, "expiry %v must be positive and at most half the commit deadline (%v)", o.Expiry, s.opts.CommitDeadline)
	}
	if err := s.checkUploadField(d, field); err != nil {
		return nil, newError(InvalidArgument, op, d.key, err)
	}
	if s.info.DynamoDBValues && len(o.Metadata) > 0 {
		md := make(map[string]any, len(o.Metadata))
		for k, v := range o.Metadata {
			md[k] = v
		}
		if err := driver.CheckDynamoDBValues(map[string]any{field: map[string]any{"metadata": md}}); err != nil {
			return nil, newError(InvalidArgument, op, d.key, err)
		}
	}
	if err := checkContentType(o.ContentType); err != nil {
		return nil, newError(InvalidArgument, op, d.key, err)
	}
	if o.Size < 0 || o.MaxSize < 0 || (o.Size > 0 && o.MaxSize > 0 && o.Size > o.MaxSize) {
		return nil, errorf(InvalidArgument, op, d.key, "upload size %d and maximum size %d must be non-negative, the size at most the maximum", o.Size, o.MaxSize)
	}
	if o.SHA256 != nil && len(o.SHA256) != sha256.Size {
		return nil, errorf(InvalidArgument, op, d.key, "SHA256 is %d bytes, not %d", len(o.SHA256), sha256.Size)
	}
	if !s.info.SignsURLs {
		// Before freshKey, which may claim the namespace: a store that
		// cannot sign does no work.
		return nil, errorf(Unimplemented, op, d.key, "the driver cannot sign URLs (package localsign signs them for local backends)")
	}
	key, err := s.freshKey(ctx, op, d, field)
	if err != nil {
		return nil, err
	}
	created := s.opts.Now()
	size := o.Size
	if size == 0 {
		size = -1
	}
	u, err := s.drv.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodPut, Expiry: o.Expiry, ContentType: o.ContentType,
		Size: size, MaxSize: o.MaxSize, SHA256: o.SHA256, CreateOnly: true})
	if err != nil {
		return nil, s.wrap(op, d.key, err)
	}
	up := &Upload{URL: u, Method: http.MethodPut, Header: http.Header{}, Expires: created.Add(o.Expiry)}
	up.Header.Set("If-None-Match", "*")
	if o.ContentType != "" {
		up.Header.Set("Content-Type", o.ContentType)
	}
	if o.SHA256 != nil {
		up.Header.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(o.SHA256))
	}
	up.Blob = &Blob{
		opts: BlobOptions{Name: o.Name, ContentType: o.ContentType, Metadata: maps.Clone(o.Metadata)},
		pending: &pendingUpload{ns: s.ns, key: key, docKey: d.key, field: field, created: created, urlExpires: up.Expires,
			size: size, maxSize: o.MaxSize, sha256: bytes.Clone(o.SHA256), readOnCommit: o.ReadOnCommit},
	}
	claims := &uploadClaims{Namespace: s.ns, CollectionID: s.collectionID(), Container: s.info.Container,
		Partition: d.key.Partition, Sort: d.key.Sort, Field: field, Key: key,
		Created: created.UnixNano(), URLExpires: up.Expires.UnixNano(), CommitBy: created.Add(s.opts.CommitDeadline).UnixNano(),
		Size: o.Size, MaxSize: o.MaxSize, SHA256: o.SHA256, ContentType: o.ContentType,
		Name: o.Name, Metadata: o.Metadata, ReadOnCommit: o.ReadOnCommit}
	if up.Token = s.sealUpload(claims); len(up.Token) > maxTokenLen {
		return nil, errorf(InvalidArgument, op, d.key, "the upload's name and metadata make its token %d bytes, over the limit of %d", len(up.Token), maxTokenLen)
	}
	return up, nil
}

// checkUploadField checks that field can hold an attachment of d: a
// *Blob field of a struct document (by its stored name, exactly), or any
// field of a map document but its key and revision fields.
func (s *Store) checkUploadField(d *document, field string) error {
	switch field {
	case "":
		return fmt.Errorf("empty field name")
	case s.info.PartitionKey, s.info.SortKey, s.opts.RevisionField:
		return fmt.Errorf("field %q is a key or revision field", field)
	}
	if !d.v.IsValid() {
		return nil // a map document
	}
	if !slices.Contains(d.g.FieldNames(), field) {
		return fmt.Errorf("%s has no field stored as %q", d.v.Type(), field)
	}
	if v, err := d.g.GetField(field); err != nil {
		return err
	} else if _, ok := v.(*Blob); !ok {
		return fmt.Errorf("field %q of %s is a %T, not a *docblob.Blob", field, d.v.Type(), v)
	}
	return nil
}

// pendingUpload is a payload a client is uploading directly.
type pendingUpload struct {
	ns           string // the namespace of the store that signed it
	key          string
	docKey       Key
	field        string
	created      time.Time
	urlExpires   time.Time
	size         int64  // exact size, or -1
	maxSize      int64  // 0 for none
	sha256       []byte // the checksum bound in the URL, or nil
	readOnCommit bool
}

// adoptUpload records a directly uploaded payload: its size and checksum
// on the backend's word where it vouches for them, else read once.
func (s *Store) adoptUpload(ctx context.Context, op string, d *document, a *attachment) (*attach.Ref, error) {
	p := a.blob.pending
	if p.ns != s.ns {
		return nil, errorf(InvalidArgument, op, d.key, "the upload was made by a store over namespace %q, not this store's %q; it can only be committed there", p.ns, s.ns)
	}
	if p.docKey != d.key || p.field != a.field {
		return nil, errorf(InvalidArgument, op, d.key, "the upload was made for field %q of document %v; it can only be attached there", p.field, p.docKey)
	}
	info, err := s.drv.StatBlob(ctx, p.key)
	if err != nil {
		err = s.wrap(op, d.key, err)
		if Code(err) == NotFound {
			return nil, errorf(NotFound, op, d.key, "nothing was uploaded to the upload URL of field %q", a.field)
		}
		return nil, err
	}
	if err := p.checkSize(op, d.key, a.field, info.Size); err != nil {
		return nil, err
	}
	ref := &attach.Ref{Key: p.key, Name: a.blob.opts.Name, ContentType: a.blob.opts.ContentType,
		Metadata: a.blob.opts.Metadata, Created: p.created.UTC(), Bucket: s.info.Container, UploadUntil: p.urlExpires.UTC()}
	// The backend's word is recorded in the algorithm it vouches for,
	// whichever the store's is (S3 reports the SHA-256 bound in a URL, or
	// the CRC64NVME it computes by default; localsign a SHA-256): reading
	// the payload to compute the store's own would cost what this saves.
	vouched := info.Checksum.Valid()
	if vouched && p.sha256 != nil && info.Checksum.Algorithm == driver.SHA256 && !bytes.Equal(info.Checksum.Sum, p.sha256) {
		return nil, errorf(Corrupt, op, d.key, "the backend holds another SHA-256 for the upload of field %q than its URL was signed for", a.field)
	}
	// A SHA-256 bound in the URL is checked against the backend's
	// SHA-256, or else against the bytes.
	if vouched && !p.readOnCommit && (p.sha256 == nil || info.Checksum.Algorithm == driver.SHA256) {
		ref.Size, ref.Checksum = info.Size, driver.Checksum{Algorithm: info.Checksum.Algorithm, Sum: bytes.Clone(info.Checksum.Sum)}
		if ref.ContentType == "" {
			head, err := s.readHead(ctx, op, d, p.key, info.Size)
			if err != nil {
				return nil, err
			}
			ref.ContentType = sniffContentType(head, ref.Name)
		}
		return ref, nil
	}
	return s.readUpload(ctx, op, d, a, ref, info)
}

// checkSize checks an upload's size against what its URL allowed.
func (p *pendingUpload) checkSize(op string, key Key, field string, n int64) error {
	switch {
	case p.maxSize > 0 && n > p.maxSize:
		return errorf(TooLarge, op, key, "the upload of field %q holds more than its maximum size of %d bytes", field, p.maxSize)
	case p.size >= 0 && n != p.size:
		return errorf(InvalidArgument, op, key, "the upload of field %q holds %d bytes, not the %d its URL was signed for", field, n, p.size)
	}
	return nil
}

// readHead reads the first bytes of an upload, enough to sniff its type.
func (s *Store) readHead(ctx context.Context, op string, d *document, key string, size int64) ([]byte, error) {
	n := min(size, sniffLen)
	if n == 0 {
		return nil, nil
	}
	rc, err := s.drv.OpenBlob(ctx, key, 0, n, nil)
	if err != nil {
		return nil, s.wrap(op, d.key, err)
	}
	defer rc.Close()
	head := make([]byte, n)
	m, err := readUpTo(rc, head)
	if err != nil {
		return nil, s.wrap(op, d.key, err)
	}
	return head[:m], nil
}

// readUpload reads a directly uploaded payload once, to record its size,
// SHA-256 and (if not given) content type.
func (s *Store) readUpload(ctx context.Context, op string, d *document, a *attachment, ref *attach.Ref, info *driver.BlobInfo) (*attach.Ref, error) {
	p := a.blob.pending
	rc, err := s.drv.OpenBlob(ctx, p.key, 0, -1, nil)
	if err != nil {
		return nil, s.wrap(op, d.key, err)
	}
	defer rc.Close()
	var src io.Reader = rc
	if p.maxSize > 0 {
		src = io.LimitReader(rc, p.maxSize+1) // enough to tell it is too large
	}
	// Recorded: the checksum the backend vouches for, checked against the
	// bytes, or else the store's.
	alg := s.alg
	if info.Checksum.Valid() {
		alg = info.Checksum.Algorithm
	}
	hr := newHashingReader(src, alg, p.sha256 != nil)
	head := make([]byte, sniffLen)
	n, err := readUpTo(hr, head)
	if err == nil && n == len(head) {
		_, err = io.Copy(io.Discard, hr)
	}
	if err != nil {
		return nil, s.wrap(op, d.key, err)
	}
	if err := p.checkSize(op, d.key, a.field, hr.n); err != nil {
		return nil, err
	}
	sum := hr.h.Sum(nil)
	if (p.sha256 != nil && !bytes.Equal(hr.sha.Sum(nil), p.sha256)) || (info.Checksum.Valid() && !bytes.Equal(sum, info.Checksum.Sum)) {
		return nil, errorf(Corrupt, op, d.key, "the upload of field %q does not match the checksum it was signed or stored with", a.field)
	}
	ref.ContentType = resolveContentType(ref.ContentType, sniffContentType(head[:n], ref.Name))
	ref.Size, ref.Checksum = hr.n, driver.Checksum{Algorithm: alg, Sum: sum}
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

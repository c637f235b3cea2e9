package docblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// Ownership
//
// A store owns one namespace of payload keys, and only that namespace:
//
//	Options.BlobPrefix + Info.Collection + ".docblob/"
//
// for example "invoices.docblob/" for a DynamoDB table "invoices" with no
// prefix. BlobPrefix is "" or ends in "/", and none of its path segments
// may end in ".docblob". So the final ".docblob" segment appears only at
// the end of a namespace, and two different namespaces are never nested:
// no store can list, sweep or delete inside another's, whatever the
// prefixes and collection names.
//
// Two stores over the same collection name but different collections (a
// table of the same name in another region or account, sharing a bucket)
// would share a namespace. The namespace's owner marker (the object
// namespace + attach.OwnerMarker) records Info.CollectionID; a store
// creates it before its first payload write, Sweep or Check, and refuses
// to use a namespace whose marker names another collection.
//
// Inside the namespace every document has its own sub-namespace per
// attachment field, partition/sort/field/ (escaped key parts), and a
// payload key is that plus an id. A stored attachment is honoured (read,
// signed, copied, kept or deleted as a payload) only if its key is in the
// sub-namespace of the very document and field that record it: honour is
// the one place that decides. Anything else that looks like an attachment
// is data, never a reference.

// namespaceSuffix ends every store's namespace.
const namespaceSuffix = ".docblob/"

// maxCollection bounds the length of Info.Collection.
const maxCollection = 255 // DynamoDB's limit on table names

// storeNamespace returns the namespace of a store with the given prefix
// over the driver described by info, or an error naming the fix.
func storeNamespace(prefix string, info driver.Info) (string, error) {
	if err := checkBlobPrefix(prefix); err != nil {
		return "", err
	}
	c := info.Collection
	if c == "" {
		c = "default"
	}
	if len(c) > maxCollection || strings.Trim(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" || c == "." || c == ".." {
		return "", fmt.Errorf("driver reports collection name %q: want 1 to %d letters, digits, '.', '-' or '_'", c, maxCollection)
	}
	return prefix + c + namespaceSuffix, nil
}

// checkBlobPrefix checks Options.BlobPrefix.
func checkBlobPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("BlobPrefix %q must end with \"/\" (for example %q), so that no other store's namespace can begin with it", p, p+"/")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Errorf("BlobPrefix %q has an empty, \".\" or \"..\" segment", p)
		case strings.HasSuffix(seg, strings.TrimSuffix(namespaceSuffix, "/")):
			return fmt.Errorf("BlobPrefix %q has a segment ending in %q, which marks store namespaces", p, strings.TrimSuffix(namespaceSuffix, "/"))
		case strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'()") != "":
			return fmt.Errorf("BlobPrefix %q: segment %q may hold only letters, digits and !-_.*'()", p, seg)
		}
	}
	return nil
}

// Namespace returns the prefix of every payload key the store owns (see the
// package documentation, Ownership). Sweep and Check look only inside it.
func (s *Store) Namespace() string { return s.ns }

// docPrefix returns the sub-namespace of one attachment field of one
// document: every payload key of that field begins with it, followed by an
// id.
func (s *Store) docPrefix(k driver.Key, field string) string {
	partition, f := keySegment(k.Partition), keySegment(field)
	var b strings.Builder
	b.Grow(len(s.ns) + len(partition) + len(f) + 3 + 2*maxSegment)
	b.WriteString(s.ns)
	b.WriteString(partition)
	b.WriteByte('/')
	if s.info.SortKey != "" {
		b.WriteString(keySegment(k.Sort))
		b.WriteByte('/')
	}
	b.WriteString(f)
	b.WriteByte('/')
	return b.String()
}

// owns reports whether payloadKey is a payload key of field of the
// document k in this store.
// It compares segment by segment, so that checking the attachments of
// every document read allocates nothing.
func (s *Store) owns(k driver.Key, field, payloadKey string) bool {
	rest, ok := strings.CutPrefix(payloadKey, s.ns)
	if !ok {
		return false
	}
	parts := [3]string{k.Partition, k.Sort, field}
	for i, part := range parts {
		if i == 1 && s.info.SortKey == "" {
			continue
		}
		if rest, ok = strings.CutPrefix(rest, keySegment(part)); !ok || !strings.HasPrefix(rest, "/") {
			return false
		}
		rest = rest[1:]
	}
	return isID(rest)
}

// honour decodes the value v of field in the stored document k if it is an
// attachment this store honours: inline, or with a payload key in the
// document's own sub-namespace for that field. It returns (nil, nil) for a
// value that is not marked as an attachment, and errForeign for one that
// is marked but records a payload outside that sub-namespace (written by
// another tool or store, or forged): such a value is data, never a
// reference. A malformed attachment is an error.
func (s *Store) honour(k driver.Key, field string, v any) (*attach.Ref, error) {
	if !attach.Is(v) {
		return nil, nil
	}
	ref, err := attach.Decode(v)
	if err != nil {
		return nil, err
	}
	if !ref.IsInline && !s.owns(k, field, ref.Key) {
		return nil, errForeign
	}
	return ref, nil
}

// errForeign marks an attachment-shaped value that this store does not
// honour.
var errForeign = fmt.Errorf("it records a payload outside the document's own namespace (written by another tool or store, forged, or written before payload namespaces; see Ownership in the package documentation), so it is kept as data and never read, signed, copied or deleted as a payload")

// references returns the keys of the payloads that the fields of document
// k reference and this store honours.
func (s *Store) references(k driver.Key, fields map[string]any) []string {
	var keys []string
	for field, v := range fields {
		if ref, err := s.honour(k, field, v); err == nil && ref != nil && !ref.IsInline {
			keys = append(keys, ref.Key)
		}
	}
	return keys
}

// releasable returns the keys of the payloads that the fields of document
// k reference and that may be deleted now that the document no longer
// references them: all but direct uploads whose URL is still valid, since
// deleting one would free its key for the URL to create again (a stale
// link overwriting a newer payload, or bringing back a deleted document
// with a replayed token). Those are left to Sweep, whose grace period
// outlasts every upload URL.
func (s *Store) releasable(k driver.Key, fields map[string]any) []string {
	var keys []string
	now := s.opts.Now()
	for field, v := range fields {
		if ref, err := s.honour(k, field, v); err == nil && ref != nil && !ref.IsInline && !now.Before(ref.UploadUntil) {
			keys = append(keys, ref.Key)
		}
	}
	return keys
}

// isPayloadKey reports whether key is a payload key of this store: the
// namespace, the escaped key parts and field, and an id.
func (s *Store) isPayloadKey(key string) bool {
	rest, ok := strings.CutPrefix(key, s.ns)
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	want := 3
	if s.info.SortKey != "" {
		want = 4
	}
	if len(parts) != want || !isID(parts[len(parts)-1]) {
		return false
	}
	for _, p := range parts[:len(parts)-1] {
		if p == "" {
			return false
		}
	}
	return true
}

// freshKey returns a new payload key for field of document d, after
// making sure that the namespace is the store's own.
func (s *Store) freshKey(ctx context.Context, op string, d *document, field string) (string, error) {
	if err := s.claimNamespace(ctx, op); err != nil {
		return "", err
	}
	key, err := s.newBlobKey(d.key, field)
	if err != nil {
		return "", newError(TooLarge, op, d.key, err)
	}
	return key, nil
}

// ownerState remembers that the store's namespace marker was checked.
type ownerState struct {
	mu      sync.Mutex
	checked bool
}

// ownerRecord is the content of the namespace's owner marker.
func (s *Store) ownerRecord() []byte {
	return []byte("docblob namespace owner\ncollection: " + s.collectionID() + "\n")
}

// maxOwnerRecord bounds how much of a marker is read.
const maxOwnerRecord = 4096

// ClaimNamespace makes sure that the store's payload namespace is its own:
// it reads the namespace's owner marker, creating it if absent (one or
// three requests), and fails with code FailedPrecondition if the marker
// names another collection. A Store does this once, before its first
// payload write, NewUpload, Sweep or Check (and again after a failure);
// call it at start-up to find a misconfigured store before serving
// requests.
func (s *Store) ClaimNamespace(ctx context.Context) (err error) {
	ctx, sp := s.startSpan(ctx, "ClaimNamespace")
	defer func() { sp.end(err) }()
	exit, err := s.enter("claim namespace")
	if err != nil {
		return err
	}
	defer exit()
	return s.claimNamespace(ctx, "claim namespace")
}

func (s *Store) claimNamespace(ctx context.Context, op string) error {
	s.owner.mu.Lock()
	defer s.owner.mu.Unlock()
	if s.owner.checked {
		return nil
	}
	key := s.ns + attach.OwnerMarker
	want := s.ownerRecord()
	got, err := s.readMarker(ctx, key)
	if err != nil && s.errorCode(err) == NotFound {
		sum := sha256.Sum256(want)
		_, werr := s.drv.WriteBlob(ctx, key, bytes.NewReader(want), &driver.WriteOptions{ContentType: "text/plain; charset=utf-8", Size: int64(len(want)), Checksum: driver.SHA256, Sum: sum[:]})
		// Read it back, whether or not the write failed: of stores
		// creating it at once, the last writer wins on some backends,
		// and on others the rest fail, with AlreadyExists or, from a
		// driver that cannot tell another's object from its own
		// re-sent attempt, Unknown. The write's error stands only if
		// there is no marker to read.
		got, err = s.readMarker(ctx, key)
		if err != nil && werr != nil {
			return s.wrap(op, noKey, fmt.Errorf("creating the owner marker %q of namespace %q: %w", key, s.ns, werr))
		}
	}
	if err != nil {
		return s.wrap(op, noKey, fmt.Errorf("reading the owner marker %q of namespace %q: %w", key, s.ns, err))
	}
	if !bytes.Equal(got, want) {
		return errorf(FailedPrecondition, op, noKey,
			"payload namespace %q belongs to another collection (its marker %q records %q, this store is %q): if that is another table, give this store its own Options.BlobPrefix (URL parameter prefix); if it is this same table under another identity (a global table's other region, say), make the driver's collection id match it (s3dynamo: collection_id)",
			s.ns, key, strings.TrimSpace(string(got)), strings.TrimSpace(string(want)))
	}
	s.owner.checked = true
	return nil
}

func (s *Store) readMarker(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.drv.OpenBlob(ctx, key, 0, -1, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxOwnerRecord))
}

// payloadOwner returns the key of the document whose sub-namespace holds
// payloadKey, a payload key of this store (isPayloadKey), decoded from the
// key's escaped segments; ok is false if a segment is a hash of a long
// key part, whose document cannot be named from the key alone.
func (s *Store) payloadOwner(payloadKey string) (k driver.Key, ok bool) {
	parts := strings.Split(strings.TrimPrefix(payloadKey, s.ns), "/")
	if k.Partition, ok = unescapeSegment(parts[0]); !ok {
		return driver.Key{}, false
	}
	if s.info.SortKey != "" {
		if k.Sort, ok = unescapeSegment(parts[1]); !ok {
			return driver.Key{}, false
		}
	}
	return k, true
}

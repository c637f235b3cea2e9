package docblob

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Upload tokens
//
// An upload token carries a pending direct upload from the request that
// signed its URL to the request that commits it, in any process with the
// same store configuration. It is
//
//	"u1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256(key, "u1." + base64url(JSON claims)))
//
// where key is derived from Options.Secret. The claims name the store's
// namespace and collection, the document key, the field, the payload key,
// when the upload was created and until when it may be committed, and the
// size, checksum, type, name and metadata the upload was signed for. No
// secret is in it; it is readable by whoever holds it, and changing any
// byte of it makes it invalid.

// tokenPrefix starts every upload token, naming its format.
const tokenPrefix = "u1."

// minSecretLen is the least length of Options.Secret.
const minSecretLen = 32

// maxTokenLen bounds an upload token; NewUpload refuses an upload whose
// token would be longer (its metadata is too large).
const maxTokenLen = 8 << 10

// tokenChars reports whether t holds only the characters of a token
// (base64url and '.'), so that a token has one spelling: the base64
// decoder would skip line breaks.
func tokenChars(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// uploadClaims are the contents of an upload token.
type uploadClaims struct {
	Namespace    string            `json:"ns"`
	CollectionID string            `json:"cid"`
	Container    string            `json:"b,omitempty"`
	Partition    string            `json:"p"`
	Sort         string            `json:"s,omitempty"`
	Field        string            `json:"f"`
	Key          string            `json:"k"`
	Created      int64             `json:"c"` // Unix nanoseconds
	URLExpires   int64             `json:"x"` // Unix nanoseconds
	CommitBy     int64             `json:"e"` // Unix nanoseconds
	Size         int64             `json:"sz,omitempty"`
	MaxSize      int64             `json:"mx,omitempty"`
	SHA256       []byte            `json:"h,omitempty"`
	ContentType  string            `json:"ct,omitempty"`
	Name         string            `json:"n,omitempty"`
	Metadata     map[string]string `json:"md,omitempty"`
	ReadOnCommit bool              `json:"r,omitempty"`
}

// deriveKey derives a key for one purpose from the store's secret, so
// that a token key never signs URLs and the other way round.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("docblob " + purpose))
	return m.Sum(nil)
}

// randomSecret returns a new random secret, for stores configured
// without one: their tokens are good in their own process only.
func randomSecret() []byte {
	b := make([]byte, minSecretLen)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// sealUpload makes the token of an upload.
func (s *Store) sealUpload(c *uploadClaims) string {
	raw, _ := json.Marshal(c) // plain data: cannot fail
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.tokenMAC(body))
}

func (s *Store) tokenMAC(body string) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// openUpload checks a token's format and signature and returns its
// claims. It does not check the claims against the store.
func (s *Store) openUpload(token string) (*uploadClaims, error) {
	const op = "upload token"
	body, sig, ok := strings.Cut(strings.TrimPrefix(token, tokenPrefix), ".")
	if !ok || !strings.HasPrefix(token, tokenPrefix) || len(token) > maxTokenLen || !tokenChars(token) {
		return nil, errorf(InvalidArgument, op, noKey, "malformed upload token")
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.tokenMAC(tokenPrefix+body)) {
		return nil, errorf(PermissionDenied, op, noKey, "the upload token's signature does not match: it was altered, or made by a store with another Options.Secret")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	var c uploadClaims
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		return nil, errorf(InvalidArgument, op, noKey, "malformed upload token: %v", err)
	}
	return &c, nil
}

// BlobFromUpload returns the Blob of a direct upload from its token
// (Upload.Token), in this process or any other whose store has the same
// configuration (the same collection, blob storage and Options.Secret).
// Set the document field the upload was made for to it and Put the
// document to commit the upload, as with Upload.Blob.
//
// A token that was altered or made with another secret fails with code
// PermissionDenied; a token of another store, with code InvalidArgument;
// a token past its commit deadline (Options.CommitDeadline after
// NewUpload), with code FailedPrecondition: the upload is then left to
// Sweep and the client must upload again. Put refuses the Blob in any
// field or document but the one it was made for (InvalidArgument).
// BlobFromUpload makes no request.
func (s *Store) BlobFromUpload(token string) (*Blob, error) {
	const op = "upload token"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	c, err := s.openUpload(token)
	if err != nil {
		return nil, err
	}
	key := Key{Partition: c.Partition, Sort: c.Sort}
	switch {
	case c.Namespace != s.ns || c.CollectionID != s.collectionID() || c.Container != s.info.Container:
		return nil, errorf(InvalidArgument, op, key, "the upload token belongs to another store (namespace %q of collection %q in %q, not %q of %q in %q)",
			c.Namespace, c.CollectionID, c.Container, s.ns, s.collectionID(), s.info.Container)
	case !s.owns(key, c.Field, c.Key):
		return nil, errorf(InvalidArgument, op, key, "the upload token's payload key is outside its document's namespace")
	case !s.opts.Now().Before(time.Unix(0, c.CommitBy)):
		return nil, errorf(FailedPrecondition, op, key, "the upload token expired at %v (the commit deadline after the upload was signed); upload again",
			time.Unix(0, c.CommitBy).UTC().Format(time.RFC3339))
	}
	if c.Size < 0 || c.MaxSize < 0 || (c.SHA256 != nil && len(c.SHA256) != sha256.Size) {
		return nil, errorf(InvalidArgument, op, key, "malformed upload token: bad size or checksum")
	}
	size := c.Size
	if size == 0 {
		size = -1
	}
	return &Blob{
		opts: BlobOptions{Name: c.Name, ContentType: c.ContentType, Metadata: c.Metadata},
		pending: &pendingUpload{ns: s.ns, key: c.Key, docKey: key, field: c.Field, created: time.Unix(0, c.Created), urlExpires: time.Unix(0, c.URLExpires),
			size: size, maxSize: c.MaxSize, sha256: c.SHA256, readOnCommit: c.ReadOnCommit},
	}, nil
}

// collectionID is the store's collection as recorded in owner markers.
func (s *Store) collectionID() string {
	if s.info.CollectionID != "" {
		return s.info.CollectionID
	}
	return s.info.Collection
}

// secretError checks a configured secret.
func secretError(secret []byte) error {
	if secret != nil && len(secret) < minSecretLen {
		return fmt.Errorf("Options.Secret is %d bytes; it must be at least %d bytes of randomness", len(secret), minSecretLen)
	}
	return nil
}

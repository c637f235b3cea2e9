// Package attach defines how an attachment is recorded inside a document:
// a map field of plain attributes that a person reading the item with a
// backend's own tools can understand. The portable layer, memtest and the
// conformance suite share it.
package attach

import (
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/docblob/docblob/driver"
)

// Attribute names of an attachment map.
const (
	AttrVersion     = "docblob" // format version; its presence marks an attachment
	AttrBucket      = "bucket"
	AttrKey         = "key"
	AttrSize        = "size"
	AttrContentType = "content_type"
	// A payload's checksum is recorded under the name of its algorithm,
	// in lowercase hex: exactly one of AttrSHA256 (64 digits), AttrCRC32C
	// (8) and AttrCRC64NVME (16).
	AttrSHA256    = string(driver.SHA256)
	AttrCRC32C    = string(driver.CRC32C)
	AttrCRC64NVME = string(driver.CRC64NVME)
	AttrETag      = "etag"
	AttrName      = "name"
	AttrCreated   = "created"
	AttrMetadata  = "metadata"
	AttrData      = "data" // inline payloads only
	// AttrUploadUntil is, for a payload a client uploaded directly, when
	// its upload URL expires: until then the store never deletes the
	// payload (which would free its key for the URL to write again).
	AttrUploadUntil = "upload_until"
)

// OwnerMarker is the name, inside a store's payload namespace, of the
// object that records which document collection owns the namespace. It is
// never a payload key (payload keys have path segments after the
// namespace).
const OwnerMarker = ".docblob-owner"

// IsOwnerMarker reports whether a blob key names a namespace's owner
// marker.
func IsOwnerMarker(key string) bool {
	i := strings.LastIndexByte(key, '/')
	return key[i+1:] == OwnerMarker
}

// Version is the current attachment format version.
const Version int64 = 1

// Ref is the stored description of one payload.
type Ref struct {
	Bucket      string // the driver's container, if any
	Key         string // the payload's storage key; "" for an inline payload
	Size        int64
	ContentType string
	Checksum    driver.Checksum // valid: a known algorithm and a sum of its size
	ETag        string
	Name        string
	Created     time.Time
	Metadata    map[string]string
	Inline      []byte // the payload itself, when kept in the document
	IsInline    bool
	UploadUntil time.Time // a direct upload's URL expiry; zero for others
}

// Encode returns the attachment map for r.
func (r *Ref) Encode() map[string]any {
	// Sized for every attribute r has, so that the map never grows.
	n := 6
	for _, present := range []bool{r.Bucket != "" && !r.IsInline, r.ETag != "", r.Name != "", len(r.Metadata) > 0, !r.UploadUntil.IsZero()} {
		if present {
			n++
		}
	}
	m := make(map[string]any, n)
	m[AttrVersion] = Version
	m[AttrSize] = r.Size
	m[AttrContentType] = r.ContentType
	var sum [64]byte // room for a SHA-256 in hex
	m[string(r.Checksum.Algorithm)] = string(hex.AppendEncode(sum[:0], r.Checksum.Sum))
	m[AttrCreated] = r.Created.UTC().Format(time.RFC3339Nano)
	if r.IsInline {
		data := r.Inline
		if data == nil {
			data = []byte{}
		}
		m[AttrData] = data
	} else {
		m[AttrKey] = r.Key
		if r.Bucket != "" {
			m[AttrBucket] = r.Bucket
		}
	}
	if r.ETag != "" {
		m[AttrETag] = r.ETag
	}
	if r.Name != "" {
		m[AttrName] = r.Name
	}
	if !r.UploadUntil.IsZero() {
		m[AttrUploadUntil] = r.UploadUntil.UTC().Format(time.RFC3339Nano)
	}
	if len(r.Metadata) > 0 {
		md := make(map[string]any, len(r.Metadata))
		for k, v := range r.Metadata {
			md[k] = v
		}
		m[AttrMetadata] = md
	}
	return m
}

// Is reports whether v is an attachment map.
func Is(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[AttrVersion]
	return ok
}

// Decode parses an attachment map. It fails on a map that is marked as an
// attachment but malformed.
func Decode(v any) (*Ref, error) {
	m, ok := v.(map[string]any)
	if !ok || !Is(m) {
		return nil, fmt.Errorf("not an attachment (%T)", v)
	}
	if ver, ok := toInt(m[AttrVersion]); !ok || ver != Version {
		return nil, fmt.Errorf("unsupported attachment format version %v", m[AttrVersion])
	}
	// The Ref and the bytes of its checksum in one allocation.
	rs := &struct {
		Ref
		sum [maxSumSize]byte
	}{}
	r := &rs.Ref
	var err error
	str := func(name string, required bool) string {
		s, ok := m[name].(string)
		if !ok && (required || m[name] != nil) && err == nil {
			err = fmt.Errorf("attachment attribute %q: want a string, have %T", name, m[name])
		}
		return s
	}
	size, ok := toInt(m[AttrSize])
	if !ok || size < 0 {
		return nil, fmt.Errorf("attachment attribute %q: want a non-negative integer, have %v", AttrSize, m[AttrSize])
	}
	r.Size = size
	r.ContentType = str(AttrContentType, false)
	alg, sum, cerr := checksumAttr(m)
	if cerr != nil {
		return nil, cerr
	}
	r.ETag = str(AttrETag, false)
	r.Name = str(AttrName, false)
	r.Bucket = str(AttrBucket, false)
	created := str(AttrCreated, false)
	uploadUntil := str(AttrUploadUntil, false)
	if data, present := m[AttrData]; present {
		b, ok := data.([]byte)
		if !ok {
			return nil, fmt.Errorf("attachment attribute %q: want bytes, have %T", AttrData, data)
		}
		r.Inline, r.IsInline = b, true
		if int64(len(b)) != r.Size {
			return nil, fmt.Errorf("inline attachment holds %d bytes, records %d", len(b), r.Size)
		}
	} else {
		r.Key = str(AttrKey, true)
		if r.Key == "" && err == nil {
			err = fmt.Errorf("attachment has neither %q nor %q", AttrKey, AttrData)
		}
	}
	if err != nil {
		return nil, err
	}
	r.Checksum.Algorithm = alg
	n := alg.Size()
	if n > len(rs.sum) || !decodeHex(rs.sum[:n], sum) {
		return nil, fmt.Errorf("attachment attribute %q: %q is not %d hex digits", alg, sum, 2*n)
	}
	r.Checksum.Sum = rs.sum[:n:n]
	if created != "" {
		if r.Created, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("attachment attribute %q: %w", AttrCreated, err)
		}
	}
	if uploadUntil != "" {
		if r.UploadUntil, err = time.Parse(time.RFC3339Nano, uploadUntil); err != nil {
			return nil, fmt.Errorf("attachment attribute %q: %w", AttrUploadUntil, err)
		}
	}
	if md, ok := m[AttrMetadata].(map[string]any); ok {
		r.Metadata = make(map[string]string, len(md))
		for k, v := range md {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("attachment metadata %q: want a string, have %T", k, v)
			}
			r.Metadata[k] = s
		}
	}
	return r, nil
}

// checksumAttr returns the one checksum attribute of an attachment map:
// its algorithm and its text. A map with none, with more than one, or
// with one that is not a string is malformed.
func checksumAttr(m map[string]any) (driver.ChecksumAlgorithm, string, error) {
	var alg driver.ChecksumAlgorithm
	var text string
	for _, a := range driver.ChecksumAlgorithms {
		v, present := m[string(a)]
		if !present {
			continue
		}
		if alg != "" {
			return "", "", fmt.Errorf("attachment has two checksums, %q and %q", alg, a)
		}
		s, ok := v.(string)
		if !ok {
			return "", "", fmt.Errorf("attachment attribute %q: want a string, have %T", a, v)
		}
		alg, text = a, s
	}
	if alg == "" {
		return "", "", fmt.Errorf("attachment has no checksum (%q, %q or %q)", AttrSHA256, AttrCRC32C, AttrCRC64NVME)
	}
	return alg, text, nil
}

// Keys returns the storage keys of the non-inline attachments among the
// top-level fields, skipping malformed ones.
func Keys(fields map[string]any) []string {
	var keys []string
	for _, v := range fields {
		if !Is(v) {
			continue
		}
		if r, err := Decode(v); err == nil && !r.IsInline {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// Clone returns a copy of r sharing no mutable memory with it.
func (r *Ref) Clone() *Ref {
	c := *r
	c.Checksum.Sum = append([]byte(nil), r.Checksum.Sum...)
	if r.Inline != nil {
		c.Inline = append([]byte{}, r.Inline...)
	}
	c.Metadata = maps.Clone(r.Metadata)
	return &c
}

// maxSumSize is the size of the largest checksum (SHA-256).
const maxSumSize = 32

// decodeHex decodes the hex digits s, of either case, into dst, which
// they must fill exactly, as hex.DecodeString would but without
// allocating. It reports whether s was such digits.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}

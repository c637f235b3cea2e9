package docblob

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
)

// documentKey extracts and validates the key of an encoded document.
func (s *Store) documentKey(fields map[string]any) (driver.Key, error) {
	var k driver.Key
	var err error
	if k.Partition, err = s.keyPart(fields, s.info.PartitionKey, s.info.MaxPartitionKeyBytes); err != nil {
		return k, err
	}
	if s.info.SortKey != "" {
		if k.Sort, err = s.keyPart(fields, s.info.SortKey, s.info.MaxSortKeyBytes); err != nil {
			return k, err
		}
	}
	return k, nil
}

func (s *Store) keyPart(fields map[string]any, name string, max int) (string, error) {
	v, ok := fields[name]
	if !ok {
		return "", fmt.Errorf("document has no key field %q (tag a string field `docstore:%q`)", name, name)
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("key field %q holds %T, want a string", name, v)
	}
	return str, validateKeyPart(name, str, max)
}

func validateKeyPart(name, v string, max int) error {
	switch {
	case v == "":
		return fmt.Errorf("key field %q is empty", name)
	case !utf8.ValidString(v):
		return fmt.Errorf("key field %q is not valid UTF-8", name)
	case max > 0 && len(v) > max:
		return fmt.Errorf("key field %q is %d bytes, over the backend's limit of %d", name, len(v), max)
	}
	return nil
}

// newBlobKey returns a storage key that has never held a payload:
// namespace/partition/sort/field/id, each part escaped so that keys are plain
// ASCII without path tricks, and long parts replaced by a hash. The id is
// time-ordered and random.
func (s *Store) newBlobKey(k driver.Key, field string) (string, error) {
	if field == "" {
		return "", fmt.Errorf("an attachment field has an empty name")
	}
	key := s.docPrefix(k, field) + newID()
	if max := s.info.MaxBlobKeyBytes; max > 0 && len(key) > max {
		return "", fmt.Errorf("payload key of %d bytes exceeds the backend's limit of %d (shorten BlobPrefix)", len(key), max)
	}
	return key, nil
}

// maxSegment bounds one escaped part of a payload key.
const maxSegment = 120

// keySegment escapes s for use in a payload key: ASCII letters, digits,
// '-' and '_' stay, every other byte becomes %XX; a result longer than
// maxSegment is replaced by "~" and a hash of s.
func keySegment(s string) string {
	n := 0 // the escaped length
	for i := 0; i < len(s); i++ {
		if keepInKey(s[i]) {
			n++
		} else {
			n += 3
		}
	}
	switch {
	case n > maxSegment:
		sum := sha256.Sum256([]byte(s))
		return "~" + hex.EncodeToString(sum[:16])
	case n == len(s):
		return s // nothing to escape
	}
	const upperHex = "0123456789ABCDEF"
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; keepInKey(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return string(b)
}

// keepInKey reports whether keySegment keeps the byte c as it is.
func keepInKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// idLen is the length of the ids that newID returns.
const idLen = 26

// newID returns a unique id: 48 bits of milliseconds since the epoch, then
// 80 random bits, in lowercase base32hex (idLen characters, sorting by
// time).
func newID() string {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(buf[6:]); err != nil {
		panic("docblob: crypto/rand failed: " + err.Error())
	}
	var id [idLen]byte
	idEncoding.Encode(id[:], buf[:])
	return string(id[:])
}

// unescapeSegment reverses keySegment: it returns the key part that seg
// is the escape of, and false if seg is a hash ("~" and a hash of a long
// part, which cannot be reversed) or is not an escape keySegment makes.
// The escape is reversible because keySegment keeps only letters, digits,
// '-' and '_' and writes every other byte as %XX (uppercase hex), so '%'
// and '~' never stand for themselves.
func unescapeSegment(seg string) (string, bool) {
	if seg == "" || seg[0] == '~' || len(seg) > maxSegment {
		return "", false
	}
	b := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case keepInKey(c):
			b = append(b, c)
		case c == '%' && i+2 < len(seg) && isUpperHex(seg[i+1]) && isUpperHex(seg[i+2]):
			b = append(b, unhex(seg[i+1])<<4|unhex(seg[i+2]))
			i += 2
		default:
			return "", false
		}
	}
	s := string(b)
	if !utf8.ValidString(s) || keySegment(s) != seg {
		return "", false
	}
	return s, true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

package filestore

import (
	"strings"
)

// Keys never reach the file system raw. Every key is encoded into a string
// over a small alphabet that means the same thing on every file system we
// care about, then cut into path components of at most chunkBytes bytes:
//
//   - a-z, 0-9 and '-' stand for themselves;
//   - an uppercase ASCII letter is '^' and the letter in lowercase, so that
//     "Acme" and "acme" stay distinct on case-insensitive file systems;
//   - every other byte (including '.', '/', '\\', '_', NUL and each byte of
//     a multi-byte UTF-8 sequence) is '_' and two lowercase hex digits;
//   - the empty string is "_" alone.
//
// The encoding is injective and each string has exactly one encoding, so a
// name read back from a directory decodes to at most one key, and a planted
// name in another spelling ("_61" for "a") is rejected, not listed twice.
// Names never start with '.', never contain uppercase letters or bytes
// outside ASCII, and never are "." or "..": they cannot collide with the
// driver's temporary files (".tmp-*") or checksum sidecars (".sha256-*"),
// be normalized by the file system, or walk out of their directory.
//
// An encoded string longer than chunkBytes is cut, between escapes, into
// chunks of at most chunkBytes bytes; every chunk but the last becomes a
// directory named with the suffix "+" (a "continuation"), and the last
// carries the suffix of what the name is: "" for a directory, ".json" for a
// document file, ".blob" for a payload file. Components therefore stay
// under 255 bytes (and under 143, the limit of eCryptfs) for keys of any
// length, and the mapping stays reversible, so listings need no index.

const (
	// chunkBytes bounds one encoded chunk, so that a component with its
	// suffix fits in 143 bytes.
	chunkBytes = 128

	contSuffix = "+"
	docSuffix  = ".json"
	blobSuffix = ".blob"

	tempPrefix = ".tmp-"

	// sidecarPrefix starts the name of a payload's checksum sidecar: the
	// payload file's name with this prefix, in the same directory
	// (".sha256-chunk.blob" beside "chunk.blob"). It starts with '.', so
	// no key's encoding ever names one, and listings and reads ignore it;
	// a payload file's name is at most chunkBytes+len(blobSuffix) = 133
	// bytes, so a sidecar's stays under 143.
	sidecarPrefix = ".sha256-"

	docsDir  = "docs"
	blobsDir = "blobs"
	locksDir = "locks"
)

const hexDigits = "0123456789abcdef"

func isLiteral(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}

// encodedLen returns the length of the encoding of s.
func encodedLen(s string) int {
	if s == "" {
		return 1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n += unitLen(s[i])
	}
	return n
}

func unitLen(c byte) int {
	switch {
	case isLiteral(c):
		return 1
	case 'A' <= c && c <= 'Z':
		return 2
	default:
		return 3
	}
}

// encodeName returns the encoding of s.
func encodeName(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(encodedLen(s))
	for i := 0; i < len(s); i++ {
		appendUnit(&b, s[i])
	}
	return b.String()
}

func appendUnit(b *strings.Builder, c byte) {
	switch {
	case isLiteral(c):
		b.WriteByte(c)
	case 'A' <= c && c <= 'Z':
		b.WriteByte('^')
		b.WriteByte(c + ('a' - 'A'))
	default:
		b.WriteByte('_')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// decodeName decodes an encoding (or a prefix of one that ends between
// escapes), strictly: it reports false for anything encodeName would not
// produce. The lone "_" of the empty string is accepted only if whole is
// true.
func decodeName(enc string, whole bool) (string, bool) {
	if enc == "_" && whole {
		return "", true
	}
	if enc == "" {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(enc))
	for i := 0; i < len(enc); {
		c := enc[i]
		switch {
		case isLiteral(c):
			b.WriteByte(c)
			i++
		case c == '^':
			if i+1 >= len(enc) || enc[i+1] < 'a' || enc[i+1] > 'z' {
				return "", false
			}
			b.WriteByte(enc[i+1] - ('a' - 'A'))
			i += 2
		case c == '_':
			if i+2 >= len(enc) {
				return "", false
			}
			hi, ok1 := unhex(enc[i+1])
			lo, ok2 := unhex(enc[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			v := hi<<4 | lo
			if isLiteral(v) || 'A' <= v && v <= 'Z' {
				return "", false // not canonical
			}
			b.WriteByte(v)
			i += 3
		default:
			return "", false
		}
	}
	return b.String(), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendComponents appends to dst the path components of s: its encoding
// cut into chunks, every chunk but the last with contSuffix, the last with
// suffix.
func appendComponents(dst []string, s, suffix string) []string {
	if s == "" {
		return append(dst, "_"+suffix)
	}
	var b strings.Builder
	b.Grow(chunkBytes + len(suffix))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if b.Len()+unitLen(c) > chunkBytes {
			b.WriteString(contSuffix)
			dst = append(dst, b.String())
			b.Reset()
			b.Grow(chunkBytes + len(suffix))
		}
		appendUnit(&b, c)
	}
	b.WriteString(suffix)
	return append(dst, b.String())
}

// collectionDir returns the directory, relative to the root, that holds
// the documents of the named collection: docsDir for the default
// collection, docsDir + "." + the encoded name for another. Encoded names
// hold no '.', so these never collide with each other or with the root's
// other entries.
func collectionDir(name string) string {
	if name == DefaultCollection {
		return docsDir
	}
	return docsDir + "." + encodeName(name)
}

// docComponents returns the path of a document's file, relative to the
// root, as components; top is the collection's directory.
func docComponents(top, partition, sort string) []string {
	parts := make([]string, 0, 4)
	parts = append(parts, top)
	parts = appendComponents(parts, partition, "")
	return appendComponents(parts, sort, docSuffix)
}

// partitionComponents returns the path of a partition's directory.
func partitionComponents(top, partition string) []string {
	return appendComponents([]string{top}, partition, "")
}

// maxDirSegments bounds how many '/'-separated segments of a payload key
// become directories; the rest of a key with more segments stays in the
// file's name (its '/' escaped like any other byte). It bounds the depth of
// the tree, and with it the cost of every operation, whatever the key.
const maxDirSegments = 32

// splitBlobKey splits a payload key into the segments that become
// directories and the part that names the file.
func splitBlobKey(key string) (dirs []string, file string) {
	for len(dirs) < maxDirSegments {
		i := strings.IndexByte(key, '/')
		if i < 0 {
			break
		}
		dirs = append(dirs, key[:i])
		key = key[i+1:]
	}
	return dirs, key
}

// blobComponents returns the path of a payload's file, relative to the
// root, as components. Every '/'-separated segment of the key (up to
// maxDirSegments) becomes a directory, so that a key's natural hierarchy
// shows on disk and listings by prefix read only the directories they
// need; the rest becomes the file.
func blobComponents(key string) []string {
	dirs, file := splitBlobKey(key)
	parts := make([]string, 0, len(dirs)+2)
	parts = append(parts, blobsDir)
	for _, seg := range dirs {
		parts = appendComponents(parts, seg, "")
	}
	return appendComponents(parts, file, blobSuffix)
}

// blobListStart returns the longest part of prefix that names a directory
// (the key up to and including a '/' that ends a directory segment) and
// that directory's path.
func blobListStart(prefix string) (dirPrefix, dir string) {
	dirs, _ := splitBlobKey(prefix)
	parts := []string{blobsDir}
	n := 0
	for _, seg := range dirs {
		parts = appendComponents(parts, seg, "")
		n += len(seg) + 1
	}
	return prefix[:n], joinPath(parts)
}

func joinPath(parts []string) string { return strings.Join(parts, "/") }

// splitDir returns the directory and base name of a '/'-separated path.
func splitDir(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i], p[i+1:]
}

// nameKind classifies a directory entry's name.
type nameKind int

const (
	kindOther nameKind = iota // temporary files, strangers: ignored
	kindCont                  // a continuation directory "chunk+"
	kindDir                   // a complete segment's directory "chunk"
	kindDoc                   // a document file "chunk.json"
	kindBlob                  // a payload file "chunk.blob"
)

// classify splits a name into its kind and its chunk. It checks only the
// shape; the chunk is checked when decoded.
func classify(name string) (nameKind, string) {
	if name == "" || name[0] == '.' || len(name) > chunkBytes+len(docSuffix) {
		return kindOther, ""
	}
	switch {
	case strings.HasSuffix(name, contSuffix):
		return kindCont, strings.TrimSuffix(name, contSuffix)
	case strings.HasSuffix(name, docSuffix):
		return kindDoc, strings.TrimSuffix(name, docSuffix)
	case strings.HasSuffix(name, blobSuffix):
		return kindBlob, strings.TrimSuffix(name, blobSuffix)
	case strings.IndexByte(name, '.') < 0:
		return kindDir, name
	}
	return kindOther, ""
}

func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

func isSidecarName(name string) bool { return strings.HasPrefix(name, sidecarPrefix) }

// sidecarPath returns the path of the checksum sidecar of the payload file
// at path.
func sidecarPath(path string) string {
	dir, base := splitDir(path)
	return dir + "/" + sidecarPrefix + base
}

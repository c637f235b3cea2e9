package filestore

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeNameRoundTrip(t *testing.T) {
	cases := []string{
		"", "a", "A", "acme", "Acme", "ACME", "..", ".", "../etc/passwd", "/abs", "a\x00b",
		`a\b`, "%2F", "%2f", "CON", "nul", "trailing. ", "é", "e\u0301", "\xff\xfe",
		".tmp-123", "00.lock", "_", "^", "+", "x.json", "x.blob", strings.Repeat("Z", 1000),
	}
	for _, s := range cases {
		enc := encodeName(s)
		if len(enc) != encodedLen(s) {
			t.Errorf("encodedLen(%q) = %d, encoding has %d", s, encodedLen(s), len(enc))
		}
		got, ok := decodeName(enc, true)
		if !ok || got != s {
			t.Errorf("decodeName(encodeName(%q)) = %q, %v", s, got, ok)
		}
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if !(isLiteral(c) || c == '^' || c == '_') {
				t.Errorf("encodeName(%q) = %q holds %q", s, enc, c)
			}
		}
	}
}

func TestEncodeNameDistinctUnderCaseFolding(t *testing.T) {
	seen := map[string]string{}
	for _, s := range []string{"acme", "Acme", "ACME", "aCmE", "straße", "STRASSE", "ǅ", "ǆ", "K", "\u212a"} {
		folded := strings.ToLower(encodeName(s))
		if prev, dup := seen[folded]; dup {
			t.Errorf("%q and %q encode to names equal under case folding", prev, s)
		}
		seen[folded] = s
	}
}

func TestDecodeNameRejectsNonCanonical(t *testing.T) {
	for _, enc := range []string{"_61", "_41", "_2E", "_2", "_zz", "^A", "^", "^1", "A", ".", "..", "a.b", "a/b", "_", "a_"} {
		whole := enc != "_"
		if got, ok := decodeName(enc, whole); ok {
			t.Errorf("decodeName(%q) = %q, want rejection", enc, got)
		}
	}
	if _, ok := decodeName("_", false); ok {
		t.Error(`decodeName("_", false) accepted the empty-string marker in a chunk`)
	}
}

func TestComponentsBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		s := randomKey(r, r.IntN(3000))
		for _, comps := range [][]string{docComponents(docsDir, s, s), blobComponents(s), partitionComponents(docsDir, s)} {
			for _, c := range comps {
				if len(c) > 143 || c == "" || c == "." || c == ".." || c[0] == '.' || strings.ContainsAny(c, "/\\\x00") {
					t.Fatalf("key %q: bad component %q", s, c)
				}
			}
		}
	}
}

// randomKey returns a string of n bytes drawn from tricky characters.
func randomKey(r *rand.Rand, n int) string {
	const alphabet = "aZ09-_./\\%+^~ \x00\xff"
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(5) {
		case 0:
			b.WriteRune(rune(r.IntN(0x3000)))
		default:
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
	}
	return b.String()
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"", "a/b", "A..B", strings.Repeat("x", 300), "_41", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeName(encodeName(s), true)
		if !ok || got != s {
			t.Fatalf("round trip of %q gave %q, %v", s, got, ok)
		}
		// Any name that decodes re-encodes to itself (one spelling per key).
		if dec, ok := decodeName(s, true); ok && encodeName(dec) != s {
			t.Fatalf("%q decodes to %q, which encodes to %q", s, dec, encodeName(dec))
		}
		if !utf8.ValidString(encodeName(s)) {
			t.Fatal("encoding is not ASCII")
		}
	})
}

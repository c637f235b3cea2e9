package s3dynamo

import (
	"math/rand/v2"
	"mime"
	"testing"
)

// TestPlainMediaType checks that every type plainMediaType accepts
// without parsing is one mime.ParseMediaType accepts.
func TestPlainMediaType(t *testing.T) {
	in := []string{"application/octet-stream", "text/plain", "image/svg+xml", "x", "a/b/c", "/b", "a/", "",
		"text/plain; charset=utf-8", " text/plain", "text/plain ", "text/pl ain", "té/x", "a\x7f/b", "a/b=c", "a/\"b\""}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab/;= \"()@\x7f\x00é+.-"
	for range 20000 {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		in = append(in, string(b))
	}
	for _, ct := range in {
		if !plainMediaType(ct) {
			continue
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			t.Errorf("plainMediaType accepts %q, which ParseMediaType refuses: %v", ct, err)
		}
	}
	for _, ct := range []string{"application/octet-stream", "text/plain", "image/svg+xml"} {
		if !plainMediaType(ct) {
			t.Errorf("plainMediaType refuses %q", ct)
		}
	}
}

package localsign

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzGrants are the only grants the fuzz seeds were signed for. The
// fuzzer cannot compute a MAC, so verify must never accept any other.
var fuzzGrants = []grant{
	{key: "a/b", method: "GET", expiry: 2000000000, size: -1},
	{key: "a/b", method: "PUT", expiry: 2000000000, contentType: "image/png", size: -1},
	{key: "prefix/Acme%20Corp/x/pdf/01abc", method: "GET", expiry: 2000000000,
		contentType: "application/pdf", contentDisposition: `attachment; filename="march.pdf"`, size: -1},
	{key: "é/\x00/../k", method: "GET", expiry: 1500000000, size: -1},
	{key: "up/1", method: "PUT", expiry: 2000000000, size: 1234, createOnly: true},
	{key: "up/2", method: "PUT", expiry: 2000000000, contentType: "text/plain", size: -1, maxSize: 1 << 20, createOnly: true},
	{key: "up/3", method: "PUT", expiry: 2000000000, size: 0, maxSize: 10, createOnly: true},
	// checksum: the SHA-256 of "hello world".
	{key: "up/4", method: "PUT", expiry: 2000000000, size: 11, createOnly: true, checksum: "uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek"},
}

func fuzzSigner() *Signer {
	return New(NewMemDriver(), []byte("fuzz-secret-fuzz-secret-fuzz-secret!"), "http://127.0.0.1/blobs")
}

// FuzzVerify checks signature verification against arbitrary methods,
// queries and times: it never panics, accepts only the grants that were
// signed, and only for their method, before their expiry, with exactly the
// parameters signed. Seeds are in testdata/fuzz/FuzzVerify (see
// TestWriteFuzzSeeds).
func FuzzVerify(f *testing.F) {
	s := fuzzSigner()
	f.Fuzz(func(t *testing.T, method, rawQuery string, now int64) {
		g, err := s.verify(method, rawQuery, time.Unix(now, 0))
		if err != nil {
			if g != nil {
				t.Fatal("a grant with an error")
			}
			return
		}
		known := false
		for _, fg := range fuzzGrants {
			if *g == fg {
				known = true
			}
		}
		if !known {
			t.Fatalf("accepted a grant that was never signed: %+v", *g)
		}
		if g.method != method || now >= g.expiry {
			t.Fatalf("accepted %+v for %s at %d", *g, method, now)
		}
		// The query holds exactly the signed parameters.
		q, _ := url.ParseQuery(rawQuery)
		if want := s.query(g); fmt.Sprint(q) != fmt.Sprint(want) {
			t.Fatalf("accepted query %v, signed %v", q, want)
		}
	})
}

// TestWriteFuzzSeeds rewrites the seed corpus of FuzzVerify when
// LOCALSIGN_WRITE_SEEDS is set (needed if the URL format changes): valid
// URLs for each grant, and tampered ones.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LOCALSIGN_WRITE_SEEDS") == "" {
		t.Skip("set LOCALSIGN_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzVerify")
	}
	s := fuzzSigner()
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	// The generated seeds are replaced; others (regress-*, found by the
	// fuzzer) stay.
	old, err := filepath.Glob(filepath.Join(dir, "seed*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	write := func(method, query string, now int64) {
		n++
		data := fmt.Sprintf("go test fuzz v1\nstring(%s)\nstring(%s)\nint64(%d)\n", strconv.Quote(method), strconv.Quote(query), now)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", n)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range fuzzGrants {
		q := s.query(&g).Encode()
		write(g.method, q, g.expiry-60)  // valid
		write(g.method, q, g.expiry)     // expired
		write("DELETE", q, g.expiry-60)  // wrong method
		write(g.method, q+"&x=1", 0)     // extra parameter
		write(g.method, q+"&k=other", 0) // duplicated key
		write(g.method, "k=z&"+q[2:], 0) // tampered
		for _, p := range []string{"sz=", "mx="} {
			if strings.Contains(q, p) {
				write(g.method, strings.Replace(q, p, p+"1", 1), 0) // tampered size
				write(g.method, strings.Replace(q, p, p+"0", 1), 0) // leading zero
			}
		}
		if !strings.Contains(q, "co=") {
			write(g.method, q+"&co=1", 0) // added create only
		}
		if g.checksum != "" {
			cs := "cs=" + g.checksum
			write(g.method, strings.Replace(q, cs, cs[:len(cs)-1]+"l", 1), 0) // other unused bits
			write(g.method, strings.Replace(q, cs, cs+"%3D", 1), 0)           // padded
			write(g.method, strings.Replace(q, cs+"&", "", 1), 0)             // removed
		} else if g.method == "PUT" {
			write(g.method, q+"&cs=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek", 0) // added checksum
		}
	}
	write("GET", "", 0)
	write("GET", "%zz", 0)
	write("PUT", "k=a&m=PUT&e=-1&s=AAAA", -5)
	write("PUT", "k=a&m=PUT&e=1&sz=-1&mx=0&co=2&s=AAAA", 0)
	write("PUT", "k=a&m=PUT&e=1&sz=%2B5&mx=-0&s=AAAA", 0)
}

// TestFuzzGrants checks that the seeds' valid URLs do verify, so that the
// fuzzer starts from accepted inputs.
func TestFuzzGrants(t *testing.T) {
	s := fuzzSigner()
	for _, g := range fuzzGrants {
		got, err := s.verify(g.method, s.query(&g).Encode(), time.Unix(g.expiry-1, 0))
		if err != nil || *got != g {
			t.Errorf("%+v: %+v, %v", g, got, err)
		}
	}
}

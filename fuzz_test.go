package docblob

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// FuzzKeySegment checks that payload key parts are safe and injective:
// plain ASCII without separators, bounded, and different for different
// inputs (unless hashed, where collisions need a SHA-256 collision).
func FuzzKeySegment(f *testing.F) {
	for _, s := range []string{"", "a", "../x", "a/b", "%2F", "日本", "\x00", strings.Repeat("z", 300)} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa := keySegment(a)
		if len(sa) > maxSegment+1 || sa == "." || sa == ".." {
			t.Fatalf("keySegment(%q) = %q", a, sa)
		}
		for i := 0; i < len(sa); i++ {
			c := sa[i]
			if c == '/' || c == '\\' || c < 0x21 || c > 0x7e {
				t.Fatalf("keySegment(%q) = %q holds byte %q", a, sa, c)
			}
		}
		if a != b && sa == keySegment(b) {
			t.Fatalf("keySegment(%q) == keySegment(%q) == %q", a, b, sa)
		}
		// Every key newBlobKey makes is recognised as a payload key.
		s := &Store{info: driver.Info{PartitionKey: "pk", SortKey: "sk"}, opts: Options{BlobPrefix: "p/"}}
		if a == "" || b == "" {
			return
		}
		k, err := s.newBlobKey(driver.Key{Partition: a, Sort: b}, a)
		if err != nil {
			t.Fatal(err)
		}
		if !s.isPayloadKey(k) {
			t.Fatalf("isPayloadKey(%q) = false", k)
		}
	})
}

type fuzzDoc struct {
	PK    string            `docstore:"pk"`
	SK    string            `docstore:"sk"`
	S     string            `docstore:"s"`
	I     int64             `docstore:"i"`
	U     uint16            `docstore:"u"`
	F     float64           `docstore:"f"`
	B     []byte            `docstore:"b"`
	T     time.Time         `docstore:"t"`
	L     []string          `docstore:"l"`
	M     map[string]string `docstore:"m"`
	Blob  *Blob             `docstore:"blob"`
	Inner struct {
		X int `docstore:"x"`
	} `docstore:"inner"`
}

// FuzzCodec checks that documents encode to canonical values and survive
// encoding and decoding, and that attachment maps survive their own
// encoding.
func FuzzCodec(f *testing.F) {
	f.Add("p", "s", "text", int64(-5), uint16(7), 1.5, []byte{0, 1}, int64(0), "name", "ct", int64(3))
	f.Add("", "", "", int64(math.MinInt64), uint16(math.MaxUint16), math.Inf(1), []byte(nil), int64(1<<60), "", "", int64(0))
	f.Fuzz(func(t *testing.T, pk, sk, s string, i int64, u uint16, fl float64, b []byte, nanos int64, name, ct string, size int64) {
		if size < 0 || math.IsNaN(fl) {
			return
		}
		ref := &attach.Ref{Key: "k/" + pk, Size: size, ContentType: ct, Name: name, Checksum: driver.Checksum{Algorithm: driver.SHA256, Sum: make([]byte, 32)},
			Created: time.Unix(0, nanos).UTC(), Metadata: map[string]string{"n": name}}
		in := &fuzzDoc{PK: pk, SK: sk, S: s, I: i, U: u, F: fl, B: b, T: time.Unix(0, nanos).UTC(),
			L: []string{s, name}, M: map[string]string{"k": s}}
		in.Inner.X = int(u)
		d, err := (&Store{}).newDocument("put", in)
		if err != nil {
			t.Fatal(err)
		}
		fields, err := encodeDocument(d.g)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(driver.CanonicalFields(fields), fields) {
			t.Fatalf("encoded values are not canonical: %#v", fields)
		}
		fields["blob"] = ref.Encode()
		out := &fuzzDoc{}
		od, _ := (&Store{}).newDocument("get", out)
		mk := func(v any, _ string) (*Blob, error) {
			r, err := attach.Decode(v)
			return &Blob{ref: r}, err
		}
		if err := od.g.Decode(&decoder{val: fields, mk: mk}); err != nil {
			t.Fatal(err)
		}
		if out.Blob == nil || !reflect.DeepEqual(out.Blob.ref, ref) {
			t.Fatalf("attachment: got %+v, want %+v", out.Blob.ref, ref)
		}
		out.Blob = nil
		if !out.T.Equal(in.T) {
			t.Fatalf("time: got %v, want %v", out.T, in.T)
		}
		out.T, in.T = time.Time{}, time.Time{}
		if len(in.B) == 0 && len(out.B) == 0 {
			out.B, in.B = nil, nil
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
		}
	})
}

// FuzzAttachDecode checks that decoding arbitrary attachment-shaped maps
// never panics, that what decodes re-encodes to the same map, and that
// the checksum rules hold: an attachment records exactly one checksum,
// under the name of a known algorithm ("sha256", "crc32c", "crc64nvme"),
// as a string of exactly that algorithm's length in hex digits. algs
// names the attributes that hold sum, separated by '+'; unknown names
// are ordinary attributes.
func FuzzAttachDecode(f *testing.F) {
	f.Add("k", int64(1), "ct", strings.Repeat("ab", 32), "2026-01-01T00:00:00Z", true, "sha256")
	f.Add("", int64(-1), "", "zz", "yesterday", false, "sha256")
	f.Add("k", int64(1), "ct", "1a2b3c4d", "2026-01-01T00:00:00Z", false, "crc32c")
	f.Add("k", int64(0), "", "1A2B3C4D", "", true, "crc32c")
	f.Add("k", int64(1), "ct", "0123456789abcdef", "", false, "crc64nvme")
	// Two checksums, even of the same text: refused.
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "crc32c+sha256")
	f.Add("k", int64(1), "ct", "0123456789abcdef", "", false, "crc64nvme+crc32c")
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "crc32c+crc32c")
	// Wrong lengths: another algorithm's, odd, empty.
	f.Add("k", int64(1), "ct", strings.Repeat("ab", 32), "", false, "crc32c")
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "crc64nvme")
	f.Add("k", int64(1), "ct", "0123456789abcdef", "", false, "sha256")
	f.Add("k", int64(1), "ct", "1a2b3c4", "", false, "crc32c")
	f.Add("k", int64(1), "ct", "", "", true, "crc64nvme")
	// Not hex.
	f.Add("k", int64(1), "ct", "1a2b3c4g", "", false, "crc32c")
	f.Add("k", int64(1), "ct", "0x23456789abcdef", "", false, "crc64nvme")
	f.Add("k", int64(1), "ct", " 1a2b3c4", "", false, "crc32c")
	// No known checksum attribute.
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "")
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "CRC32C")
	f.Add("k", int64(1), "ct", "1a2b3c4d", "", false, "crc32")
	f.Fuzz(func(t *testing.T, key string, size int64, ct, sum, created string, inline bool, algs string) {
		m := map[string]any{attach.AttrVersion: attach.Version, attach.AttrSize: size, attach.AttrContentType: ct,
			attach.AttrCreated: created}
		known := map[driver.ChecksumAlgorithm]bool{}
		for _, name := range strings.Split(algs, "+") {
			if _, taken := m[name]; name == "" || taken {
				continue
			}
			m[name] = sum
			if a := driver.ChecksumAlgorithm(name); a.Valid() {
				known[a] = true
			}
		}
		if inline {
			m[attach.AttrData] = make([]byte, max(0, min(size, 100)))
		} else {
			m[attach.AttrKey] = key
		}
		ref, err := attach.Decode(m)
		if len(known) != 1 {
			if err == nil {
				t.Fatalf("Decode accepted an attachment with the checksums %v: %+v", known, ref)
			}
			return
		}
		var alg driver.ChecksumAlgorithm
		for a := range known {
			alg = a
		}
		want, herr := hex.DecodeString(sum)
		if herr != nil || len(want) != alg.Size() {
			if err == nil {
				t.Fatalf("Decode accepted the %s %q, not %d hex digits: %+v", alg, sum, 2*alg.Size(), ref)
			}
			return
		}
		if err != nil {
			return
		}
		if ref.Checksum.Algorithm != alg || !bytes.Equal(ref.Checksum.Sum, want) {
			t.Fatalf("Decode of the %s %q gave the checksum %v", alg, sum, ref.Checksum)
		}
		again, err := attach.Decode(ref.Encode())
		if err != nil || !reflect.DeepEqual(again.Encode(), ref.Encode()) {
			t.Fatalf("re-encoding %+v: %v", ref, err)
		}
	})
}

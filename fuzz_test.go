package docblob

import (
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
// never panics and that what decodes re-encodes to the same map.
func FuzzAttachDecode(f *testing.F) {
	f.Add("k", int64(1), "ct", strings.Repeat("ab", 32), "2026-01-01T00:00:00Z", true)
	f.Add("", int64(-1), "", "zz", "yesterday", false)
	f.Fuzz(func(t *testing.T, key string, size int64, ct, sum, created string, inline bool) {
		m := map[string]any{attach.AttrVersion: attach.Version, attach.AttrSize: size, attach.AttrContentType: ct,
			attach.AttrSHA256: sum, attach.AttrCreated: created}
		if inline {
			m[attach.AttrData] = make([]byte, max(0, min(size, 100)))
		} else {
			m[attach.AttrKey] = key
		}
		ref, err := attach.Decode(m)
		if err != nil {
			return
		}
		again, err := attach.Decode(ref.Encode())
		if err != nil || !reflect.DeepEqual(again.Encode(), ref.Encode()) {
			t.Fatalf("re-encoding %+v: %v", ref, err)
		}
	})
}

package docblob

import (
	"slices"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

func TestKeySegment(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain-key_1", "plain-key_1"},
		{"a/b", "a%2Fb"},
		{"..", "%2E%2E"},
		{"a b", "a%20b"},
		{"é", "%C3%A9"},
		{"%", "%25"},
		{"\x00", "%00"},
		{strings.Repeat("x", maxSegment), strings.Repeat("x", maxSegment)},
		{strings.Repeat("/", maxSegment/3), strings.Repeat("%2F", maxSegment/3)},
	} {
		if got := keySegment(tc.in); got != tc.want {
			t.Errorf("keySegment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("x", 500)
	got := keySegment(long)
	if !strings.HasPrefix(got, "~") || len(got) > maxSegment {
		t.Errorf("long segment = %q", got)
	}
	for _, over := range []string{strings.Repeat("x", maxSegment+1), "x" + strings.Repeat("/", maxSegment/3)} {
		if got := keySegment(over); !strings.HasPrefix(got, "~") {
			t.Errorf("keySegment(%q) = %q, want a hash", over, got)
		}
	}
	if keySegment(long) != got || keySegment(long+"y") == got {
		t.Error("hashed segments are not a function of the input")
	}
}

func TestNewIDUniqueAndOrdered(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = newID()
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	// Ids sort by their millisecond timestamp prefix (8 characters cover the 40 high bits).
	prefixes := make([]string, len(ids))
	for i, id := range ids {
		prefixes[i] = id[:8]
	}
	if !slices.IsSorted(prefixes) {
		t.Error("id time prefixes are not ordered")
	}
}

func TestNewBlobKey(t *testing.T) {
	s := &Store{info: driver.Info{PartitionKey: "pk", SortKey: "sk", MaxBlobKeyBytes: 1024, Collection: "c"}, ns: "pre/c.docblob/"}
	k, err := s.newBlobKey(driver.Key{Partition: "../acme", Sort: "2026/001"}, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(k, "/")
	if len(parts) != 6 || parts[0] != "pre" || parts[1] != "c.docblob" || parts[2] != "%2E%2E%2Facme" || parts[3] != "2026%2F001" || parts[4] != "pdf" {
		t.Errorf("key = %q", k)
	}
	if !s.owns(driver.Key{Partition: "../acme", Sort: "2026/001"}, "pdf", k) || s.owns(driver.Key{Partition: "..", Sort: "acme/2026/001"}, "pdf", k) {
		t.Errorf("ownership of %q misjudged", k)
	}
	s.ns = strings.Repeat("p", 1000) + "/c.docblob/"
	if _, err := s.newBlobKey(driver.Key{Partition: "a", Sort: "b"}, "f"); err == nil {
		t.Error("a key over the backend's limit was accepted")
	}
	noSort := &Store{info: driver.Info{PartitionKey: "pk"}}
	k, _ = noSort.newBlobKey(driver.Key{Partition: "a"}, "f")
	if strings.Count(k, "/") != 2 {
		t.Errorf("key without sort key = %q", k)
	}
}

func TestStoreNamespace(t *testing.T) {
	for _, tc := range []struct {
		prefix, collection, want string
		ok                       bool
	}{
		{"", "invoices", "invoices.docblob/", true},
		{"tenants/acme/", "t", "tenants/acme/t.docblob/", true},
		{"", "", "default.docblob/", true},
		{"", strings.Repeat("t", 255), strings.Repeat("t", 255) + ".docblob/", true},
		{"", strings.Repeat("t", 256), "", false},
		{"", "a/b", "", false},
		{"", "..", "", false},
		{"inv", "t", "", false},
		{"a//", "t", "", false},
		{"x.docblob/", "t", "", false},
		{"../", "t", "", false},
		{"sp ace/", "t", "", false},
	} {
		got, err := storeNamespace(tc.prefix, driver.Info{Collection: tc.collection})
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("storeNamespace(%q, %q) = %q, %v; want %q, ok %v", tc.prefix, tc.collection, got, err, tc.want, tc.ok)
		}
	}
}

func TestOwns(t *testing.T) {
	s := &Store{info: driver.Info{PartitionKey: "pk", SortKey: "sk"}, ns: "ns.docblob/"}
	k := driver.Key{Partition: "a/b", Sort: "c"}
	own, err := s.newBlobKey(k, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	id := own[strings.LastIndexByte(own, '/')+1:]
	for _, tc := range []struct {
		key   string
		field string
		want  bool
	}{
		{own, "pdf", true},
		{own, "img", false},
		{"other/" + own, "pdf", false},
		{strings.TrimPrefix(own, "ns.docblob/"), "pdf", false},
		{"ns.docblob/a/b/c/pdf/" + id, "pdf", false},
		{"ns.docblob/a%2Fb/c/pdf/" + id + "x", "pdf", false},
		{"ns.docblob/a%2Fb/c/pdf/x/" + id, "pdf", false},
		{"xx.docblob/a%2Fb/c/pdf/" + id, "pdf", false},
	} {
		if got := s.owns(k, tc.field, tc.key); got != tc.want {
			t.Errorf("owns(%v, %q, %q) = %v, want %v", k, tc.field, tc.key, got, tc.want)
		}
	}
	noSort := &Store{info: driver.Info{PartitionKey: "pk"}, ns: "ns.docblob/"}
	if k2, _ := noSort.newBlobKey(driver.Key{Partition: "p"}, "f"); !noSort.owns(driver.Key{Partition: "p"}, "f", k2) {
		t.Errorf("a partition-only store does not own its key %q", k2)
	}
}

// TestUnescapeSegment checks that keySegment is reversed exactly, and that
// hashes and anything keySegment never makes are refused.
func TestUnescapeSegment(t *testing.T) {
	for _, tc := range []struct {
		name, part string
	}{
		{"plain", "acme-2026_001"},
		{"punctuation", "a/b c%d~e"},
		{"unicode", "Zürich 東京"},
		{"dotdot", ".."},
		{"percent-looking", "%2F"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := unescapeSegment(keySegment(tc.part))
			if !ok || got != tc.part {
				t.Errorf("unescapeSegment(%q) = %q, %v, want %q", keySegment(tc.part), got, ok, tc.part)
			}
		})
	}
	for _, tc := range []struct{ name, seg string }{
		{"hash", keySegment(strings.Repeat("x/", 100))},
		{"lowercase-hex", "a%2f"},
		{"short-escape", "a%2"},
		{"unescaped-dot", "a.b"},
		{"invalid-utf8", "%FF"},
		{"empty", ""},
	} {
		t.Run("refuses/"+tc.name, func(t *testing.T) {
			if got, ok := unescapeSegment(tc.seg); ok {
				t.Errorf("unescapeSegment(%q) = %q, want refusal", tc.seg, got)
			}
		})
	}
}

package conformance

import (
	"bytes"
	"io"
	"maps"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/stretchr/testify/assert"
)

// checksumAlgorithms are the store checksums the Checksums group tests,
// with stable subtest names.
var checksumAlgorithms = []struct {
	name string
	alg  docblob.Checksum
}{
	{"CRC32C", docblob.ChecksumCRC32C},
	{"CRC64NVME", docblob.ChecksumCRC64NVME},
	{"SHA256", docblob.ChecksumSHA256},
}

// checksumPayloads are the payloads the Checksums group writes with each
// algorithm: inline, given as bytes (which a driver may send in one
// request with their checksum known) and streamed, up to a size that
// takes a multipart upload on drivers with 5 MiB parts.
var checksumPayloads = []struct {
	name   string
	size   int64
	stream bool // NewBlob of a plain reader, else NewBlobBytes
	inline bool // at or under checksumInlineThreshold
}{
	{"Inline", 100, false, true},
	{"InlineEmpty", 0, false, true},
	{"Empty", 0, false, false},
	{"Bytes", 64 << 10, false, false},
	{"Stream", 64 << 10, true, false},
	{"BytesMiB", 1 << 20, false, false},
	{"Multipart", 12 << 20, true, false},
}

// checksumInlineThreshold is the inline threshold of the Checksums
// group's inlining store.
const checksumInlineThreshold = 1024

// testChecksums checks Options.Checksum: a store records each new
// payload's checksum of its algorithm, under the attribute of that name
// and of the algorithm's length, and every whole read verifies it (a
// corrupted payload fails with Corrupt, a range read returns the bytes
// asked for, Check with VerifyChecksums finds it); and payloads recorded
// with one algorithm read and verify in a store of another.
func testChecksums(t *testing.T, newHarness HarnessMaker) {
	for _, a := range checksumAlgorithms {
		t.Run(a.name, func(t *testing.T) {
			t.Run("RoundTrip", func(t *testing.T) { testChecksumRoundTrip(t, newHarness, a.alg) })
			t.Run("Corruption", func(t *testing.T) { testChecksumCorruption(t, newHarness, a.alg) })
		})
	}
	t.Run("Default", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &record{PK: "default", SK: "1", File: docblob.NewBlob(pattern(1, 1000), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		checkRecordedChecksum(t, in.File, docblob.DefaultChecksum, 1, 1000)
		e.wantChecksumAttr(driver.Key{Partition: "default", Sort: "1"}, "file", docblob.DefaultChecksum, 1, 1000)
	})
	t.Run("Mixed", func(t *testing.T) { testChecksumMixed(t, newHarness) })
}

// otherStore returns a store with opts over a new driver of the env's
// storage, closed when the test ends.
func (e *env) otherStore(opts *docblob.Options) *docblob.Store {
	e.t.Helper()
	d, err := e.h.MakeDriver(e.ctx)
	if err != nil {
		e.t.Fatalf("making driver: %v", err)
	}
	s, err := docblob.NewStore(d, opts)
	if err != nil {
		d.Close()
		e.t.Fatalf("NewStore: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// wantChecksumAttr checks the attachment field of the stored document k,
// read through a raw driver: it records exactly one checksum, under the
// attribute named after alg, of pattern(seed, size) in lowercase hex of
// the algorithm's length.
func (e *env) wantChecksumAttr(k driver.Key, field string, alg docblob.Checksum, seed uint64, size int64) {
	e.t.Helper()
	doc, err := e.rawDriver().GetDocument(e.ctx, k)
	must(e.t, err, "raw GetDocument")
	m, ok := doc.Fields[field].(map[string]any)
	if !ok {
		e.t.Fatalf("field %q is stored as %T, not an attachment map", field, doc.Fields[field])
	}
	var present []string
	for _, a := range driver.ChecksumAlgorithms {
		if _, ok := m[string(a)]; ok {
			present = append(present, string(a))
		}
	}
	if len(present) != 1 || present[0] != string(alg) {
		e.t.Errorf("the attachment records the checksum attributes %q, want exactly %q", present, alg)
		return
	}
	sum, _ := m[string(alg)].(string)
	if n := 2 * driver.ChecksumAlgorithm(alg).Size(); len(sum) != n {
		e.t.Errorf("attribute %q is %q, want %d hex digits", alg, m[string(alg)], n)
	}
	if want := patternChecksum(alg, seed, size); sum != want {
		e.t.Errorf("attribute %q is %q, want %q", alg, sum, want)
	}
}

// testChecksumRoundTrip writes the checksumPayloads with a store of alg
// and reads them back, whole (verified) and in part.
func testChecksumRoundTrip(t *testing.T, newHarness HarnessMaker, alg docblob.Checksum) {
	e := newEnv(t, newHarness, &docblob.Options{Checksum: alg})
	inlining := e.otherStore(&docblob.Options{Checksum: alg, InlineThreshold: checksumInlineThreshold})
	for i, tc := range checksumPayloads {
		t.Run(tc.name, func(t *testing.T) {
			store := e.store
			if tc.inline {
				store = inlining
			}
			seed := uint64(100 + i)
			var b *docblob.Blob
			if tc.stream {
				b = docblob.NewBlob(pattern(seed, tc.size), nil)
			} else {
				b = docblob.NewBlobBytes(patternBytes(seed, tc.size), nil)
			}
			must(t, store.Put(e.ctx, &record{PK: "sums", SK: tc.name, File: b}), "Put")
			checkRecordedChecksum(t, b, alg, seed, tc.size)

			got := &record{PK: "sums", SK: tc.name}
			must(t, store.Get(e.ctx, got), "Get")
			if got.File.Inline() != tc.inline {
				t.Errorf("Inline() = %v, want %v", got.File.Inline(), tc.inline)
			}
			checkRecordedChecksum(t, got.File, alg, seed, tc.size)
			e.wantChecksumAttr(driver.Key{Partition: "sums", Sort: tc.name}, "file", alg, seed, tc.size)

			r, err := got.File.Open(e.ctx)
			must(t, err, "Open")
			if err := equalStreams(r, pattern(seed, tc.size)); err != nil {
				t.Errorf("whole read: %v", err)
			}
			must(t, r.Close(), "Close")
			if tc.size > 2 {
				off, n := tc.size/3, tc.size/3
				r, err := got.File.NewRangeReader(e.ctx, off, n)
				must(t, err, "NewRangeReader")
				data, err := io.ReadAll(r)
				r.Close()
				must(t, err, "range read")
				if !bytes.Equal(data, patternBytes(seed, tc.size)[off:off+n]) {
					t.Errorf("range read of %d bytes at %d returned %d other bytes", n, off, len(data))
				}
			}
		})
	}
	wantVerified(t, e, "after the round trips")
}

// wantVerified fails the test for each finding of a Check of the env's
// store that verifies checksums.
func wantVerified(t *testing.T, e *env, when string) {
	t.Helper()
	for f, err := range e.store.Check(e.ctx, &docblob.CheckOptions{VerifyChecksums: true}) {
		must(t, err, "Check")
		t.Errorf("%s: Check with VerifyChecksums reports %v", when, f)
	}
}

// testChecksumCorruption corrupts payloads of a store of alg behind its
// back: a stored one through the harness, an inline one through a raw
// driver (its bytes in the document, their length kept). Whole reads
// fail with Corrupt, range reads return the bytes asked for, and Check
// finds the damage only when it verifies checksums.
func testChecksumCorruption(t *testing.T, newHarness HarnessMaker, alg docblob.Checksum) {
	e := newEnv(t, newHarness, &docblob.Options{Checksum: alg, InlineThreshold: checksumInlineThreshold})
	raw := e.rawDriver()
	stored := &record{PK: "corrupt", SK: "stored", File: docblob.NewBlobBytes(patternBytes(5, 8192), nil)}
	must(t, e.store.Put(e.ctx, stored), "Put")
	must(t, e.h.CorruptBlob(e.ctx, stored.File.Key()), "CorruptBlob")
	inline := &record{PK: "corrupt", SK: "inline", File: docblob.NewBlobBytes(patternBytes(6, 500), nil)}
	must(t, e.store.Put(e.ctx, inline), "Put")
	doc, err := raw.GetDocument(e.ctx, driver.Key{Partition: "corrupt", Sort: "inline"})
	must(t, err, "raw GetDocument")
	att := maps.Clone(doc.Fields["file"].(map[string]any))
	data := bytes.Clone(att[attach.AttrData].([]byte))
	data[len(data)/2] ^= 0x01
	att[attach.AttrData] = data
	doc.Fields["file"] = att
	_, err = raw.PutDocument(e.ctx, &driver.Document{Key: doc.Key, Revision: rawRevision(), Fields: doc.Fields}, driver.Condition{})
	must(t, err, "raw PutDocument")

	for _, tc := range []struct {
		name string
		size int64
	}{{"stored", 8192}, {"inline", 500}} {
		t.Run(tc.name, func(t *testing.T) {
			got := &record{PK: "corrupt", SK: tc.name}
			must(t, e.store.Get(e.ctx, got), "Get")
			if a, _ := got.File.Checksum(); a != alg {
				t.Errorf("recorded checksum %q, want %q", a, alg)
			}
			_, err := got.File.ReadAll(e.ctx)
			wantCode(t, err, docblob.Corrupt, "ReadAll of a corrupted payload")
			r, err := got.File.Open(e.ctx)
			must(t, err, "Open")
			_, err = io.Copy(io.Discard, r)
			r.Close()
			wantCode(t, err, docblob.Corrupt, "streaming a corrupted payload")
			// A range read checks only its length.
			r, err = got.File.NewRangeReader(e.ctx, 10, tc.size/2)
			must(t, err, "NewRangeReader")
			part, err := io.ReadAll(r)
			r.Close()
			must(t, err, "range read of a corrupted payload")
			if int64(len(part)) != tc.size/2 {
				t.Errorf("range read returned %d bytes, want %d", len(part), tc.size/2)
			}
		})
	}

	type finding struct {
		Kind docblob.FindingKind
		Sort string
	}
	check := func(opts *docblob.CheckOptions) []finding {
		var out []finding
		for f, err := range e.store.Check(e.ctx, opts) {
			must(t, err, "Check")
			out = append(out, finding{f.Kind, f.Sort})
		}
		return out
	}
	assert.Empty(t, check(nil), "Check without VerifyChecksums")
	assert.ElementsMatch(t, []finding{{docblob.ChecksumMismatch, "stored"}, {docblob.ChecksumMismatch, "inline"}},
		check(&docblob.CheckOptions{VerifyChecksums: true}), "Check with VerifyChecksums")

	for _, sk := range []string{"stored", "inline"} {
		must(t, e.store.Delete(e.ctx, &record{PK: "corrupt", SK: sk}), "Delete")
	}
	wantVerified(t, e, "after deleting the corrupted documents")
}

// testChecksumMixed checks that payloads recorded with SHA-256 (as every
// store did before checksums could be chosen) read and verify in a store
// of the default CRC32C over the same storage, and the other way round;
// that a corrupted one fails there too; and that replacing an attachment
// records the new payload with the replacing store's algorithm.
func testChecksumMixed(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, &docblob.Options{Checksum: docblob.ChecksumCRC32C, InlineThreshold: checksumInlineThreshold})
	old := e.otherStore(&docblob.Options{Checksum: docblob.ChecksumSHA256, InlineThreshold: checksumInlineThreshold})
	for i, tc := range []struct {
		name string
		size int64
	}{{"Inline", 200}, {"Small", 5000}, {"Multipart", 12 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(200 + i)
			in := &record{PK: "mixed", SK: tc.name, File: docblob.NewBlob(pattern(seed, tc.size), nil)}
			must(t, old.Put(e.ctx, in), "Put with SHA-256")
			got := &record{PK: "mixed", SK: tc.name}
			must(t, e.store.Get(e.ctx, got), "Get in the CRC32C store")
			checkRecordedChecksum(t, got.File, docblob.ChecksumSHA256, seed, tc.size)
			r, err := got.File.Open(e.ctx)
			must(t, err, "Open")
			if err := equalStreams(r, pattern(seed, tc.size)); err != nil {
				t.Errorf("reading a SHA-256 payload in a CRC32C store: %v", err)
			}
			must(t, r.Close(), "Close")

			// Replaced by the CRC32C store: the new payload is recorded
			// with CRC32C, and the SHA-256 store reads it.
			got.File = docblob.NewBlob(pattern(seed+1, tc.size), nil)
			must(t, e.store.Put(e.ctx, got), "Put replacing with CRC32C")
			again := &record{PK: "mixed", SK: tc.name}
			must(t, old.Get(e.ctx, again), "Get in the SHA-256 store")
			checkRecordedChecksum(t, again.File, docblob.ChecksumCRC32C, seed+1, tc.size)
			e.wantChecksumAttr(driver.Key{Partition: "mixed", Sort: tc.name}, "file", docblob.ChecksumCRC32C, seed+1, tc.size)
			r, err = again.File.Open(e.ctx)
			must(t, err, "Open")
			if err := equalStreams(r, pattern(seed+1, tc.size)); err != nil {
				t.Errorf("reading a CRC32C payload in a SHA-256 store: %v", err)
			}
			must(t, r.Close(), "Close")
		})
	}
	t.Run("Corrupted", func(t *testing.T) {
		in := &record{PK: "mixed", SK: "corrupted", File: docblob.NewBlobBytes(patternBytes(9, 3000), nil)}
		must(t, old.Put(e.ctx, in), "Put with SHA-256")
		must(t, e.h.CorruptBlob(e.ctx, in.File.Key()), "CorruptBlob")
		got := &record{PK: "mixed", SK: "corrupted"}
		must(t, e.store.Get(e.ctx, got), "Get in the CRC32C store")
		_, err := got.File.ReadAll(e.ctx)
		wantCode(t, err, docblob.Corrupt, "ReadAll of a corrupted SHA-256 payload in a CRC32C store")
		var found []docblob.Finding
		for f, err := range e.store.Check(e.ctx, &docblob.CheckOptions{VerifyChecksums: true}) {
			must(t, err, "Check")
			found = append(found, f)
		}
		if len(found) != 1 || found[0].Kind != docblob.ChecksumMismatch || found[0].Sort != "corrupted" || found[0].PayloadKey != in.File.Key() {
			t.Errorf("Check with VerifyChecksums found %v, want the checksum mismatch of %q", found, in.File.Key())
		}
		must(t, e.store.Delete(e.ctx, got), "Delete")
	})
	wantVerified(t, e, "at the end")
}

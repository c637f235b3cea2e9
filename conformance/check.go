package conformance

import (
	"maps"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/stretchr/testify/assert"
)

// testCheck checks that Store.Check, which every other test relies on to
// check the storage it leaves, reports each kind of problem, made behind
// the store's back through a raw driver: a dangling reference, a size
// mismatch, a checksum mismatch (only when asked to verify), a malformed
// attachment, a foreign reference and an orphan payload; and nothing once
// they are repaired.
func testCheck(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	raw := e.rawDriver()
	put := func(sk, payload string) *record {
		t.Helper()
		doc := &record{PK: "check", SK: sk, File: docblob.NewBlobBytes([]byte(payload), nil)}
		must(t, e.store.Put(e.ctx, doc), "Put")
		return doc
	}
	rawPut := func(sk string, fields map[string]any) {
		t.Helper()
		_, err := raw.PutDocument(e.ctx, &driver.Document{Key: driver.Key{Partition: "check", Sort: sk}, Revision: rawRevision(), Fields: fields}, driver.Condition{})
		must(t, err, "raw PutDocument")
	}
	rawFields := func(sk string) map[string]any {
		t.Helper()
		d, err := raw.GetDocument(e.ctx, driver.Key{Partition: "check", Sort: sk})
		must(t, err, "raw GetDocument")
		return d.Fields
	}
	put("ok", "a consistent document")
	wantConsistent(e.ctx, t, e.store, "before the damage", false)

	dangling := put("dangling", "deleted behind the store's back")
	must(t, raw.DeleteBlob(e.ctx, dangling.File.Key()), "raw DeleteBlob")

	sized := put("size", "recorded with another size")
	fields := rawFields("size")
	att := maps.Clone(fields["file"].(map[string]any))
	att[attach.AttrSize] = int64(1000)
	fields["file"] = att
	rawPut("size", fields)

	corrupt := put("corrupt", "corrupted behind the store's back")
	must(t, e.h.CorruptBlob(e.ctx, corrupt.File.Key()), "CorruptBlob")

	rawPut("malformed", map[string]any{"file": map[string]any{attach.AttrVersion: attach.Version}})
	rawPut("foreign", map[string]any{"file": rawFields("ok")["file"]})
	orphan := put("orphan", "its document deleted behind the store's back")
	_, err := raw.DeleteDocument(e.ctx, driver.Key{Partition: "check", Sort: "orphan"}, driver.Condition{})
	must(t, err, "raw DeleteDocument")

	type finding struct {
		Kind       docblob.FindingKind
		Sort       string
		PayloadKey string
	}
	got := func(opts *docblob.CheckOptions) []finding {
		var out []finding
		for f, err := range e.store.Check(e.ctx, opts) {
			must(t, err, "Check")
			out = append(out, finding{f.Kind, f.Sort, f.PayloadKey})
		}
		return out
	}
	want := []finding{
		{docblob.DanglingReference, "dangling", dangling.File.Key()},
		{docblob.SizeMismatch, "size", sized.File.Key()},
		{docblob.MalformedAttachment, "malformed", ""},
		{docblob.ForeignReference, "foreign", ""},
		{docblob.OrphanPayload, "", orphan.File.Key()},
	}
	assert.ElementsMatch(t, want, got(nil), "Check")
	want = append(want, finding{docblob.ChecksumMismatch, "corrupt", corrupt.File.Key()})
	assert.ElementsMatch(t, want, got(&docblob.CheckOptions{VerifyChecksums: true}), "Check with VerifyChecksums")

	// Stopping early stops the check.
	n := 0
	for range e.store.Check(e.ctx, nil) {
		n++
		break
	}
	assert.Equal(t, 1, n, "findings iterated after a break")

	// Repair: remove the damaged documents and the orphan.
	for _, sk := range []string{"dangling", "size", "corrupt", "malformed", "foreign"} {
		_, err := raw.DeleteDocument(e.ctx, driver.Key{Partition: "check", Sort: sk}, driver.Condition{})
		must(t, err, "raw DeleteDocument")
	}
	for _, key := range []string{sized.File.Key(), corrupt.File.Key(), orphan.File.Key()} {
		must(t, raw.DeleteBlob(e.ctx, key), "raw DeleteBlob")
	}
	assert.Empty(t, got(&docblob.CheckOptions{VerifyChecksums: true}), "Check after the repair")
}

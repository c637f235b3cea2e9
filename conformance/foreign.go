package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// testForeign: items written by other tools and callers that break
// contracts get clear errors, never a panic, a huge allocation or a lost
// payload.
func testForeign(t *testing.T, newHarness HarnessMaker) {
	t.Run("LyingSize", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		payload := []byte("hello")
		sum := sha256.Sum256(payload)
		raw := e.rawDriver()
		for i, size := range []int64{1 << 62, 1 << 40, 1<<63 - 1, 2} {
			sk := string(rune('a' + i))
			key := e.store.Namespace() + "lying/" + sk + "/file/06h2j16bq7f4pvfrlfltihan7c"
			if _, err := raw.WriteBlob(e.ctx, key, bytes.NewReader(payload), &driver.WriteOptions{Size: -1}); err != nil {
				t.Fatal(err)
			}
			att := map[string]any{"docblob": int64(1), "key": key, "size": size, "sha256": hex.EncodeToString(sum[:]), "content_type": "text/plain"}
			if _, err := raw.PutDocument(e.ctx, &driver.Document{Key: driver.Key{Partition: "lying", Sort: sk}, Revision: "r", Fields: map[string]any{"file": att}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
			got := &record{PK: "lying", SK: sk}
			must(t, e.store.Get(e.ctx, got), "Get")
			_, err := got.File.ReadAll(e.ctx)
			wantCode(t, err, docblob.Corrupt, "ReadAll of a payload whose recorded size lies")
			_, err = got.File.CopyTo(e.ctx, io.Discard)
			wantCode(t, err, docblob.Corrupt, "CopyTo of a payload whose recorded size lies")
			r, err := got.File.NewRangeReader(e.ctx, 1, 1<<62)
			must(t, err, "NewRangeReader")
			if _, err := io.ReadAll(r); err == nil && size > int64(len(payload)) {
				t.Error("a range past the payload's real end read without error")
			}
			r.Close()
			must(t, e.store.Delete(e.ctx, got), "Delete")
		}
	})
	t.Run("NotAnAttachment", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		raw := e.rawDriver()
		for i, v := range []any{"a string", int64(3), map[string]any{"plain": "map"}, []any{"list"}} {
			sk := string(rune('a' + i))
			if _, err := raw.PutDocument(e.ctx, &driver.Document{Key: driver.Key{Partition: "plain", Sort: sk}, Revision: "r", Fields: map[string]any{"file": v}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
			wantCode(t, e.store.Get(e.ctx, &record{PK: "plain", SK: sk}), docblob.InvalidArgument, "Get of a *Blob field holding no attachment")
			must(t, e.store.Delete(e.ctx, &record{PK: "plain", SK: sk}), "Delete")
		}
	})
	t.Run("NoRevision", func(t *testing.T) {
		// An item written by another tool has no revision: Get reports one
		// that makes a Put or Delete apply only while it still has none,
		// so a docblob writer's update in between, or a deletion, is not
		// lost or undone.
		e := newEnv(t, newHarness, nil)
		raw := e.rawDriver()
		put := func(sk string) {
			t.Helper()
			if _, err := raw.PutDocument(e.ctx, &driver.Document{Key: driver.Key{Partition: "norev", Sort: sk}, Fields: map[string]any{"title": "by another tool"}}, driver.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		put("ok")
		got := &record{PK: "norev", SK: "ok"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.Revision == nil || got.Revision == "" {
			t.Fatalf("Get of an item without a revision reported revision %#v, want a non-empty one", got.Revision)
		}
		got.Title = "updated"
		must(t, e.store.Put(e.ctx, got), "Put of an unchanged item")

		put("raced")
		stale := &record{PK: "norev", SK: "raced"}
		must(t, e.store.Get(e.ctx, stale), "Get")
		must(t, e.store.Put(e.ctx, &record{PK: "norev", SK: "raced", Title: "another docblob writer"}), "Put")
		stale.Title = "stale"
		wantCode(t, e.store.Put(e.ctx, stale), docblob.FailedPrecondition, "Put over an update made since Get")

		put("deleted")
		gone := &record{PK: "norev", SK: "deleted"}
		must(t, e.store.Get(e.ctx, gone), "Get")
		if _, err := raw.DeleteDocument(e.ctx, driver.Key{Partition: "norev", Sort: "deleted"}, driver.Condition{}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.store.Put(e.ctx, gone), docblob.FailedPrecondition, "Put resurrecting a deleted item")
		for _, sk := range []string{"ok", "raced"} {
			must(t, e.store.Delete(e.ctx, &record{PK: "norev", SK: sk}), "Delete")
		}
	})
	t.Run("KeysThatPrintAlike", func(t *testing.T) {
		// ("a/b", "c") and ("a", "b/c") are two documents: a blob of one
		// set in the other is copied, and survives the first's deletion.
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Put(e.ctx, &record{PK: "a/b", SK: "c", File: docblob.NewBlobBytes([]byte("payload of a/b c"), nil)}), "Put")
		src := &record{PK: "a/b", SK: "c"}
		must(t, e.store.Get(e.ctx, src), "Get")
		dst := &record{PK: "a", SK: "b/c", File: src.File}
		must(t, e.store.Put(e.ctx, dst), "Put of the copy")
		if dst.File.Key() == src.File.Key() {
			t.Fatalf("the copy shares the payload key %q", src.File.Key())
		}
		must(t, e.store.Delete(e.ctx, &record{PK: "a/b", SK: "c"}), "Delete")
		got := &record{PK: "a", SK: "b/c"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if data := readAll(e, got.File); string(data) != "payload of a/b c" {
			t.Fatalf("the copy reads %q", data)
		}
	})
	t.Run("BrokenReader", func(t *testing.T) {
		// A payload reader that returns a count outside [0, len(p)] fails
		// the Put with InvalidArgument, on every driver, small or large.
		e := newEnv(t, newHarness, nil)
		for _, tc := range []struct {
			name string
			r    io.Reader
		}{
			{"TooMany", &brokenReader{extra: 1, good: 2}},
			{"Negative", &brokenReader{extra: -1, absolute: true, good: 2}},
			{"TooManyLate", &brokenReader{extra: 7, good: 300}},
		} {
			err := e.store.Put(e.ctx, &record{PK: "broken", SK: tc.name, File: docblob.NewBlob(tc.r, nil)})
			wantCode(t, err, docblob.InvalidArgument, tc.name)
			if !strings.Contains(err.Error(), "io.Reader contract") {
				t.Errorf("%s: %v does not name the io.Reader contract", tc.name, err)
			}
		}
		e.wantDocuments(0)
		e.wantPayloads(0)
	})
}

// brokenReader breaks the io.Reader contract after good reads of at most
// 32 KiB each (so that what it produces is bounded however large the
// buffers it is given).
type brokenReader struct {
	extra    int  // the bad count, relative to len(p) unless absolute
	absolute bool //
	good     int
	reads    int
}

func (b *brokenReader) Read(p []byte) (int, error) {
	b.reads++
	if b.reads <= b.good {
		n := min(len(p), 32<<10)
		clear(p[:n])
		return n, nil
	}
	if b.absolute {
		return b.extra, nil
	}
	return len(p) + b.extra, nil
}

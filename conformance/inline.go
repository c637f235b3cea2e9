package conformance

import (
	"bytes"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

func testInline(t *testing.T, newHarness HarnessMaker) {
	const threshold = 1024
	e := newEnv(t, newHarness, &docblob.Options{InlineThreshold: threshold})
	for _, tc := range []struct {
		name   string
		size   int64
		inline bool
	}{
		{"Empty", 0, true},
		{"Small", 10, true},
		{"AtThreshold", threshold, true},
		{"OverThreshold", threshold + 1, false},
		{"Large", 100 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.spy.Reset()
			in := &record{PK: "inline", SK: tc.name, File: docblob.NewBlob(pattern(3, tc.size), nil)}
			must(t, e.store.Put(e.ctx, in), "Put")
			wantBlobs := 1
			if tc.inline {
				wantBlobs = 0
			}
			if n := e.spy.Counts()[spy.WriteBlob]; n != wantBlobs {
				t.Errorf("Put made %d WriteBlob calls, want %d", n, wantBlobs)
			}
			got := &record{PK: "inline", SK: tc.name}
			must(t, e.store.Get(e.ctx, got), "Get")
			if got.File.Inline() != tc.inline || (got.File.Key() == "") != tc.inline {
				t.Errorf("Inline() = %v, Key() = %q; want inline %v", got.File.Inline(), got.File.Key(), tc.inline)
			}
			e.spy.Reset()
			if !bytes.Equal(readAll(e, got.File), patternBytes(3, tc.size)) {
				t.Error("payload differs")
			}
			if tc.inline && e.spy.Counts()[spy.OpenBlob] != 0 {
				t.Error("reading an inline payload reached the blob store")
			}
			checkRecordedChecksum(t, got.File, "", 3, tc.size)
			_, err := got.File.SignedURL(e.ctx, nil)
			if tc.inline {
				wantCode(t, err, docblob.Unimplemented, "SignedURL of an inline payload")
			}
		})
	}
	t.Run("ReplaceInlineWithBlob", func(t *testing.T) {
		got := &record{PK: "inline", SK: "Small"}
		must(t, e.store.Get(e.ctx, got), "Get")
		got.File = docblob.NewBlob(pattern(4, 5000), nil)
		must(t, e.store.Put(e.ctx, got), "Put")
		got.File = docblob.NewBlobBytes([]byte("small again"), nil)
		must(t, e.store.Put(e.ctx, got), "Put")
		again := &record{PK: "inline", SK: "Small"}
		must(t, e.store.Get(e.ctx, again), "Get")
		if !again.File.Inline() || string(readAll(e, again.File)) != "small again" {
			t.Error("inline payload after replacing a stored one is wrong")
		}
	})
	t.Run("KeepInline", func(t *testing.T) {
		got := &record{PK: "inline", SK: "AtThreshold"}
		must(t, e.store.Get(e.ctx, got), "Get")
		got.Title = "updated"
		must(t, e.store.Put(e.ctx, got), "Put")
		again := &record{PK: "inline", SK: "AtThreshold"}
		must(t, e.store.Get(e.ctx, again), "Get")
		if again.Title != "updated" || !bytes.Equal(readAll(e, again.File), patternBytes(3, threshold)) {
			t.Error("kept inline payload changed")
		}
	})
}

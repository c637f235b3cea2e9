package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docblob/docblob"
)

// oddKeys are key values that must work as they are on every driver.
var oddKeys = []string{
	"plain",
	"with space",
	"slash/inside",
	"../../etc/passwd",
	"/absolute",
	"back\\slash",
	"dots..",
	".",
	"..",
	"percent%2F%00",
	"ünïcödé",
	"日本語のキー",
	"emoji 🎉📄",
	"CaseKey",
	"casekey",
	"tab\tnewline\n",
	"quote\"'`",
	"nul\x00byte",
	"?query#frag&x=y",
	"~tilde",
	strings.Repeat("long", 200),
}

func testKeys(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	for i, k := range oddKeys {
		t.Run(fmt.Sprintf("Key%02d", i), func(t *testing.T) {
			name := "name " + k
			in := &record{PK: k, SK: k, Title: k, File: docblob.NewBlobBytes([]byte(k), &docblob.BlobOptions{Name: name, Metadata: map[string]string{"k": k}})}
			must(t, e.store.Put(e.ctx, in), "Put")
			got := &record{PK: k, SK: k}
			must(t, e.store.Get(e.ctx, got), "Get")
			if got.Title != k || got.File.Name() != name || got.File.Metadata()["k"] != k || string(readAll(e, got.File)) != k {
				t.Errorf("round trip of key %q: %+v", k, got)
			}
			keys := queryKeys(e, &docblob.Query{Partition: k})
			if !slices.Equal(keys, []string{k}) {
				t.Errorf("query of partition %q: %q", k, keys)
			}
		})
	}
	t.Run("CaseSensitive", func(t *testing.T) {
		a, b := &record{PK: "CaseKey", SK: "CaseKey"}, &record{PK: "casekey", SK: "casekey"}
		must(t, e.store.Get(e.ctx, a), "Get")
		must(t, e.store.Get(e.ctx, b), "Get")
		if a.Title == b.Title {
			t.Error("keys differing only in case share a document")
		}
	})
	e.wantDocuments(len(oddKeys))
	t.Run("DeleteAll", func(t *testing.T) {
		for _, k := range oddKeys {
			must(t, e.store.Delete(e.ctx, &record{PK: k, SK: k}), "Delete")
		}
		e.wantDocuments(0)
		e.wantPayloads(0)
	})
}

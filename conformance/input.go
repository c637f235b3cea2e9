package conformance

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

type noSortKey struct {
	PK   string        `docstore:"pk"`
	File *docblob.Blob `docstore:"file"`
}

type withChannel struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	Ch   chan int      `docstore:"ch"`
	File *docblob.Blob `docstore:"file"`
}

type nestedBlob struct {
	PK    string          `docstore:"pk"`
	SK    string          `docstore:"sk"`
	Files []*docblob.Blob `docstore:"files"`
}

type intKey struct {
	PK int    `docstore:"pk"`
	SK string `docstore:"sk"`
}

type badRevision struct {
	PK       string `docstore:"pk"`
	SK       string `docstore:"sk"`
	Revision int    `docstore:"DocstoreRevision"`
}

func testBadInput(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	blob := func() *docblob.Blob { return docblob.NewBlobBytes([]byte("payload"), nil) }
	info := e.rawDriver().Info()
	huge := strings.Repeat("x", info.MaxDocumentBytes+1)
	var nilRecord *record
	for _, tc := range []struct {
		name    string
		doc     any
		code    docblob.ErrorCode
		putOnly bool // Get and Delete need only the key, so they accept it
	}{
		{"EmptyPartitionKey", &record{PK: "", SK: "s", File: blob()}, docblob.InvalidArgument, false},
		{"EmptySortKey", &record{PK: "p", SK: "", File: blob()}, docblob.InvalidArgument, false},
		{"MissingSortKeyField", &noSortKey{PK: "p", File: blob()}, docblob.InvalidArgument, false},
		{"NonPointer", record{PK: "p", SK: "s", File: blob()}, docblob.InvalidArgument, false},
		{"NilPointer", nilRecord, docblob.InvalidArgument, false},
		{"Nil", nil, docblob.InvalidArgument, false},
		{"NotADocument", "a string", docblob.InvalidArgument, false},
		{"WrongMapType", map[string]string{"pk": "p", "sk": "s"}, docblob.InvalidArgument, false},
		{"NonStringKey", &intKey{PK: 1, SK: "s"}, docblob.InvalidArgument, false},
		{"MapKeyWrongType", map[string]any{"pk": 1, "sk": "s"}, docblob.InvalidArgument, false},
		{"InvalidUTF8Key", &record{PK: "p\xff", SK: "s", File: blob()}, docblob.InvalidArgument, false},
		{"PartitionKeyTooLong", &record{PK: strings.Repeat("k", info.MaxPartitionKeyBytes+1), SK: "s", File: blob()}, docblob.InvalidArgument, false},
		{"SortKeyTooLong", &record{PK: "p", SK: strings.Repeat("k", info.MaxSortKeyBytes+1), File: blob()}, docblob.InvalidArgument, false},
		{"Unencodable", &withChannel{PK: "p", SK: "s", Ch: make(chan int), File: blob()}, docblob.InvalidArgument, true},
		{"NestedBlob", &nestedBlob{PK: "p", SK: "s", Files: []*docblob.Blob{blob()}}, docblob.InvalidArgument, true},
		{"RevisionWrongType", &badRevision{PK: "p", SK: "s", Revision: 3}, docblob.InvalidArgument, false},
		{"HugeDocument", &record{PK: "p", SK: "s", Title: huge, File: blob()}, docblob.TooLarge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.name == "HugeDocument" && info.MaxDocumentBytes == 0:
				t.Skip("the driver reports no document size limit (Info.MaxDocumentBytes is 0)")
			case tc.name == "PartitionKeyTooLong" && info.MaxPartitionKeyBytes == 0:
				t.Skip("the driver reports no partition key limit (Info.MaxPartitionKeyBytes is 0)")
			case tc.name == "SortKeyTooLong" && info.MaxSortKeyBytes == 0:
				t.Skip("the driver reports no sort key limit (Info.MaxSortKeyBytes is 0)")
			}
			e.spy.Reset()
			err := e.store.Put(e.ctx, tc.doc)
			wantCode(t, err, tc.code, "Put")
			if !tc.putOnly {
				wantCode(t, e.store.Get(e.ctx, tc.doc), tc.code, "Get")
				wantCode(t, e.store.Delete(e.ctx, tc.doc), tc.code, "Delete")
			}
			for _, op := range []spy.Op{spy.PutDocument, spy.WriteBlob, spy.DeleteDocument} {
				if n := e.spy.Counts()[op]; n != 0 {
					t.Errorf("bad input reached the driver: %d %s calls", n, op)
				}
			}
		})
	}
	t.Run("LongKeyWithinLimit", func(t *testing.T) {
		// Within the backend's limit, the key's length does not matter to
		// the payload key (which is shortened by hashing).
		n := info.MaxPartitionKeyBytes
		if n == 0 || n > 2048 {
			n = 2048
		}
		k := strings.Repeat("é", n/2)
		must(t, e.store.Put(e.ctx, &record{PK: k, SK: "s", File: blob()}), "Put")
		must(t, e.store.Delete(e.ctx, &record{PK: k, SK: "s"}), "Delete")
	})
	e.wantDocuments(0)
	e.wantPayloads(0)
}

// cancelingReader cancels a context after it has produced some bytes, then
// keeps producing.
type cancelingReader struct {
	r      io.Reader
	after  int64
	n      int64
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

// failingReader fails after some bytes.
type failingReader struct {
	r     io.Reader
	after int64
	n     int64
}

var errReader = errors.New("the payload source failed")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errReader
	}
	n, err := f.r.Read(p[:min(int64(len(p)), f.after-f.n)])
	f.n += int64(n)
	return n, err
}

func testCancel(t *testing.T, newHarness HarnessMaker) {
	t.Run("BeforeCall", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		err := e.store.Put(ctx, &record{PK: "p", SK: "c", File: docblob.NewBlobBytes([]byte("x"), nil)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a cancelled context: %v", err)
		}
		if err != context.Canceled {
			t.Errorf("context error is wrapped: %#v", err)
		}
		if err := e.store.Get(ctx, &record{PK: "p", SK: "c"}); err != context.Canceled {
			t.Errorf("Get with a cancelled context: %v", err)
		}
		e.wantDocuments(0)
		e.wantPayloads(0)
	})
	for _, size := range []int64{256 << 10, 12 << 20} {
		name := map[int64]string{256 << 10: "DuringSmallUpload", 12 << 20: "DuringLargeUpload"}[size]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newHarness, nil)
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			src := &cancelingReader{r: pattern(1, size), after: size / 2, cancel: cancel}
			err := e.store.Put(ctx, &record{PK: "p", SK: "c", File: docblob.NewBlob(src, nil)})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put cancelled during the upload: %v", err)
			}
			e.wantDocuments(0)
			e.wantPayloads(0)
		})
	}
	t.Run("SourceFails", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		src := &failingReader{r: pattern(1, 1<<20), after: 300 << 10}
		err := e.store.Put(e.ctx, &record{PK: "p", SK: "f", File: docblob.NewBlob(src, nil)})
		if !errors.Is(err, errReader) {
			t.Fatalf("Put with a failing source: %v, want it to wrap the source's error", err)
		}
		e.wantDocuments(0)
		e.wantPayloads(0)
	})
}

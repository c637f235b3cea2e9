package conformance

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/docblob/docblob"
)

// testStrict: every driver refuses what DynamoDB and S3 refuse, so that a
// unit test on a test double fails where production would.
func testStrict(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	for _, tc := range []struct {
		name string
		doc  map[string]any
	}{
		{"EmptyFieldName", map[string]any{"pk": "strict", "sk": "1", "": "x"}},
		{"EmptyNestedName", map[string]any{"pk": "strict", "sk": "1", "m": map[string]any{"": "x"}}},
		{"EmptyAttachmentField", map[string]any{"pk": "strict", "sk": "1", "": docblob.NewBlobBytes([]byte("payload"), nil)}},
		{"NaN", map[string]any{"pk": "strict", "sk": "1", "n": math.NaN()}},
		{"Inf", map[string]any{"pk": "strict", "sk": "1", "n": math.Inf(1)}},
		{"NegInf", map[string]any{"pk": "strict", "sk": "1", "l": []any{math.Inf(-1)}}},
		{"Huge", map[string]any{"pk": "strict", "sk": "1", "n": 1e200}},
		{"Tiny", map[string]any{"pk": "strict", "sk": "1", "n": 1e-200}},
		{"WithPayload", map[string]any{"pk": "strict", "sk": "1", "n": math.NaN(), "file": docblob.NewBlobBytes(bytes.Repeat([]byte("x"), 10000), nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, e.store.Put(e.ctx, tc.doc), docblob.InvalidArgument, "Put")
			e.wantDocuments(0)
			e.wantPayloads(0)
		})
	}
	t.Run("BeforeAnyUpload", func(t *testing.T) {
		// Bad input is refused before the payload's reader is touched, so
		// a source that can be read once (a request body) is not spent.
		for _, tc := range []struct {
			name string
			doc  func(b *docblob.Blob) map[string]any
			opts *docblob.BlobOptions
		}{
			{"BadNumber", func(b *docblob.Blob) map[string]any {
				return map[string]any{"pk": "strict", "sk": "2", "n": 1e200, "file": b}
			}, nil},
			{"EmptyNestedName", func(b *docblob.Blob) map[string]any {
				return map[string]any{"pk": "strict", "sk": "2", "m": map[string]any{"": 1}, "file": b}
			}, nil},
			{"BadUTF8", func(b *docblob.Blob) map[string]any {
				return map[string]any{"pk": "strict", "sk": "2", "s": "bad\xffvalue", "file": b}
			}, nil},
			{"BadContentType", func(b *docblob.Blob) map[string]any {
				return map[string]any{"pk": "strict", "sk": "2", "file": b}
			}, &docblob.BlobOptions{ContentType: "image/png, text/html"}},
			{"ContentTypeWithNewline", func(b *docblob.Blob) map[string]any {
				return map[string]any{"pk": "strict", "sk": "2", "file": b}
			}, &docblob.BlobOptions{ContentType: "text/plain\r\nX-Evil: 1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				src := &countingReader{r: bytes.NewReader([]byte("payload"))}
				wantCode(t, e.store.Put(e.ctx, tc.doc(docblob.NewBlob(src, tc.opts))), docblob.InvalidArgument, "Put")
				if src.reads != 0 {
					t.Errorf("the payload's reader was read %d times before the input was refused", src.reads)
				}
				e.wantDocuments(0)
				e.wantPayloads(0)
			})
		}
	})
	t.Run("ChangingSource", func(t *testing.T) {
		// A seekable source that is not local is read once, its SHA-256
		// computed as it is written: what is stored and recorded is what
		// was read, whatever the source does afterwards.
		src := &changingSource{data: bytes.Repeat([]byte("a"), 4096)}
		doc := &record{PK: "strict", SK: "changing", File: docblob.NewBlob(src, nil)}
		must(t, e.store.Put(e.ctx, doc), "Put of a source that changes after its first read")
		got := &record{PK: "strict", SK: "changing"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if data := readAll(e, got.File); string(data) != strings.Repeat("a", 4096) {
			t.Errorf("stored %.20q..., want the bytes that were read", data)
		}
		if src.reads != 1 {
			t.Errorf("the source reached its end %d times, want once", src.reads)
		}
	})
}

// countingReader counts its reads.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// changingSource is an io.ReadSeeker whose bytes change after its first
// complete read.
type changingSource struct {
	data  []byte
	off   int64
	reads int
}

func (c *changingSource) Read(p []byte) (int, error) {
	if c.off >= int64(len(c.data)) {
		c.reads++
		if c.reads == 1 {
			for i := range c.data {
				c.data[i] = 'b'
			}
		}
		return 0, io.EOF
	}
	n := copy(p, c.data[c.off:])
	c.off += int64(n)
	return n, nil
}

func (c *changingSource) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		c.off = offset
	case io.SeekCurrent:
		c.off += offset
	case io.SeekEnd:
		c.off = int64(len(c.data)) + offset
	}
	return c.off, nil
}

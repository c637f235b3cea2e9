package docblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/memstore"
)

// limitedWriter accepts n bytes, then fails, or writes short if short.
type limitedWriter struct {
	n     int
	short bool
	buf   bytes.Buffer
}

var errWriterFull = errors.New("writer full")

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return w.buf.Write(p)
	}
	k := w.n
	w.n = 0
	w.buf.Write(p[:k])
	if w.short {
		return k, nil
	}
	return k, errWriterFull
}

// TestReaderWriteTo checks the readers Open and NewRangeReader return
// when io.Copy uses their WriteTo: every byte once, in order, for
// payloads around its buffer's size; corruption still caught; the
// writer's error (or short write) returned, with the count written.
func TestReaderWriteTo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		size int
	}{
		{"Empty", 0}, {"Small", 100}, {"BufferLess1", docblob.CopyBufferSize - 1}, {"Buffer", docblob.CopyBufferSize},
		{"BufferPlus1", docblob.CopyBufferSize + 1}, {"Large", 3<<20 + 12345},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := memstore.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			d := &flipping{Driver: mem}
			store, err := docblob.NewStore(d, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			doc := map[string]any{"pk": "p", "sk": "s", "file": docblob.NewBlobBytes(data, nil)}
			if err := store.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
			blob := doc["file"].(*docblob.Blob)

			t.Run("Range", func(t *testing.T) {
				off := int64(tc.size / 3)
				r, err := blob.NewRangeReader(ctx, off, -1)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if _, ok := r.(io.WriterTo); !ok {
					t.Fatal("the reader is not an io.WriterTo")
				}
				var got bytes.Buffer
				n, err := io.Copy(&got, r)
				if err != nil || n != int64(tc.size)-off || !bytes.Equal(got.Bytes(), data[off:]) {
					t.Errorf("io.Copy = %d, %v; want the %d bytes from %d", n, err, int64(tc.size)-off, off)
				}
			})
			if tc.size == 0 {
				return
			}
			t.Run("Corrupt", func(t *testing.T) {
				r, err := blob.Open(ctx) // the flipping driver changes a byte
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				_, err = io.Copy(io.Discard, r)
				if docblob.Code(err) != docblob.Corrupt {
					t.Errorf("io.Copy of a corrupted payload: %v, want code Corrupt", err)
				}
			})
			for _, short := range []bool{false, true} {
				name := "WriterFails"
				if short {
					name = "ShortWrite"
				}
				t.Run(name, func(t *testing.T) {
					r, err := blob.NewRangeReader(ctx, 0, int64(tc.size)) // not whole: unflipped
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					w := &limitedWriter{n: tc.size / 2, short: short}
					n, err := io.Copy(w, r)
					want := errWriterFull
					if short {
						want = io.ErrShortWrite
					}
					if !errors.Is(err, want) || n != int64(tc.size/2) || !bytes.Equal(w.buf.Bytes(), data[:tc.size/2]) {
						t.Errorf("io.Copy into a writer of %d bytes = %d, %v; want %d, %v", tc.size/2, n, err, tc.size/2, want)
					}
				})
			}
		})
	}
}

package conformance

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/stretchr/testify/assert"
)

func testRoundTrip(t *testing.T, newHarness HarnessMaker) {
	for i, tc := range roundTripSizes {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, newHarness, nil)
			seed := uint64(i + 1)
			opts := &docblob.BlobOptions{Name: "payload.bin", ContentType: "application/x-test", Metadata: map[string]string{"origin": "conformance"}}
			in := &record{PK: "round", SK: tc.name, Title: "round trip", File: docblob.NewBlob(pattern(seed, tc.size), opts)}
			start := time.Now()
			must(t, e.store.Put(e.ctx, in), "Put")
			if !in.File.Stored() {
				t.Error("after Put, the attachment is not marked stored")
			}

			got := &record{PK: "round", SK: tc.name}
			must(t, e.store.Get(e.ctx, got), "Get")
			b := got.File
			if b == nil {
				t.Fatal("Get returned no attachment")
			}
			assert.Equal(t, tc.size, b.Size(), "Size")
			checkRecordedChecksum(t, b, "", seed, tc.size)
			assert.Equal(t, "application/x-test", b.ContentType(), "ContentType")
			assert.Equal(t, "payload.bin", b.Name(), "Name")
			assert.Equal(t, map[string]string{"origin": "conformance"}, b.Metadata(), "Metadata")
			assert.WithinDuration(t, start, b.Created(), time.Minute, "Created")
			assert.NotEmpty(t, b.Key(), "Key")
			assert.Equal(t, in.File.Key(), b.Key(), "Key after Get and after Put")
			r, err := b.Open(e.ctx)
			must(t, err, "Open")
			if err := equalStreams(r, pattern(seed, tc.size)); err != nil {
				t.Errorf("payload read back: %v", err)
			}
			must(t, r.Close(), "Close reader")

			// CopyTo streams the same bytes.
			var buf bytes.Buffer
			n, err := b.CopyTo(e.ctx, &buf)
			must(t, err, "CopyTo")
			if n != tc.size || !bytes.Equal(buf.Bytes(), patternBytes(seed, tc.size)) {
				t.Errorf("CopyTo wrote %d bytes, not the payload", n)
			}
			e.wantPayloads(1)
		})
	}
}

func testAttachments(t *testing.T, newHarness HarnessMaker) {
	t.Run("None", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &record{PK: "p", SK: "none", Title: "no attachment"}
		must(t, e.store.Put(e.ctx, in), "Put")
		got := &record{PK: "p", SK: "none"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.File != nil || got.Title != "no attachment" {
			t.Errorf("Get = %+v", got)
		}
		e.wantPayloads(0)
		must(t, e.store.Delete(e.ctx, got), "Delete")
		e.wantDocuments(0)
	})
	t.Run("Several", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &multi{PK: "p", SK: "several",
			A: docblob.NewBlob(pattern(1, 1000), nil),
			B: docblob.NewBlobBytes(patternBytes(2, 2000), nil),
			C: docblob.NewBlob(pattern(3, 70000), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		got := &multi{PK: "p", SK: "several"}
		must(t, e.store.Get(e.ctx, got), "Get")
		for i, b := range []*docblob.Blob{got.A, got.B, got.C} {
			size := []int64{1000, 2000, 70000}[i]
			if !bytes.Equal(readAll(e, b), patternBytes(uint64(i+1), size)) {
				t.Errorf("attachment %d differs", i)
			}
		}
		keys := map[string]bool{got.A.Key(): true, got.B.Key(): true, got.C.Key(): true}
		if len(keys) != 3 {
			t.Errorf("attachments share keys: %v", keys)
		}
		e.wantPayloads(3)

		// Replacing one attachment keeps the others and removes the old one.
		oldB := got.B
		got.B = docblob.NewBlobBytes([]byte("replacement"), nil)
		got.Count = 2
		must(t, e.store.Put(e.ctx, got), "Put replacing B")
		e.wantPayloads(3)
		if _, err := oldB.ReadAll(e.ctx); docblob.Code(err) != docblob.NotFound {
			t.Errorf("reading the replaced payload: %v, want code NotFound", err)
		}
		again := &multi{PK: "p", SK: "several"}
		must(t, e.store.Get(e.ctx, again), "Get")
		if string(readAll(e, again.B)) != "replacement" || !bytes.Equal(readAll(e, again.A), patternBytes(1, 1000)) {
			t.Error("after replacing B, payloads are wrong")
		}

		// Removing an attachment deletes its payload.
		again.C = nil
		must(t, e.store.Put(e.ctx, again), "Put removing C")
		e.wantPayloads(2)

		must(t, e.store.Delete(e.ctx, again), "Delete")
		e.wantPayloads(0)
		e.wantDocuments(0)
	})
	t.Run("Maps", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := map[string]any{"pk": "m", "sk": "1", "title": "a map", "file": docblob.NewBlobBytes([]byte("map payload"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		got := map[string]any{"pk": "m", "sk": "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		b, ok := got["file"].(*docblob.Blob)
		if !ok {
			t.Fatalf("file field is %T, want *docblob.Blob", got["file"])
		}
		if string(readAll(e, b)) != "map payload" || got["title"] != "a map" {
			t.Errorf("Get = %v", got)
		}
		if _, ok := got["DocstoreRevision"].(string); !ok {
			t.Errorf("map document has no revision after Get: %v", got)
		}
		must(t, e.store.Delete(e.ctx, got), "Delete")
		e.wantPayloads(0)
	})
	t.Run("CopyBetweenDocuments", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		src := &record{PK: "p", SK: "src", File: docblob.NewBlobBytes([]byte("shared bytes"), &docblob.BlobOptions{Name: "s.txt"})}
		must(t, e.store.Put(e.ctx, src), "Put source")
		dst := &record{PK: "p", SK: "dst", File: src.File}
		must(t, e.store.Put(e.ctx, dst), "Put copy")
		if dst.File.Key() == src.File.Key() {
			t.Fatal("two documents share one payload key; deleting one would break the other")
		}
		must(t, e.store.Delete(e.ctx, &record{PK: "p", SK: "src"}), "Delete source")
		got := &record{PK: "p", SK: "dst"}
		must(t, e.store.Get(e.ctx, got), "Get copy")
		if string(readAll(e, got.File)) != "shared bytes" || got.File.Name() != "s.txt" {
			t.Error("copied attachment lost its payload or name")
		}
	})
}

// values is a document with a field of every supported kind.
type values struct {
	PK      string            `docstore:"pk"`
	SK      string            `docstore:"sk"`
	S       string            `docstore:"s"`
	I       int               `docstore:"i"`
	I64     int64             `docstore:"i64"`
	U       uint32            `docstore:"u"`
	F       float64           `docstore:"f"`
	B       bool              `docstore:"b"`
	Bytes   []byte            `docstore:"bytes"`
	T       time.Time         `docstore:"t"`
	List    []string          `docstore:"list"`
	Map     map[string]int    `docstore:"map"`
	Nested  nested            `docstore:"nested"`
	Ptr     *nested           `docstore:"ptr"`
	Any     any               `docstore:"any"`
	Empty   string            `docstore:"empty"`
	Tags    map[string]string `docstore:"tags"`
	Skipped string            `docstore:"-"`
}

type nested struct {
	Name  string    `docstore:"name"`
	Times []float64 `docstore:"times"`
}

func testDocuments(t *testing.T, newHarness HarnessMaker) {
	t.Run("ValueTypes", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		when := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
		in := &values{PK: "v", SK: "1", S: "héllo", I: -42, I64: 1 << 60, U: 7, F: 3.25, B: true,
			Bytes: []byte{0, 1, 2, 255}, T: when, List: []string{"a", "b"}, Map: map[string]int{"x": 1},
			Nested: nested{Name: "n", Times: []float64{1.5, 2}}, Ptr: &nested{Name: "p"}, Any: "anything",
			Tags: map[string]string{"k": "v"}, Skipped: "not stored"}
		must(t, e.store.Put(e.ctx, in), "Put")
		got := &values{PK: "v", SK: "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		want := *in
		want.Skipped = ""
		if !got.T.Equal(when) {
			t.Errorf("time field = %v, want %v", got.T, when)
		}
		got.T, want.T = time.Time{}, time.Time{}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("Get =\n%+v\nwant\n%+v", *got, want)
		}
	})
	t.Run("GetResetsFields", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		must(t, e.store.Put(e.ctx, &record{PK: "p", SK: "1", Title: "one"}), "Put")
		got := &record{PK: "p", SK: "1", Title: "stale", File: docblob.NewBlobBytes([]byte("x"), nil)}
		must(t, e.store.Get(e.ctx, got), "Get")
		if got.Title != "one" || got.File != nil {
			t.Errorf("Get left stale fields: %+v", got)
		}
	})
	t.Run("MutatingAfterPut", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		data := []byte("original")
		in := &values{PK: "p", SK: "1", Bytes: data, List: []string{"a"}}
		must(t, e.store.Put(e.ctx, in), "Put")
		data[0] = 'X'
		in.List[0] = "changed"
		got := &values{PK: "p", SK: "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(got.Bytes) != "original" || got.List[0] != "a" {
			t.Errorf("mutating the caller's values changed the stored document: %+v", got)
		}
		got.Bytes[0] = 'Y'
		again := &values{PK: "p", SK: "1"}
		must(t, e.store.Get(e.ctx, again), "Get")
		if string(again.Bytes) != "original" {
			t.Errorf("mutating a returned value changed the stored document: %q", again.Bytes)
		}
	})
}

// testFromFile puts a payload from a regular file, starting past its
// beginning, with a progress callback: the portable layer hands such a
// source to the driver as it is, which may read it where it lies
// (io.ReaderAt, concurrently) but must store exactly the bytes from the
// file's position to its end, leave the file at its end, and let progress
// end at the payload's size. 20 MiB is past every single-request upload
// of this module's drivers, so that drivers reading in parts do.
func testFromFile(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	const skip, size = 1000, 20<<20 + 1
	f, err := os.Create(filepath.Join(t.TempDir(), "payload.bin"))
	must(t, err, "creating the file")
	defer f.Close()
	_, err = f.Write(bytes.Repeat([]byte{'x'}, skip))
	must(t, err, "writing the file's prefix")
	_, err = io.Copy(f, pattern(7, size))
	must(t, err, "writing the file")
	_, err = f.Seek(skip, io.SeekStart)
	must(t, err, "seeking past the prefix")
	var mu sync.Mutex
	var last, total int64
	backwards := false
	opts := &docblob.BlobOptions{Progress: func(done, tot int64) {
		mu.Lock()
		defer mu.Unlock()
		backwards = backwards || done < last
		last, total = done, tot
	}}
	must(t, e.store.Put(e.ctx, &record{PK: "file", SK: "1", File: docblob.NewBlob(f, opts)}), "Put from a file")
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != skip+size {
		t.Errorf("after Put the file is at %d (%v), want its end, %d", pos, err, skip+size)
	}
	mu.Lock()
	if backwards || last != size || total != size {
		t.Errorf("progress ended at (%d, %d), want (%d, %d); went backwards: %v", last, total, size, size, backwards)
	}
	mu.Unlock()
	got := &record{PK: "file", SK: "1"}
	must(t, e.store.Get(e.ctx, got), "Get")
	checkRecordedChecksum(t, got.File, "", 7, size)
	r, err := got.File.Open(e.ctx)
	must(t, err, "Open")
	defer r.Close()
	if err := equalStreams(r, pattern(7, size)); err != nil {
		t.Errorf("payload read back: %v", err)
	}
}

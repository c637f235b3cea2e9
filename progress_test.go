package docblob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/memtest"
)

// progressLog records the calls of a progress callback, and checks that
// they never overlap.
type progressLog struct {
	t     *testing.T
	mu    sync.Mutex
	busy  bool
	calls [][2]int64
}

func (l *progressLog) f(done, total int64) {
	l.mu.Lock()
	if l.busy {
		l.t.Errorf("progress callback called concurrently with itself")
	}
	l.busy = true
	l.calls = append(l.calls, [2]int64{done, total})
	l.mu.Unlock()
	time.Sleep(time.Millisecond) // widen the window of a concurrent call
	l.mu.Lock()
	l.busy = false
	l.mu.Unlock()
}

// check checks that the counts never decrease, that the totals are
// wantTotal (-1: unknown) until the end, and that the last call reports
// size bytes of size.
func (l *progressLog) check(what string, size, wantTotal int64) {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.calls) == 0 {
		l.t.Errorf("%s: progress callback never called", what)
		return
	}
	prev := int64(0)
	for i, c := range l.calls {
		if c[0] < prev {
			l.t.Errorf("%s: call %d reports %d bytes after %d", what, i, c[0], prev)
		}
		prev = c[0]
		if i < len(l.calls)-1 && c[1] != wantTotal {
			l.t.Errorf("%s: call %d reports total %d, want %d", what, i, c[1], wantTotal)
		}
	}
	if last := l.calls[len(l.calls)-1]; last != [2]int64{size, size} {
		l.t.Errorf("%s: last call (%d, %d), want (%d, %d)", what, last[0], last[1], size, size)
	}
}

func (l *progressLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// slowReader yields its data in small chunks, pausing before each.
type slowReader struct {
	data  []byte
	chunk int
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

type progressDoc struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	Data *docblob.Blob `docstore:"data"`
}

func TestUploadProgressEverySource(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	size := int64(len(data))
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		total int64 // what the calls before the last report
		blob  func(opts *docblob.BlobOptions) *docblob.Blob
	}{
		{"bytes", size, func(o *docblob.BlobOptions) *docblob.Blob { return docblob.NewBlobBytes(data, o) }},
		{"bytes.Reader", size, func(o *docblob.BlobOptions) *docblob.Blob { return docblob.NewBlob(bytes.NewReader(data), o) }},
		{"stream", -1, func(o *docblob.BlobOptions) *docblob.Blob {
			return docblob.NewBlob(&slowReader{data: data, chunk: 32 << 10, pause: 10 * time.Millisecond}, o)
		}},
		{"stream with Size", size, func(o *docblob.BlobOptions) *docblob.Blob {
			o.Size = size
			return docblob.NewBlob(&slowReader{data: data, chunk: 32 << 10, pause: 10 * time.Millisecond}, o)
		}},
		{"file", size, func(o *docblob.BlobOptions) *docblob.Blob {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return docblob.NewBlob(f, o)
		}},
		{"inline", 5, func(o *docblob.BlobOptions) *docblob.Blob { return docblob.NewBlobBytes([]byte("small"), o) }},
	}
	inlineStore := memtest.NewWithConfig(t, &memtest.Config{Store: docblob.Options{InlineThreshold: 100}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &progressLog{t: t}
			s, want := store, size
			if c.name == "inline" {
				s, want = inlineStore, 5
			}
			doc := &progressDoc{PK: "p", SK: c.name, Data: c.blob(&docblob.BlobOptions{Progress: l.f})}
			if err := s.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
			l.check("upload", want, c.total)
			if c.name == "stream" && l.count() < 2 {
				t.Errorf("a slow upload of about a second made %d calls, want some before the end", l.count())
			}
		})
	}
}

func TestUploadProgressFailure(t *testing.T) {
	store := memtest.New(t)
	l := &progressLog{t: t}
	src := io.MultiReader(strings.NewReader("some bytes"), &failingReader{})
	err := store.Put(context.Background(), &progressDoc{PK: "p", SK: "s", Data: docblob.NewBlob(src, &docblob.BlobOptions{Progress: l.f})})
	if err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if n := l.count(); n != 1 {
		t.Fatalf("%d calls, want the one at the end", n)
	}
	if c := l.calls[0]; c[1] != -1 || c[0] > 10 {
		t.Errorf("last call of a failed upload (%d, %d), want at most 10 bytes of an unknown total", c[0], c[1])
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadProgress(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	size := int64(len(data))
	doc := &progressDoc{PK: "p", SK: "s", Data: docblob.NewBlobBytes(data, nil)}
	if err := store.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	got := &progressDoc{PK: "p", SK: "s"}
	if err := store.Get(ctx, got); err != nil {
		t.Fatal(err)
	}

	t.Run("ReadAll", func(t *testing.T) {
		l := &progressLog{t: t}
		b, err := got.Data.WithProgress(l.f).ReadAll(ctx)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("ReadAll: %d bytes, %v", len(b), err)
		}
		l.check("ReadAll", size, size)
	})
	t.Run("CopyTo", func(t *testing.T) {
		l := &progressLog{t: t}
		n, err := got.Data.WithProgress(l.f).CopyTo(ctx, io.Discard)
		if err != nil || n != size {
			t.Fatalf("CopyTo: %d, %v", n, err)
		}
		l.check("CopyTo", size, size)
	})
	t.Run("range", func(t *testing.T) {
		l := &progressLog{t: t}
		r, err := got.Data.WithProgress(l.f).NewRangeReader(ctx, 1000, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(r); err != nil || len(b) != 5000 {
			t.Fatalf("range read: %d bytes, %v", len(b), err)
		}
		r.Close()
		l.check("range", 5000, 5000)
		if n := l.count(); n != 1 {
			t.Errorf("range: %d calls after Close, want 1", n)
		}
	})
	t.Run("empty range", func(t *testing.T) {
		l := &progressLog{t: t}
		r, err := got.Data.WithProgress(l.f).NewRangeReader(ctx, size, 10)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r)
		r.Close()
		l.check("empty range", 0, 0)
	})
	t.Run("closed early", func(t *testing.T) {
		l := &progressLog{t: t}
		r, err := got.Data.WithProgress(l.f).Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		r.Close()
		if l.count() != 1 || l.calls[0] != [2]int64{100, size} {
			t.Errorf("calls %v, want one (100, %d)", l.calls, size)
		}
	})
	t.Run("callback closes", func(t *testing.T) {
		// A callback may call Close (docblob holds no lock while it
		// runs): the read stops, and the end is reported once.
		l := &progressLog{t: t}
		var r io.ReadCloser
		closeMidway := func(done, total int64) {
			l.f(done, total)
			if done < total {
				r.Close()
			}
		}
		r, err := got.Data.WithProgress(closeMidway).Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		finished := make(chan error, 1)
		go func() {
			buf := make([]byte, 100)
			if _, err := r.Read(buf); err != nil {
				finished <- err
				return
			}
			time.Sleep(docblob.ProgressInterval + 10*time.Millisecond)
			r.Read(buf) // reports progress: the callback closes r
			_, err := r.Read(buf)
			finished <- err
		}()
		select {
		case err := <-finished:
			if docblob.Code(err) != docblob.FailedPrecondition {
				t.Errorf("Read after the callback closed the reader: %v, want code FailedPrecondition", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a callback that closes the reader deadlocked it")
		}
		if l.count() != 2 || l.calls[1] != [2]int64{200, size} {
			t.Errorf("calls %v, want 2: the one that closed, and the end at 200 bytes", l.calls)
		}
	})
	t.Run("closed during a read", func(t *testing.T) {
		// A Close from another goroutine while reads go on: the callback
		// never runs twice at once (progressLog checks), and ends once.
		for i := range 20 {
			l := &progressLog{t: t}
			r, err := got.Data.WithProgress(l.f).Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 512)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
				}
			}()
			time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
			r.Close()
			<-done
			l.mu.Lock()
			last := l.calls[len(l.calls)-1]
			l.mu.Unlock()
			if r.Close(); l.count() == 0 || last != l.calls[len(l.calls)-1] {
				t.Errorf("round %d: calls %v, want an end that a second Close does not repeat", i, l.calls)
			}
		}
	})
	t.Run("view", func(t *testing.T) {
		l := &progressLog{t: t}
		v := got.Data.WithProgress(l.f)
		if v == got.Data || v.Key() != got.Data.Key() || v.SHA256() != got.Data.SHA256() || v.Size() != size {
			t.Errorf("the view differs from the blob")
		}
		if _, err := got.Data.ReadAll(ctx); err != nil {
			t.Fatal(err)
		}
		if l.count() != 0 {
			t.Errorf("reading the blob itself called the view's callback")
		}
		nb := docblob.NewBlobBytes(data, nil)
		if nb.WithProgress(l.f) != nb {
			t.Errorf("WithProgress of a new blob did not return it")
		}
	})
	t.Run("copy by Put", func(t *testing.T) {
		l := &progressLog{t: t}
		other := memtest.New(t)
		if err := other.Put(ctx, &progressDoc{PK: "p", SK: "copy", Data: got.Data.WithProgress(l.f)}); err != nil {
			t.Fatal(err)
		}
		l.check("copy", size, size)
	})
}

// TestProgressRateBound reads and writes a large payload in small pieces:
// the callback is called at most once per ProgressInterval, plus the
// last call.
func TestProgressRateBound(t *testing.T) {
	ctx := context.Background()
	store := memtest.New(t)
	data := bytes.Repeat([]byte{7}, 32<<20) // 32 MiB
	size := int64(len(data))
	up := &progressLog{t: t}
	start := time.Now()
	src := &slowReader{data: data, chunk: 64 << 10, pause: time.Millisecond} // 512 reads
	doc := &progressDoc{PK: "p", SK: "big", Data: docblob.NewBlob(src, &docblob.BlobOptions{Progress: up.f})}
	if err := store.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	bound := int(time.Since(start)/docblob.ProgressInterval) + 1
	up.check("upload", size, -1)
	if n := up.count(); n > bound {
		t.Errorf("upload: %d calls in %v, want at most %d", n, time.Since(start), bound)
	}

	down := &progressLog{t: t}
	start = time.Now()
	r, err := doc.Data.WithProgress(down.f).Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4<<10) // 8192 reads
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	if n != size {
		t.Fatalf("read %d bytes, want %d", n, size)
	}
	bound = int(time.Since(start)/docblob.ProgressInterval) + 1
	down.check("read", size, size)
	if c := down.count(); c > bound {
		t.Errorf("read: %d calls in %v, want at most %d", c, time.Since(start), bound)
	}
}

// failingDeletes is a memory driver whose payload deletes fail.
type failingDeletes struct {
	driver.Driver
}

func (failingDeletes) DeleteBlob(context.Context, string) error {
	return &driver.Error{Code: driver.Unavailable, Err: errors.New("service unavailable")}
}

func TestCleanupErrorLog(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	ctx := context.Background()
	store, err := docblob.NewStore(failingDeletes{newMem(t)}, nil) // the default OnCleanupError
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	doc := &progressDoc{PK: "acme", SK: "2026-001", Data: docblob.NewBlobBytes([]byte("first version"), nil)}
	if err := store.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	oldKey := doc.Data.Key()
	doc.Data = docblob.NewBlobBytes([]byte("second version"), nil)
	if err := store.Put(ctx, doc); err != nil {
		t.Fatalf("Put failed for its clean-up: %v", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"level":   "WARN",
		"op":      "put",
		"key":     `("acme", "2026-001")`,
		"payload": oldKey,
		"code":    docblob.Unavailable.String(),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log attribute %q = %v, want %v (record %s)", k, rec[k], v, buf.String())
		}
	}
	if msg, _ := rec["err"].(string); !strings.Contains(msg, "service unavailable") || !strings.Contains(msg, oldKey) {
		t.Errorf("log attribute err = %q", msg)
	}
}

func TestCleanupErrorFields(t *testing.T) {
	ctx := context.Background()
	var got []error
	store, err := docblob.NewStore(failingDeletes{newMem(t)}, &docblob.Options{OnCleanupError: func(err error) { got = append(got, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	doc := &progressDoc{PK: "acme", SK: "1", Data: docblob.NewBlobBytes([]byte("v1"), nil)}
	if err := store.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	oldKey := doc.Data.Key()
	if err := store.Delete(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("OnCleanupError got %v, want one error", got)
	}
	var e *docblob.Error
	if !errors.As(got[0], &e) || e.Payload != oldKey || e.Key != (docblob.Key{Partition: "acme", Sort: "1"}) || e.Code != docblob.Unavailable {
		t.Errorf("OnCleanupError got %#v, want an *Error naming the document, payload %q and code Unavailable", got[0], oldKey)
	}
}

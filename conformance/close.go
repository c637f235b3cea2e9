package conformance

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// testClose: Close waits for a Put in flight, no driver method runs after
// the driver is closed, and every later operation fails with
// FailedPrecondition, payload readers opened before Close included.
func testClose(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	w := &closeWatch{Driver: e.rawDriver()}
	s, err := docblob.NewStore(w, nil)
	must(t, err, "NewStore")
	stored := &record{PK: "close", SK: "stored", File: docblob.NewBlobBytes(make([]byte, 100<<10), nil)}
	must(t, s.Put(e.ctx, stored), "Put")
	reader, err := stored.File.Open(e.ctx)
	must(t, err, "Open")
	defer reader.Close()

	g := &gatedReader{entered: make(chan struct{}), release: make(chan struct{}), r: io.LimitReader(zeros{}, 1000)}
	putErr := make(chan error, 1)
	go func() { putErr <- s.Put(e.ctx, &record{PK: "close", SK: "inflight", File: docblob.NewBlob(g, nil)}) }()
	<-g.entered
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	deadline := time.Now().Add(time.Minute)
	for docblob.Code(s.Get(e.ctx, &record{PK: "close", SK: "stored"})) != docblob.FailedPrecondition {
		if time.Now().After(deadline) {
			t.Fatal("Get still works a minute after Close began")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closeErr:
		t.Fatalf("Close returned (%v) while a Put was in flight", err)
	default:
	}
	close(g.release)
	must(t, <-putErr, "the Put in flight")
	must(t, <-closeErr, "Close")

	want := func(what string, err error) {
		t.Helper()
		if docblob.Code(err) != docblob.FailedPrecondition {
			t.Errorf("%s after Close: %v, want code FailedPrecondition", what, err)
		}
	}
	want("Put", s.Put(e.ctx, &record{PK: "close", SK: "late", File: docblob.NewBlobBytes([]byte("x"), nil)}))
	want("Get", s.Get(e.ctx, &record{PK: "close", SK: "stored"}))
	want("Delete", s.Delete(e.ctx, &record{PK: "close", SK: "stored"}))
	_, err = io.ReadAll(reader)
	want("Read of a reader opened before Close", err)
	_, err = stored.File.ReadAll(e.ctx)
	want("ReadAll", err)
	_, err = stored.File.SignedURL(e.ctx, nil)
	want("SignedURL", err)
	_, err = s.NewUpload(e.ctx, &record{PK: "close", SK: "u"}, "file", nil)
	want("NewUpload", err)
	_, err = s.Sweep(e.ctx, nil)
	want("Sweep", err)
	for _, err := range s.Check(e.ctx, nil) {
		want("Check", err)
	}
	for _, err := range docblob.All[record](e.ctx, s, &docblob.Query{Partition: "close"}) {
		want("Query", err)
	}
	want("ClaimNamespace", s.ClaimNamespace(e.ctx))
	if n := w.late.Load(); n != 0 {
		t.Errorf("%d driver calls after the driver was closed", n)
	}
	// Leave the env's store as the suite expects: nothing of this test.
	for _, sk := range []string{"stored", "inflight"} {
		must(t, e.store.Delete(e.ctx, &record{PK: "close", SK: sk}), "Delete")
	}
}

// closeWatch counts driver calls made after the driver was closed.
type closeWatch struct {
	driver.Driver
	closed atomic.Bool
	late   atomic.Int32
}

func (w *closeWatch) call() {
	if w.closed.Load() {
		w.late.Add(1)
	}
}

func (w *closeWatch) Close() error { w.closed.Store(true); return nil } // the env closes the real one

func (w *closeWatch) GetDocument(ctx context.Context, k driver.Key) (*driver.Document, error) {
	w.call()
	return w.Driver.GetDocument(ctx, k)
}

func (w *closeWatch) PutDocument(ctx context.Context, d *driver.Document, c driver.Condition) (*driver.Document, error) {
	w.call()
	return w.Driver.PutDocument(ctx, d, c)
}

func (w *closeWatch) DeleteDocument(ctx context.Context, k driver.Key, c driver.Condition) (*driver.Document, error) {
	w.call()
	return w.Driver.DeleteDocument(ctx, k, c)
}

func (w *closeWatch) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	w.call()
	return w.Driver.QueryDocuments(ctx, q)
}

func (w *closeWatch) WriteBlob(ctx context.Context, key string, r io.Reader, o *driver.WriteOptions) (*driver.BlobAttrs, error) {
	w.call()
	return w.Driver.WriteBlob(ctx, key, r, o)
}

func (w *closeWatch) OpenBlob(ctx context.Context, key string, off, n int64, o *driver.OpenOptions) (*driver.BlobReader, error) {
	w.call()
	return w.Driver.OpenBlob(ctx, key, off, n, o)
}

func (w *closeWatch) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	w.call()
	return w.Driver.StatBlob(ctx, key)
}

func (w *closeWatch) DeleteBlob(ctx context.Context, key string) error {
	w.call()
	return w.Driver.DeleteBlob(ctx, key)
}

func (w *closeWatch) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	w.call()
	return w.Driver.GetDocuments(ctx, keys)
}

func (w *closeWatch) DeleteBlobs(ctx context.Context, keys []string) []error {
	w.call()
	return w.Driver.DeleteBlobs(ctx, keys)
}

func (w *closeWatch) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	w.call()
	return w.Driver.ListBlobs(ctx, prefix, token)
}

func (w *closeWatch) SignedURL(ctx context.Context, key string, o *driver.SignedURLOptions) (string, error) {
	w.call()
	return w.Driver.SignedURL(ctx, key, o)
}

// gatedReader blocks its first Read until release is closed.
type gatedReader struct {
	entered chan struct{}
	release chan struct{}
	r       io.Reader
	once    bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if !g.once {
		g.once = true
		close(g.entered)
		<-g.release
	}
	return g.r.Read(p)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

package docblob_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/filestore"
	"github.com/docblob/docblob/drivers/memstore"
)

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

func (w *closeWatch) Close() error { w.closed.Store(true); return w.Driver.Close() }
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
func (w *closeWatch) OpenBlob(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	w.call()
	return w.Driver.OpenBlob(ctx, key, off, n)
}
func (w *closeWatch) DeleteBlob(ctx context.Context, key string) error {
	w.call()
	return w.Driver.DeleteBlob(ctx, key)
}
func (w *closeWatch) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	w.call()
	return w.Driver.ListBlobs(ctx, prefix, token)
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

// TestCloseIsFinal: Close waits for a Put in flight, no driver method runs
// after the driver is closed, and afterwards every operation, on every
// driver, fails with FailedPrecondition, including reads of a payload
// reader opened before Close.
func TestCloseIsFinal(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T) driver.Driver
	}{
		{"Memory", func(t *testing.T) driver.Driver { return memstore.New(nil) }},
		{"Files", func(t *testing.T) driver.Driver {
			d, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := &closeWatch{Driver: tc.make(t)}
			s, err := docblob.NewStore(w, nil)
			if err != nil {
				t.Fatal(err)
			}
			stored := &Invoice{Customer: "c", ID: "stored", PDF: docblob.NewBlobBytes(make([]byte, 100<<10), nil)}
			if err := s.Put(ctx, stored); err != nil {
				t.Fatal(err)
			}
			reader, err := stored.PDF.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()

			g := &gatedReader{entered: make(chan struct{}), release: make(chan struct{}), r: io.LimitReader(zeros{}, 1000)}
			putErr := make(chan error, 1)
			go func() { putErr <- s.Put(ctx, &Invoice{Customer: "c", ID: "inflight", PDF: docblob.NewBlob(g, nil)}) }()
			<-g.entered
			closeErr := make(chan error, 1)
			go func() { closeErr <- s.Close() }()
			// New operations fail as soon as Close has begun.
			deadline := time.Now().Add(10 * time.Second)
			for docblob.Code(s.Get(ctx, &Invoice{Customer: "c", ID: "stored"})) != docblob.FailedPrecondition {
				if time.Now().After(deadline) {
					t.Fatal("Get still works after Close began")
				}
				time.Sleep(time.Millisecond)
			}
			select {
			case err := <-closeErr:
				t.Fatalf("Close returned (%v) while a Put was in flight", err)
			default:
			}
			close(g.release)
			if err := <-putErr; err != nil {
				t.Errorf("the Put in flight: %v, want it to finish", err)
			}
			if err := <-closeErr; err != nil {
				t.Errorf("Close: %v", err)
			}

			want := func(what string, err error) {
				t.Helper()
				if docblob.Code(err) != docblob.FailedPrecondition {
					t.Errorf("%s after Close: %v, want code FailedPrecondition", what, err)
				}
			}
			want("Put", s.Put(ctx, &Invoice{Customer: "c", ID: "late", PDF: docblob.NewBlobBytes([]byte("x"), nil)}))
			want("Get", s.Get(ctx, &Invoice{Customer: "c", ID: "stored"}))
			want("Delete", s.Delete(ctx, &Invoice{Customer: "c", ID: "stored"}))
			_, err = io.ReadAll(reader)
			want("Read of a reader opened before Close", err)
			_, err = stored.PDF.ReadAll(ctx)
			want("ReadAll", err)
			_, err = stored.PDF.SignedURL(ctx, nil)
			want("SignedURL", err)
			_, err = s.NewUpload(ctx, &Invoice{Customer: "c", ID: "u"}, "pdf", nil)
			want("NewUpload", err)
			_, err = s.Sweep(ctx, nil)
			want("Sweep", err)
			for _, err := range s.Check(ctx, nil) {
				want("Check", err)
			}
			for _, err := range docblob.All[Invoice](ctx, s, &docblob.Query{Partition: "c"}) {
				want("Query", err)
			}
			want("ClaimNamespace", s.ClaimNamespace(ctx))
			if n := w.late.Load(); n != 0 {
				t.Errorf("%d driver calls after the driver was closed", n)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

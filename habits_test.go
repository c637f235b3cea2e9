package docblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/spy"
)

// countingSeeker is a seekable source that is not local (as a gocloud
// blob.Reader or an HTTP body wrapper): it counts what is read from it.
type countingSeeker struct {
	r           *bytes.Reader
	read, seeks int
}

func (c *countingSeeker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func (c *countingSeeker) Seek(off int64, whence int) (int64, error) {
	c.seeks++
	return c.r.Seek(off, whence)
}

// newMem returns a memory driver over new storage, failing the test if
// memstore.New fails.
func newMem(t testing.TB) *memstore.Driver {
	t.Helper()
	d, err := memstore.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func spyStore(t *testing.T, opts *docblob.Options) (*docblob.Store, *spy.Driver) {
	t.Helper()
	sp := spy.New(newMem(t))
	s, err := docblob.NewStore(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ClaimNamespace(context.Background()); err != nil {
		t.Fatal(err)
	}
	sp.Reset()
	return s, sp
}

// TestSeekableSourceReadOnce: a remote seekable source is read once, so a
// migration never downloads a payload twice.
func TestSeekableSourceReadOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := spyStore(t, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	src := &countingSeeker{r: bytes.NewReader(data)}
	doc := &receipt{User: "u", ID: "1", Scan: docblob.NewBlob(src, nil)}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if src.read != len(data) {
		t.Errorf("a %d-byte seekable source was read %d bytes, want exactly once", len(data), src.read)
	}
	if src.seeks > 1 {
		t.Errorf("the source was seeked %d times; want at most the position check of NewBlob", src.seeks)
	}
	got := &receipt{User: "u", ID: "1"}
	if err := s.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	if back, err := got.Scan.ReadAll(ctx); err != nil || !bytes.Equal(back, data) {
		t.Fatalf("read back %d bytes, %v", len(back), err)
	}
}

// TestCreateDoesNotUploadOverExisting: an idempotent re-run of Create
// fails before it uploads anything.
func TestCreateDoesNotUploadOverExisting(t *testing.T) {
	ctx := context.Background()
	s, sp := spyStore(t, nil)
	if err := s.Put(ctx, &receipt{User: "u", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	big := &countingSeeker{r: bytes.NewReader(make([]byte, 4<<20))}
	sp.Reset()
	err := s.Create(ctx, &receipt{User: "u", ID: "1", Scan: docblob.NewBlob(big, nil)})
	if docblob.Code(err) != docblob.AlreadyExists {
		t.Fatalf("Create over an existing document: %v", err)
	}
	if n := sp.Counts()[spy.WriteBlob]; n != 0 || big.read != 0 {
		t.Errorf("Create uploaded %d payloads (%d bytes read) before finding the key taken", n, big.read)
	}
	// A fresh key still costs one read and one upload.
	sp.Reset()
	if err := s.Create(ctx, &receipt{User: "u", ID: "2", Scan: docblob.NewBlob(bytes.NewReader(make([]byte, 2<<20)), nil)}); err != nil {
		t.Fatal(err)
	}
	if c := sp.Counts(); c[spy.GetDocument] != 1 || c[spy.WriteBlob] != 1 {
		t.Errorf("Create of a new key: %v", c)
	}
	// A small payload skips the read: the condition catches a taken key.
	sp.Reset()
	err = s.Create(ctx, &receipt{User: "u", ID: "1", Scan: docblob.NewBlobBytes([]byte("small"), nil)})
	if docblob.Code(err) != docblob.AlreadyExists {
		t.Fatalf("Create of a small payload over an existing document: %v", err)
	}
	if c := sp.Counts(); c[spy.GetDocument] != 0 {
		t.Errorf("Create of a small payload read first: %v", c)
	}
}

// TestBlobExpectations: BlobOptions.Size and SHA256 are checked on every
// kind of source, and nothing is written when they do not match.
func TestBlobExpectations(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("expected payload "), 4096)
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("other"))
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sources := map[string]func() (io.Reader, *countingSeeker){
		"Bytes":  func() (io.Reader, *countingSeeker) { return nil, nil },
		"Stream": func() (io.Reader, *countingSeeker) { return io.MultiReader(bytes.NewReader(data)), nil },
		"Seeker": func() (io.Reader, *countingSeeker) {
			c := &countingSeeker{r: bytes.NewReader(data)}
			return c, c
		},
		"File": func() (io.Reader, *countingSeeker) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, nil
		},
	}
	for _, tc := range []struct {
		name string
		opts docblob.BlobOptions
		code docblob.ErrorCode
	}{
		{"Match", docblob.BlobOptions{Size: int64(len(data)), SHA256: sum[:]}, docblob.OK},
		{"SizeOnly", docblob.BlobOptions{Size: int64(len(data))}, docblob.OK},
		{"Shorter", docblob.BlobOptions{Size: int64(len(data)) + 1}, docblob.InvalidArgument},
		{"Longer", docblob.BlobOptions{Size: 1000}, docblob.InvalidArgument},
		{"OtherChecksum", docblob.BlobOptions{SHA256: other[:]}, docblob.Corrupt},
		{"ShortChecksum", docblob.BlobOptions{SHA256: sum[:16]}, docblob.InvalidArgument},
		{"NegativeSize", docblob.BlobOptions{Size: -1}, docblob.InvalidArgument},
	} {
		for _, srcName := range []string{"Bytes", "Stream", "Seeker", "File"} {
			t.Run(tc.name+"/"+srcName, func(t *testing.T) {
				s, _ := spyStore(t, nil)
				r, counter := sources[srcName]()
				var b *docblob.Blob
				if r == nil {
					b = docblob.NewBlobBytes(data, &tc.opts)
				} else {
					b = docblob.NewBlob(r, &tc.opts)
				}
				err := s.Put(ctx, &receipt{User: "u", ID: "1", Scan: b})
				if docblob.Code(err) != tc.code {
					t.Fatalf("Put: %v, want code %v", err, tc.code)
				}
				if tc.code == docblob.OK {
					return
				}
				if docs, blobs := countStored(t, s); docs != 0 || blobs != 0 {
					t.Errorf("after a refused payload: %d documents, %d payloads stored", docs, blobs)
				}
				if tc.name == "Longer" && counter != nil && counter.read > 1000+(1<<20) {
					t.Errorf("read %d bytes of a payload expected to be 1000", counter.read)
				}
			})
		}
	}
}

// countStored counts the documents of partition "u" and the orphaned
// payloads of a store.
func countStored(t *testing.T, s *docblob.Store) (docs, orphans int) {
	t.Helper()
	for f, err := range s.Check(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind == docblob.OrphanPayload {
			orphans++
		}
	}
	for _, err := range docblob.All[receipt](context.Background(), s, &docblob.Query{Partition: "u"}) {
		if err != nil {
			t.Fatal(err)
		}
		docs++
	}
	return docs, orphans
}

func TestPage(t *testing.T) {
	ctx := context.Background()
	s, _ := spyStore(t, nil)
	for i := range 5 {
		if err := s.Put(ctx, &receipt{User: "u", ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	token := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("Page never returned an empty token")
		}
		docs, next, err := docblob.Page[receipt](ctx, s, &docblob.Query{Partition: "u", Descending: true, Limit: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) > 2 {
			t.Fatalf("page of %d documents, limit 2", len(docs))
		}
		for _, d := range docs {
			seen = append(seen, d.ID)
		}
		if next == "" {
			break
		}
		token = next
	}
	if fmt.Sprint(seen) != "[4 3 2 1 0]" {
		t.Errorf("pages gave %v", seen)
	}
	if _, _, err := docblob.Page[receipt](ctx, s, &docblob.Query{Partition: "v", PageToken: token}); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("a page token of another query: %v", err)
	}
}

// TestClockBehindRealTime: a store clock far from the real one (a test's
// fake clock) does not turn the commit deadline into an expired context.
func TestClockBehindRealTime(t *testing.T) {
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	s, _ := spyStore(t, &docblob.Options{Now: func() time.Time { return past }})
	doc := &receipt{User: "u", ID: "1", Scan: docblob.NewBlobBytes([]byte("payload"), nil)}
	if err := s.Put(context.Background(), doc); err != nil {
		t.Fatalf("Put with a clock in 2020: %v", err)
	}
	if !doc.Scan.Created().Equal(past) {
		t.Errorf("payload dated %v, want the store clock's %v", doc.Scan.Created(), past)
	}
}

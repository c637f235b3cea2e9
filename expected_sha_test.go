package docblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

// rewriting is a driver that rewrites the payload file (same size, other
// bytes) just before it stores it, as another process may between
// docblob's check of BlobOptions.SHA256 and the upload.
type rewriting struct {
	driver.Driver
	path string
}

func (d *rewriting) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if !strings.Contains(key, "/data/") { // the store's namespace marker
		return d.Driver.WriteBlob(ctx, key, r, opts)
	}
	b, err := os.ReadFile(d.path)
	if err != nil {
		return nil, err
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(d.path, b, 0o644); err != nil {
		return nil, err
	}
	return d.Driver.WriteBlob(ctx, key, r, opts)
}

// A file whose SHA-256 BlobOptions.SHA256 expects, rewritten after docblob
// checked it and before the driver read it, is not stored: the checksum
// of the store's algorithm is made in the pass that checked the SHA-256
// and handed to the driver, which refuses other bytes (code Corrupt).
func TestExpectedSHA256FileRewrittenBeforeUpload(t *testing.T) {
	for _, alg := range []docblob.Checksum{docblob.ChecksumCRC32C, docblob.ChecksumCRC64NVME, docblob.ChecksumSHA256} {
		t.Run(string(alg), func(t *testing.T) {
			ctx := context.Background()
			data := bytes.Repeat([]byte("expected payload "), 1000)
			path := filepath.Join(t.TempDir(), "payload.bin")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			mem, err := memstore.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			store, err := docblob.NewStore(&rewriting{Driver: mem, path: path}, &docblob.Options{Checksum: alg})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum := sha256.Sum256(data)
			doc := &progressDoc{PK: "p", SK: "s", Data: docblob.NewBlob(f, &docblob.BlobOptions{SHA256: sum[:]})}
			err = store.Put(ctx, doc)
			if docblob.Code(err) != docblob.Corrupt {
				t.Errorf("Put of a file rewritten before its upload: %v (code %v), want code Corrupt", err, docblob.Code(err))
			}
			if err := store.Get(ctx, &progressDoc{PK: "p", SK: "s"}); docblob.Code(err) != docblob.NotFound {
				t.Errorf("Get after the failed Put: %v, want NotFound", err)
			}
		})
	}
}

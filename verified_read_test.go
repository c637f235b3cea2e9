package docblob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
)

// flipping is a driver whose whole reads with a checksum return the
// stored bytes with one flipped, reporting the reader Verified (a driver
// whose backend vouches for the checksum) or not.
type flipping struct {
	driver.Driver
	verified bool
	opened   int
}

func (d *flipping) OpenBlob(ctx context.Context, key string, off, n int64, opts *driver.OpenOptions) (*driver.BlobReader, error) {
	br, err := d.Driver.OpenBlob(ctx, key, off, n, opts)
	if err != nil || opts == nil || !opts.Checksum.Valid() {
		return br, err
	}
	d.opened++
	data, err := io.ReadAll(br)
	br.Close()
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		data[len(data)/2] ^= 0x01
	}
	return &driver.BlobReader{ReadCloser: io.NopCloser(bytes.NewReader(data)), Verified: d.verified}, nil
}

// TestVerifiedReadNotHashed checks that the Store does not hash a whole
// read whose driver reader is Verified (the driver's backend vouches for
// the checksum, as S3 does on s3dynamo), for every algorithm: bytes that
// do not match the recorded checksum pass, because the Store did not
// hash them; from a reader that is not Verified, they fail with Corrupt.
func TestVerifiedReadNotHashed(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("verified by the driver "), 100)
	for _, alg := range []docblob.Checksum{docblob.ChecksumCRC32C, docblob.ChecksumCRC64NVME, docblob.ChecksumSHA256} {
		for _, verified := range []bool{true, false} {
			mem, err := memstore.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			d := &flipping{Driver: mem, verified: verified}
			store, err := docblob.NewStore(d, &docblob.Options{Checksum: alg})
			if err != nil {
				t.Fatal(err)
			}
			doc := map[string]any{"pk": "p", "sk": "s", "file": docblob.NewBlobBytes(data, nil)}
			if err := store.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
			got, err := doc["file"].(*docblob.Blob).ReadAll(ctx)
			switch {
			case d.opened != 1:
				t.Errorf("%s: %d whole reads with a checksum, want 1", alg, d.opened)
			case verified && (err != nil || len(got) != len(data) || bytes.Equal(got, data)):
				t.Errorf("%s, Verified reader: ReadAll = %d bytes, %v; want the driver's bytes, unhashed", alg, len(got), err)
			case !verified && docblob.Code(err) != docblob.Corrupt:
				t.Errorf("%s, reader not Verified: ReadAll = %d bytes, %v; want code Corrupt", alg, len(got), err)
			}
			store.Close()
		}
	}
}

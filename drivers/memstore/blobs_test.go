package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// cutReader returns data, then fails as a connection cut short would.
type cutReader struct {
	data []byte
	err  error
}

func (c *cutReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, c.err
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestWriteBlobSourceErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		size int64
		err  error
	}{
		{"UnexpectedEOFUnknownSize", -1, io.ErrUnexpectedEOF},
		{"UnexpectedEOFKnownSize", 100000, io.ErrUnexpectedEOF},
		{"OtherError", -1, errors.New("reset")},
		{"ShortKnownSize", 100000, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newMem(t, nil)
			src := &cutReader{data: bytes.Repeat([]byte("x"), 70000), err: tc.err}
			_, err := d.WriteBlob(ctx, "k", src, &driver.WriteOptions{Size: tc.size})
			if err == nil {
				t.Fatal("WriteBlob stored a payload whose source failed")
			}
			if _, err := d.blobData("k"); !errors.Is(err, errNotFound) {
				t.Errorf("a failed write left a payload: %v", err)
			}
		})
	}
}

func TestStatBlobSHA256(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("payload "), 20000)
	sum := sha256.Sum256(data)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := newMem(t, &Options{Now: func() time.Time { return clock }})
	for _, tc := range []struct {
		name string
		opts *driver.WriteOptions
		want []byte
	}{
		{"Plain", &driver.WriteOptions{Size: -1, ContentType: "text/plain"}, driver.CRC32C.Sum(data)},
		{"NilOptions", nil, driver.CRC32C.Sum(data)},
		{"Record", &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, ContentType: "text/plain"}, sum[:]},
		{"RecordKnownSize", &driver.WriteOptions{Size: int64(len(data)), Checksum: driver.SHA256}, sum[:]},
		{"Verified", &driver.WriteOptions{Size: int64(len(data)), Checksum: driver.SHA256, Sum: sum[:]}, sum[:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k/" + tc.name
			if _, err := d.WriteBlob(ctx, key, bytes.NewReader(data), tc.opts); err != nil {
				t.Fatal(err)
			}
			info, err := d.StatBlob(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if info.Key != key || info.Size != int64(len(data)) || !info.ModTime.Equal(clock) {
				t.Errorf("StatBlob = %+v, want key %q, size %d, mod time %v", info, key, len(data), clock)
			}
			if !bytes.Equal(info.Checksum.Sum, tc.want) || (tc.want == nil) != (info.Checksum.Sum == nil) {
				t.Errorf("SHA256 = %x, want %x", info.Checksum.Sum, tc.want)
			}
			if tc.opts != nil && info.ContentType != tc.opts.ContentType {
				t.Errorf("ContentType = %q, want %q", info.ContentType, tc.opts.ContentType)
			}
		})
	}
	t.Run("Mismatch", func(t *testing.T) {
		bad := sha256.Sum256([]byte("other"))
		_, err := d.WriteBlob(ctx, "k/bad", bytes.NewReader(data), &driver.WriteOptions{Size: -1, Checksum: driver.SHA256, Sum: bad[:]})
		if d.ErrorCode(err) != driver.Corrupt {
			t.Fatalf("WriteBlob with a wrong SHA-256: %v, want Corrupt", err)
		}
		if _, err := d.StatBlob(ctx, "k/bad"); d.ErrorCode(err) != driver.NotFound {
			t.Errorf("StatBlob after a refused write: %v, want NotFound", err)
		}
	})
	t.Run("Replaced", func(t *testing.T) {
		if err := d.replaceBlobData("k/Record", []byte("changed")); err != nil {
			t.Fatal(err)
		}
		info, err := d.StatBlob(ctx, "k/Record")
		if err != nil {
			t.Fatal(err)
		}
		if info.Checksum.Sum != nil || info.Size != 7 {
			t.Errorf("after replaceBlobData: %+v, want size 7 and no SHA-256", info)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if _, err := d.StatBlob(ctx, "k/missing"); d.ErrorCode(err) != driver.NotFound {
			t.Errorf("StatBlob of a missing key: %v, want NotFound", err)
		}
	})
}

package memstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

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
			d := New(nil)
			src := &cutReader{data: bytes.Repeat([]byte("x"), 70000), err: tc.err}
			_, err := d.WriteBlob(ctx, "k", src, &driver.WriteOptions{Size: tc.size})
			if err == nil {
				t.Fatal("WriteBlob stored a payload whose source failed")
			}
			if _, err := d.BlobData("k"); !errors.Is(err, errNotFound) {
				t.Errorf("a failed write left a payload: %v", err)
			}
		})
	}
}

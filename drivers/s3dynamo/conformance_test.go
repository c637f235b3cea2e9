package s3dynamo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/testservers"
)

func TestConformance(t *testing.T) {
	testservers.Endpoints(t) // skip or fail early without the servers
	conformance.Run(t, newHarness)
}

// harness is a fresh table and bucket of their own for one conformance
// test.
type harness struct {
	f *fixture
}

func newHarness(ctx context.Context, t *testing.T) (conformance.Harness, error) {
	return &harness{f: newFixture(t, nil)}, nil
}

// MakeDriver returns a new driver over the harness's table and bucket.
func (h *harness) MakeDriver(ctx context.Context) (driver.Driver, error) {
	o := h.f.opts
	return New(ctx, &o)
}

// CorruptBlob rewrites the object with as many different bytes, through
// the S3 client.
func (h *harness) CorruptBlob(ctx context.Context, key string) error {
	in := &s3.GetObjectInput{Bucket: aws.String(h.f.opts.Bucket), Key: aws.String(escapeKey(key))}
	out, err := h.f.s3.GetObject(ctx, in)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("payload %q is empty", key)
	}
	for i := range data {
		data[i] ^= 0x5a
	}
	_, err = h.f.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: in.Bucket, Key: in.Key, Body: bytes.NewReader(data), ContentType: out.ContentType,
	})
	return err
}

// Close does nothing: the fixture removes the table and bucket when the
// test ends.
func (h *harness) Close() {}

package s3dynamo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/testservers"
	"gocloud.dev/blob"
)

func TestConformance(t *testing.T) {
	testservers.Endpoints(t) // skip or fail early without the servers
	conformance.Run(t, newHarness)
}

// harness is a fresh table and bucket of their own for one conformance
// test, and the further tables of MakeCollectionDriver over that bucket.
type harness struct {
	f *fixture

	mu     sync.Mutex
	tables map[string]Options // by collection name
}

func newHarness(ctx context.Context, t *testing.T) (conformance.Harness, error) {
	return &harness{f: newFixture(t, nil)}, nil
}

// WireRequests implements conformance.Wire: the requests counted on the
// wire by the fixture's HTTP client, which every driver of the harness
// shares.
func (h *harness) WireRequests() int { return h.f.wire.WireRequests() }

// LoseWriteResponse implements conformance.Wire.
func (h *harness) LoseWriteResponse(lost func()) { h.f.wire.LoseWriteResponse(lost) }

// MakeDriver returns a new driver over the harness's table and bucket.
func (h *harness) MakeDriver(ctx context.Context) (driver.Driver, error) {
	o := h.f.opts
	return New(&o)
}

// MakeCollectionDriver returns a driver over the harness's bucket and a
// table of its own for c.Name, created on first use. The table's name is
// the harness table's followed by "-" and c.Name, unique on a shared
// server.
func (h *harness) MakeCollectionDriver(ctx context.Context, c conformance.Collection) (driver.Driver, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.tables[c.Name]
	if !ok {
		o = h.f.opts
		o.Table = h.f.table + "-" + c.Name
		o.PartitionKey, o.SortKey = c.Keys()
		o.NoSortKey = c.NoSortKey
		if err := CreateTable(ctx, &o); err != nil {
			return nil, err
		}
		if h.tables == nil {
			h.tables = map[string]Options{}
		}
		h.tables[c.Name] = o
	}
	return New(&o)
}

// AsTest lists what the harness's stores expose: the SDK clients and
// the bucket, and the SDK's errors (a failed condition's
// ConditionalCheckFailedException, S3's NoSuchKey).
func (h *harness) AsTest() conformance.AsTest {
	return conformance.AsTest{
		Clients: []any{new(*s3.Client), new(*dynamodb.Client), new(*blob.Bucket)},
		Errors: []conformance.ErrorAs{
			{Failure: "CreateExisting", Target: new(*ddbtypes.ConditionalCheckFailedException)},
			{Failure: "CreateExisting", Target: new(smithy.APIError)},
			{Failure: "RevisionConflict", Target: new(*ddbtypes.ConditionalCheckFailedException)},
			{Failure: "ReadMissing", Target: new(smithy.APIError)},
		},
	}
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

// Close removes the tables of MakeCollectionDriver; the fixture removes its
// own table and the bucket when the test ends.
func (h *harness) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range h.tables {
		if _, err := h.f.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(o.Table)}); err != nil {
			h.f.t.Logf("deleting table %q: %v", o.Table, err)
		}
	}
	h.tables = nil
}

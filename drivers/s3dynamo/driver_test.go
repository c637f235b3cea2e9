package s3dynamo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"gocloud.dev/blob"
)

// The number of requests on the wire is part of the contract.
func TestRequestCounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	data := []byte("a small payload")
	key := driver.Key{Partition: "acme", Sort: "2026-001"}
	steps := []struct {
		name     string
		run      func() error
		service  string
		method   string
		requests int
	}{
		{"WriteBlob", func() error {
			_, err := f.drv.WriteBlob(ctx, "p/1", bytes.NewReader(data), &driver.WriteOptions{ContentType: "text/plain", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sha(data)})
			return err
		}, "s3", http.MethodPut, 1},
		{"WriteBlob (size unknown)", func() error {
			_, err := f.drv.WriteBlob(ctx, "p/2", io.MultiReader(bytes.NewReader(data)), &driver.WriteOptions{ContentType: "text/plain", Size: -1})
			return err
		}, "s3", http.MethodPut, 1},
		{"PutDocument", func() error {
			_, err := f.drv.PutDocument(ctx, doc(key.Partition, key.Sort, "r1", map[string]any{"title": "March"}), driver.Condition{Kind: driver.MustNotExist})
			return err
		}, "dynamodb", http.MethodPost, 1},
		{"PutDocument (replace)", func() error {
			_, err := f.drv.PutDocument(ctx, doc(key.Partition, key.Sort, "r2", nil), driver.Condition{Kind: driver.MustMatchRevision, Revision: "r1"})
			return err
		}, "dynamodb", http.MethodPost, 1},
		{"GetDocument", func() error {
			_, err := f.drv.GetDocument(ctx, key)
			return err
		}, "dynamodb", http.MethodPost, 1},
		{"QueryDocuments", func() error {
			_, err := f.drv.QueryDocuments(ctx, &driver.Query{Partition: key.Partition})
			return err
		}, "dynamodb", http.MethodPost, 1},
		{"OpenBlob", func() error {
			r, err := f.drv.OpenBlob(ctx, "p/1", 0, -1, nil)
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			return err
		}, "s3", http.MethodGet, 1},
		{"OpenBlob (range)", func() error {
			r, err := f.drv.OpenBlob(ctx, "p/1", 2, 3, nil)
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			return err
		}, "s3", http.MethodGet, 1},
		{"DeleteDocument", func() error {
			_, err := f.drv.DeleteDocument(ctx, key, driver.Condition{})
			return err
		}, "dynamodb", http.MethodPost, 1},
		{"DeleteBlob", func() error { return f.drv.DeleteBlob(ctx, "p/1") }, "s3", http.MethodDelete, 1},
		{"DeleteBlob (missing)", func() error { return f.drv.DeleteBlob(ctx, "p/1") }, "s3", http.MethodDelete, 1},
		{"ListBlobs", func() error {
			_, err := f.drv.ListBlobs(ctx, "p/", "")
			return err
		}, "s3", http.MethodGet, 1},
	}
	for _, s := range steps {
		f.wire.reset()
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		reqs := f.wire.requests()
		if len(reqs) != s.requests || f.wire.count(s.service, s.method) != s.requests {
			var got []string
			for _, r := range reqs {
				got = append(got, r.service+" "+r.method+" "+r.op)
			}
			t.Errorf("%s sent %q, want %d %s %s", s.name, got, s.requests, s.service, s.method)
		}
	}
}

// An item written by the driver, read with the plain SDK, has the
// documented layout.
func TestItemLayout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	data := []byte("%PDF-1.7 ...")
	sum := sha256.Sum256(data)
	attrs, err := f.drv.WriteBlob(ctx, "invoices/acme/2026-001/pdf/01J", bytes.NewReader(data), &driver.WriteOptions{ContentType: "application/pdf", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sum[:]})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 31, 9, 15, 0, 0, time.UTC)
	ref := &attach.Ref{
		Bucket: f.drv.Info().Container, Key: "invoices/acme/2026-001/pdf/01J", Size: int64(len(data)),
		ContentType: "application/pdf", Checksum: driver.Checksum{Algorithm: driver.SHA256, Sum: sum[:]}, ETag: attrs.ETag, Name: "march.pdf",
		Created: created, Metadata: map[string]string{"origin": "scanner"},
	}
	d := doc("acme", "2026-001", "0f8e2c1a", map[string]any{
		"title": "March", "total": 1234.5, "pdf": ref.Encode(),
		"logo": (&attach.Ref{Size: 3, ContentType: "image/png", Checksum: driver.Checksum{Algorithm: driver.SHA256, Sum: sum[:]}, Created: created, Inline: []byte("png"), IsInline: true}).Encode(),
	})
	if _, err := f.drv.PutDocument(ctx, d, driver.Condition{}); err != nil {
		t.Fatal(err)
	}
	out, err := f.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(f.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "acme"},
			"sk": &types.AttributeValueMemberS{Value: "2026-001"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	item := out.Item
	s := func(m map[string]types.AttributeValue, name, want string) {
		t.Helper()
		if v, ok := m[name].(*types.AttributeValueMemberS); !ok || v.Value != want {
			t.Errorf("%s = %#v, want S %q", name, m[name], want)
		}
	}
	n := func(m map[string]types.AttributeValue, name, want string) {
		t.Helper()
		if v, ok := m[name].(*types.AttributeValueMemberN); !ok || v.Value != want {
			t.Errorf("%s = %#v, want N %s", name, m[name], want)
		}
	}
	s(item, "pk", "acme")
	s(item, "sk", "2026-001")
	s(item, "DocstoreRevision", "0f8e2c1a")
	s(item, "title", "March")
	n(item, "total", "1234.5")
	pdf, ok := item["pdf"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("pdf = %#v, want M", item["pdf"])
	}
	n(pdf.Value, "docblob", "1")
	s(pdf.Value, "bucket", f.opts.Bucket)
	s(pdf.Value, "key", "invoices/acme/2026-001/pdf/01J")
	n(pdf.Value, "size", "12")
	s(pdf.Value, "content_type", "application/pdf")
	s(pdf.Value, "sha256", hex.EncodeToString(sum[:]))
	s(pdf.Value, "etag", attrs.ETag)
	s(pdf.Value, "name", "march.pdf")
	s(pdf.Value, "created", "2026-03-31T09:15:00Z")
	md, ok := pdf.Value["metadata"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("metadata = %#v, want M", pdf.Value["metadata"])
	}
	s(md.Value, "origin", "scanner")
	if _, ok := pdf.Value["data"]; ok {
		t.Error("a stored payload has a data attribute")
	}
	logo := item["logo"].(*types.AttributeValueMemberM).Value
	if b, ok := logo["data"].(*types.AttributeValueMemberB); !ok || string(b.Value) != "png" {
		t.Errorf("inline data = %#v, want B", logo["data"])
	}
	if _, ok := logo["key"]; ok {
		t.Error("an inline payload has a key attribute")
	}
	if len(item) != 7 {
		t.Errorf("item has %d attributes, want 7: %v", len(item), item)
	}

	// And the driver reads it back as the portable layer encoded it.
	got, err := f.drv.GetDocument(ctx, d.Key)
	if err != nil {
		t.Fatal(err)
	}
	back, err := attach.Decode(got.Fields["pdf"])
	if err != nil {
		t.Fatalf("attach.Decode: %v", err)
	}
	if back.Key != ref.Key || back.Size != ref.Size || !back.Created.Equal(created) || back.Metadata["origin"] != "scanner" || back.Bucket != f.opts.Bucket {
		t.Errorf("decoded attachment %+v", back)
	}
}

func TestAs(t *testing.T) {
	t.Parallel()
	d, err := New(&Options{Table: "t", Bucket: "b", AWS: &aws.Config{Region: "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var sc *s3.Client
	var dc *dynamodb.Client
	var b *blob.Bucket
	if !d.As(&sc) || sc == nil || !d.As(&dc) || dc == nil || !d.As(&b) || b == nil {
		t.Error("As did not expose the clients")
	}
	var other *http.Client
	if d.As(&other) {
		t.Error("As accepted *http.Client")
	}
}

func TestOptionsValidation(t *testing.T) {
	cfg := &aws.Config{Region: "us-east-1"}
	for name, o := range map[string]*Options{
		"nil":                 nil,
		"no table":            {Bucket: "b", AWS: cfg},
		"no bucket":           {Table: "t", AWS: cfg},
		"same keys":           {Table: "t", Bucket: "b", PartitionKey: "k", SortKey: "k", AWS: cfg},
		"no sort, sort key":   {Table: "t", Bucket: "b", NoSortKey: true, SortKey: "s", AWS: cfg},
		"part size":           {Table: "t", Bucket: "b", PartSize: 1 << 20, AWS: cfg},
		"huge part size":      {Table: "t", Bucket: "b", PartSize: 6 << 30, AWS: cfg},
		"upload concurrency":  {Table: "t", Bucket: "b", UploadConcurrency: -1, AWS: cfg},
		"read part size":      {Table: "t", Bucket: "b", ReadPartSize: MinReadPartSize - 1, AWS: cfg},
		"huge read part size": {Table: "t", Bucket: "b", ReadPartSize: 6 << 30, AWS: cfg},
		"read concurrency":    {Table: "t", Bucket: "b", ReadConcurrency: -1, AWS: cfg},
		"sse":                 {Table: "t", Bucket: "b", ServerSideEncryption: "rot13", AWS: cfg},
		"kms without sse":     {Table: "t", Bucket: "b", KMSKeyID: "k", AWS: cfg},
		"revision key":        {Table: "t", Bucket: "b", PartitionKey: revisionAttr, AWS: cfg},
		"no region":           {Table: "t", Bucket: "b", AWS: &aws.Config{}},
		"endpoint":            {Table: "t", Bucket: "b", AWS: cfg, S3Endpoint: "127.0.0.1:9000"},
	} {
		if _, err := New(o); errorCode(err) != driver.InvalidArgument {
			t.Errorf("%s: New error %v, want InvalidArgument", name, err)
		}
	}
	d, err := New(&Options{Table: "t", Bucket: "b", AWS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	want := driver.Info{PartitionKey: "pk", SortKey: "sk", MaxPartitionKeyBytes: 2048, MaxSortKeyBytes: 1024, MaxDocumentBytes: 400 * 1024, MaxBlobKeyBytes: 1024, Container: "b",
		Collection: "t", CollectionID: "dynamodb:us-east-1:t", DynamoDBValues: true, RevisionKey: driver.DefaultRevisionKey, SignsURLs: true}
	if d.Info() != want {
		t.Errorf("Info = %+v, want %+v", d.Info(), want)
	}
	// A proxy or VPC endpoint in front of the table is the same
	// collection; a global table names its collection itself.
	viaProxy, err := New(&Options{Table: "t", Bucket: "b", AWS: cfg, DynamoDBEndpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := viaProxy.Info().CollectionID; got != want.CollectionID {
		t.Errorf("CollectionID through another endpoint = %q, want %q", got, want.CollectionID)
	}
	global, err := New(&Options{Table: "t", Bucket: "b", AWS: cfg, CollectionID: "global:t"})
	if err != nil {
		t.Fatal(err)
	}
	if got := global.Info().CollectionID; got != "global:t" {
		t.Errorf("CollectionID = %q, want the one given", got)
	}
}

// The S3 client and bucket are made on first use, so that a cold start
// that only reads documents does not pay for them; closing a driver that
// never made them works.
func TestS3ClientMadeOnFirstUse(t *testing.T) {
	cfg := &aws.Config{Region: "us-east-1"}
	d, err := New(&Options{Table: "t", Bucket: "b", AWS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if d.s3Made.Load() {
		t.Fatal("New made the S3 client")
	}
	var c *s3.Client
	if !d.As(&c) || c == nil || !d.s3Made.Load() {
		t.Fatalf("As(**s3.Client) gave %v; made %v", c, d.s3Made.Load())
	}
	if c != d.s3() {
		t.Error("a second use made another S3 client")
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	unused, err := New(&Options{Table: "t", Bucket: "b", AWS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := unused.Close(); err != nil || unused.s3Made.Load() {
		t.Errorf("Close of an unused driver: %v; made the S3 client %v", err, unused.s3Made.Load())
	}
}

func TestEscapeKeyUnit(t *testing.T) {
	for in, want := range map[string]string{
		"plain/key.pdf":        "plain/key.pdf",
		"a\x01b":               "a__0x1__b",
		"a/../b":               "a/..__0x2f__b",
		"__0x41__":             "__0x5f___0x41__",
		"__0x__":               "__0x__",
		"__0xzz__":             "__0xzz__",
		"..":                   "..",
		"ünï/../":              "ünï/..__0x2f__",
		strings.Repeat("x", 3): "xxx",
	} {
		if got := escapeKey(in); got != want {
			t.Errorf("escapeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// DeleteTableAndBucket removes a table and a bucket holding data and an
// unfinished upload, and is fine with them already gone.
func TestDeleteTableAndBucket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.drv.WriteBlob(ctx, "k", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(f.opts.Bucket), Key: aws.String("unfinished")}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := DeleteTableAndBucket(ctx, &f.opts); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if _, err := f.drv.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"}); errorCode(err) != driver.NotFound {
		t.Errorf("table after deletion: %v", err)
	}
	if _, err := f.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(f.opts.Bucket)}); err == nil {
		t.Error("the bucket still exists")
	}
}

package s3dynamo

import (
	"context"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/testservers"
)

func TestOptionsFromURL(t *testing.T) {
	u, _ := url.Parse("s3dynamo://Invoices_2026.prod?bucket=my-bucket&region=eu-west-1&partition_key=tenant&sort_key=id" +
		"&endpoint=http://127.0.0.1:9&dynamodb_endpoint=http://127.0.0.1:8&path_style=true&sse=aws:kms&kms_key_id=alias/k" +
		"&part_size=6291456&upload_concurrency=2&consistent_read=false&read_part_size=2097152&read_concurrency=6")
	o, region, err := optionsFromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Table: "Invoices_2026.prod", Bucket: "my-bucket", PartitionKey: "tenant", SortKey: "id",
		S3Endpoint: "http://127.0.0.1:9", DynamoDBEndpoint: "http://127.0.0.1:8", UsePathStyle: true,
		ServerSideEncryption: SSEKMS, KMSKeyID: "alias/k", PartSize: 6291456, UploadConcurrency: 2,
		ReadPartSize: 2097152, ReadConcurrency: 6, EventuallyConsistentReads: true,
	}
	if *o != want || region != "eu-west-1" {
		t.Errorf("got %+v region %q,\nwant %+v", *o, region, want)
	}

	u, _ = url.Parse("s3dynamo://t?bucket=b&no_sort_key=true&consistent_read=true")
	o, _, err = optionsFromURL(u)
	if err != nil || !o.NoSortKey || o.EventuallyConsistentReads {
		t.Errorf("no_sort_key: %+v, %v", o, err)
	}

	for _, bad := range []string{
		"s3dynamo://t?bucket=b&colour=blue",
		"s3dynamo://t?bucket=b&bucket=c",
		"s3dynamo://t?bucket=b&path_style=perhaps",
		"s3dynamo://?bucket=b",
		"s3dynamo://t:8000?bucket=b",
		"s3dynamo://user:pass@t?bucket=b",
		"s3dynamo://t/extra?bucket=b",
		"s3dynamo://t?bucket=b&part_size=-1",
		"s3dynamo://t?bucket=b&upload_concurrency=x",
		"s3dynamo://t?bucket=b&read_part_size=0",
		"s3dynamo://t?bucket=b&read_concurrency=-2",
		"file:///t?bucket=b",
	} {
		u, err := url.Parse(bad)
		if err != nil {
			continue
		}
		if _, _, err := optionsFromURL(u); errorCode(err) != driver.InvalidArgument {
			t.Errorf("%s: error %v, want InvalidArgument", bad, err)
		} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pass") {
			t.Errorf("%s: error repeats user information: %v", bad, err)
		}
	}
	// Options that only New checks come through OpenDriverURL too.
	for _, bad := range []string{
		"s3dynamo://t?bucket=b&region=us-east-1&no_sort_key=true&sort_key=s",
		"s3dynamo://t?bucket=b&region=us-east-1&endpoint=127.0.0.1:9000",
		"s3dynamo://t?bucket=b&region=us-east-1&s3_endpoint=http://user:secret@127.0.0.1:9000",
		"s3dynamo://t?bucket=b&region=us-east-1&part_size=1024",
		"s3dynamo://t?bucket=b&region=us-east-1&read_part_size=1024",
		"s3dynamo://t?bucket=b&region=us-east-1&sse=none",
	} {
		u, _ = url.Parse(bad)
		_, err := OpenDriverURL(context.Background(), u)
		if errorCode(err) != driver.InvalidArgument {
			t.Errorf("%s: error %v, want InvalidArgument", bad, err)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error repeats user information: %v", bad, err)
		}
	}
	u, _ = url.Parse("s3dynamo://t?bucket=b&region=us-east-1")
	if d, err := OpenDriverURL(context.Background(), u); err != nil {
		t.Errorf("OpenDriverURL: %v", err)
	} else {
		d.Close()
	}
}

// The scheme is registered, and a store opened by URL works end to end
// with credentials from the environment.
func TestOpenURL(t *testing.T) {
	srv := testservers.Endpoints(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretAccessKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx := testContext(t)
	name := uniqueName("docblob-url")
	o := &Options{
		Table: name, Bucket: name, S3Endpoint: srv.S3Endpoint, DynamoDBEndpoint: srv.DynamoDBEndpoint, UsePathStyle: true,
		AWS: testAWSConfig(srv, newCounter(srv), srv.AccessKeyID, srv.SecretAccessKey),
	}
	if err := CreateTable(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := CreateBucket(ctx, o); err != nil {
		t.Fatal(err)
	}
	// Provisioning is idempotent.
	if err := CreateTable(ctx, o); err != nil {
		t.Errorf("CreateTable again: %v", err)
	}
	if err := CreateBucket(ctx, o); err != nil {
		t.Errorf("CreateBucket again: %v", err)
	}
	other := *o
	other.SortKey = "other"
	if err := CreateTable(ctx, &other); err == nil {
		t.Error("CreateTable accepted an existing table with another key schema")
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, opts: *o, drv: d, s3: d.s3(), ddb: d.ddb, table: name}
	t.Cleanup(f.destroy)

	q := url.Values{
		"bucket": {name}, "region": {srv.Region}, "s3_endpoint": {srv.S3Endpoint},
		"dynamodb_endpoint": {srv.DynamoDBEndpoint}, "path_style": {"true"},
	}
	store, err := docblob.Open(ctx, "s3dynamo://"+name+"?"+q.Encode())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer store.Close()
	type invoice struct {
		Customer string        `docstore:"pk"`
		ID       string        `docstore:"sk"`
		Title    string        `docstore:"title"`
		PDF      *docblob.Blob `docstore:"pdf"`
	}
	in := &invoice{Customer: "acme", ID: "2026-001", Title: "March",
		PDF: docblob.NewBlobBytes([]byte("%PDF-1.7 march"), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, in); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got := &invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Title != "March" || got.PDF == nil || got.PDF.Bucket() != name {
		t.Fatalf("Get = %+v", got)
	}
	r, err := got.PDF.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != "%PDF-1.7 march" {
		t.Fatalf("payload %q, %v", b, err)
	}
	if err := store.Delete(ctx, got); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if keys := f.rawKeys(ctx); len(keys) != 0 {
		t.Errorf("payloads left after Delete: %q", keys)
	}
}

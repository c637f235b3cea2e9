package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/testservers"
)

func TestErrorCodeTable(t *testing.T) {
	api := func(code, msg string) error {
		return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: msg})
	}
	cases := []struct {
		err  error
		want driver.ErrorCode
	}{
		{nil, driver.OK},
		{errors.New("something else"), driver.Unknown},
		{context.Canceled, driver.Unknown},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), driver.Unknown},
		{api("NoSuchKey", ""), driver.NotFound},
		{api("NotFound", ""), driver.NotFound},
		{api("NoSuchBucket", ""), driver.NotFound},
		{api("ResourceNotFoundException", "Requested resource not found"), driver.NotFound},
		{api("AccessDenied", ""), driver.PermissionDenied},
		{api("InvalidAccessKeyId", ""), driver.PermissionDenied},
		{api("SignatureDoesNotMatch", ""), driver.PermissionDenied},
		{api("UnrecognizedClientException", ""), driver.PermissionDenied},
		{api("ExpiredToken", ""), driver.PermissionDenied},
		{api("ExpiredTokenException", ""), driver.PermissionDenied},
		{&types.ConditionalCheckFailedException{}, driver.FailedPrecondition},
		{newCoded(driver.AlreadyExists, "exists", &types.ConditionalCheckFailedException{}), driver.AlreadyExists},
		{api("ValidationException", "Item size has exceeded the maximum allowed size"), driver.TooLarge},
		{api("ValidationException", "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes"), driver.TooLarge},
		{api("ValidationException", "One or more parameter values were invalid: Type mismatch"), driver.InvalidArgument},
		{api("EntityTooLarge", ""), driver.TooLarge},
		{api("ItemCollectionSizeLimitExceededException", ""), driver.TooLarge},
		{api("ProvisionedThroughputExceededException", ""), driver.Unavailable},
		{api("ThrottlingException", ""), driver.Unavailable},
		{api("RequestLimitExceeded", ""), driver.Unavailable},
		{api("SlowDown", ""), driver.Unavailable},
		{api("InternalError", ""), driver.Unavailable},
		{api("BadDigest", ""), driver.Corrupt},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, driver.Unavailable},
		{io.ErrUnexpectedEOF, driver.Unavailable},
	}
	for _, c := range cases {
		if got := errorCode(c.err); got != c.want {
			t.Errorf("errorCode(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestMissingTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	o := f.opts
	o.Table = uniqueName("docblob-missing")
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"})
	wantCode(t, d, err, driver.NotFound)
	_, err = d.PutDocument(ctx, doc("p", "s", "r", nil), driver.Condition{})
	wantCode(t, d, err, driver.NotFound)
	_, err = d.DeleteDocument(ctx, driver.Key{Partition: "p", Sort: "s"}, driver.Condition{})
	wantCode(t, d, err, driver.NotFound)
	_, err = d.QueryDocuments(ctx, &driver.Query{Partition: "p"})
	wantCode(t, d, err, driver.NotFound)
	var ae smithy.APIError
	if !d.ErrorAs(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("ErrorAs smithy.APIError: %v", err)
	}
}

func TestMissingBucket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	o := f.opts
	o.Bucket = uniqueName("docblob-missing")
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.WriteBlob(ctx, "k", strings.NewReader("x"), &driver.WriteOptions{ContentType: "text/plain", Size: -1})
	wantCode(t, d, err, driver.NotFound)
	_, err = d.OpenBlob(ctx, "k", 0, -1, nil)
	wantCode(t, d, err, driver.NotFound)
	_, err = d.ListBlobs(ctx, "", "")
	wantCode(t, d, err, driver.NotFound)
	// A missing key is not an error for DeleteBlob, but a missing bucket
	// is: it is a configuration mistake the caller should hear about.
	err = d.DeleteBlob(ctx, "k")
	wantCode(t, d, err, driver.NotFound)
}

// MinIO checks credentials; DynamoDB Local accepts any credentials at all,
// so wrong credentials can only be tested against S3 here.
func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.drv.WriteBlob(ctx, "k", strings.NewReader("x"), &driver.WriteOptions{ContentType: "text/plain", Size: -1}); err != nil {
		t.Fatal(err)
	}
	const wrongSecret = "wrong-secret-never-to-be-printed"
	for name, creds := range map[string][2]string{
		"wrong secret":     {f.srv.AccessKeyID, wrongSecret},
		"unknown key id":   {"nosuchaccesskey", wrongSecret},
		"right key, other": {f.srv.AccessKeyID, f.srv.SecretAccessKey + "x"},
	} {
		o := f.opts
		o.AWS = testAWSConfig(f.srv, f.wire, creds[0], creds[1])
		d, err := New(&o)
		if err != nil {
			t.Fatal(err)
		}
		_, werr := d.WriteBlob(ctx, "k2", strings.NewReader("x"), &driver.WriteOptions{ContentType: "text/plain", Size: -1})
		_, oerr := d.OpenBlob(ctx, "k", 0, -1, nil)
		_, lerr := d.ListBlobs(ctx, "", "")
		derr := d.DeleteBlob(ctx, "k")
		for op, err := range map[string]error{"WriteBlob": werr, "OpenBlob": oerr, "ListBlobs": lerr, "DeleteBlob": derr} {
			if got := d.ErrorCode(err); got != driver.PermissionDenied {
				t.Errorf("%s: %s: %v (code %v), want PermissionDenied", name, op, err, got)
			}
			noSecret(t, err, creds[1])
			noSecret(t, err, f.srv.SecretAccessKey)
		}
		d.Close()
	}
	if got := readBlob(ctx, t, f.drv, "k", 0, -1); string(got) != "x" {
		t.Errorf("payload changed: %q", got)
	}
}

// An endpoint where nothing listens fails fast with Unavailable, after the
// SDK's standard retries.
func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	srv := testservers.Endpoints(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	wire := newCounter(srv)
	d, err := New(&Options{
		Table: "t", Bucket: "b", UsePathStyle: true,
		AWS:        testAWSConfig(srv, wire, srv.AccessKeyID, srv.SecretAccessKey),
		S3Endpoint: closed, DynamoDBEndpoint: closed,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ops := map[string]func(context.Context) error{
		"GetDocument": func(ctx context.Context) error {
			_, err := d.GetDocument(ctx, driver.Key{Partition: "p", Sort: "s"})
			return err
		},
		"PutDocument": func(ctx context.Context) error {
			_, err := d.PutDocument(ctx, doc("p", "s", "r", nil), driver.Condition{})
			return err
		},
		"QueryDocuments": func(ctx context.Context) error {
			_, err := d.QueryDocuments(ctx, &driver.Query{Partition: "p"})
			return err
		},
		"WriteBlob": func(ctx context.Context) error {
			_, err := d.WriteBlob(ctx, "k", strings.NewReader("x"), &driver.WriteOptions{ContentType: "text/plain", Size: -1})
			return err
		},
		"OpenBlob": func(ctx context.Context) error {
			_, err := d.OpenBlob(ctx, "k", 0, -1, nil)
			return err
		},
		"DeleteBlob": func(ctx context.Context) error { return d.DeleteBlob(ctx, "k") },
	}
	for name, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := op(ctx)
		elapsed := time.Since(start)
		cancel()
		if got := d.ErrorCode(err); got != driver.Unavailable {
			t.Errorf("%s: %v (code %v), want Unavailable", name, err, got)
		}
		if errors.Is(err, context.DeadlineExceeded) || elapsed > 10*time.Second {
			t.Errorf("%s took %v", name, elapsed)
		}
		noSecret(t, err, srv.SecretAccessKey)
	}
	// The SDK's standard retryer tried each request more than once.
	if n := len(wire.requests()); n < 2*len(ops) {
		t.Errorf("%d requests for %d operations: no retries?", n, len(ops))
	}
	t.Logf("%d attempts for %d operations", len(wire.requests()), len(ops))
}

// A Put whose table cannot be reached (no connection made, so nothing
// applied) fails with Unavailable marked driver.ErrNotApplied, and the
// Store deletes the payload it uploaded at once instead of leaving it to
// Sweep.
func TestUnreachableTableLeavesNoPayloads(t *testing.T) {
	f := newFixture(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := f.opts
	o.DynamoDBEndpoint = "http://" + l.Addr().String()
	l.Close()
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	store, err := docblob.NewStore(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	err = store.Put(ctx, &batchDoc{PK: "p", SK: "s", File: docblob.NewBlobBytes([]byte("payload"), nil)})
	if docblob.Code(err) != docblob.Unavailable || !errors.Is(err, driver.ErrNotApplied) {
		t.Fatalf("Put with the table unreachable returned %v (code %v), want Unavailable marked driver.ErrNotApplied", err, docblob.Code(err))
	}
	reachable, err := docblob.NewStore(f.drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reachable.Sweep(ctx, &docblob.SweepOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Payloads - res.Foreign; n != 0 {
		t.Errorf("%d payloads left after the failed Put, want 0 (%+v)", n, res)
	}
}

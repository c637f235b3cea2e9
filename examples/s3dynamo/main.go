// Command s3dynamo is the invoice example on S3 and DynamoDB: it stores an
// invoice document with its PDF attached, reads it back without
// downloading the PDF, streams the PDF, makes a download link, lists the
// customer's invoices and deletes the invoice with its PDF.
//
// It talks to the servers that the environment names, so that it runs
// against MinIO and DynamoDB Local as well as AWS:
//
//	DOCBLOB_S3_ENDPOINT        S3 endpoint URL (empty: AWS)
//	DOCBLOB_DYNAMODB_ENDPOINT  DynamoDB endpoint URL (empty: AWS)
//	AWS_REGION                 region (default us-east-1)
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...   the usual AWS credentials
//
// With local servers (scripts/servers.sh start prints an env file to
// source), create the table and bucket on the first run:
//
//	go run ./examples/s3dynamo -create
//
// Flags:
//
//	-table NAME   DynamoDB table (default docblob-invoices)
//	-bucket NAME  S3 bucket (default docblob-invoices)
//	-create       create the table and bucket first (idempotent)
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// Invoice is a document with one attachment.
type Invoice struct {
	Customer string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	Total    float64       `docstore:"total"`
	PDF      *docblob.Blob `docstore:"pdf"`              // metadata here, bytes in S3
	Revision any           `docstore:"DocstoreRevision"` // optimistic locking
}

func main() {
	table := flag.String("table", "docblob-invoices", "DynamoDB table")
	bucket := flag.String("bucket", "docblob-invoices", "S3 bucket")
	create := flag.Bool("create", false, "create the table and bucket first")
	flag.Parse()
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, *table, *bucket, *create); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, table, bucket string, create bool) error {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	s3Endpoint := os.Getenv("DOCBLOB_S3_ENDPOINT")
	ddbEndpoint := os.Getenv("DOCBLOB_DYNAMODB_ENDPOINT")

	if create {
		opts := &s3dynamo.Options{
			Table: table, Bucket: bucket,
			S3Endpoint: s3Endpoint, DynamoDBEndpoint: ddbEndpoint,
			UsePathStyle: s3Endpoint != "",
		}
		if err := s3dynamo.CreateTable(ctx, opts); err != nil {
			return err
		}
		if err := s3dynamo.CreateBucket(ctx, opts); err != nil {
			return err
		}
		fmt.Printf("table %s and bucket %s are ready\n", table, bucket)
	}

	// The same code runs on "mem://" or "file:///..." with another URL.
	q := url.Values{"bucket": {bucket}, "region": {region}}
	if s3Endpoint != "" {
		q.Set("s3_endpoint", s3Endpoint)
		q.Set("path_style", "true")
	}
	if ddbEndpoint != "" {
		q.Set("dynamodb_endpoint", ddbEndpoint)
	}
	store, err := docblob.Open(ctx, "s3dynamo://"+table+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer store.Close()

	// Put streams the PDF to S3, then writes the document.
	pdf := bytes.Repeat([]byte("%PDF-1.7 March invoice "), 1000)
	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March", Total: 1234.5,
		PDF: docblob.NewBlob(bytes.NewReader(pdf), &docblob.BlobOptions{Name: "march.pdf"})}
	if err := store.Put(ctx, inv); err != nil {
		return err
	}
	fmt.Printf("stored invoice %s/%s, PDF at s3://%s/%s\n", inv.Customer, inv.ID, inv.PDF.Bucket(), inv.PDF.Key())

	// Get reads the document only: the PDF's metadata, not its bytes.
	got := &Invoice{Customer: "acme", ID: "2026-001"}
	if err := store.Get(ctx, got); err != nil {
		return err
	}
	alg, sum := got.PDF.Checksum()
	fmt.Printf("%q: %d bytes of %s (%s), %s %s\n",
		got.Title, got.PDF.Size(), got.PDF.ContentType(), got.PDF.Name(), alg, sum)

	// Open streams the payload, verifying its checksum at EOF.
	r, err := got.PDF.Open(ctx)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err != nil {
		return err
	}
	fmt.Printf("read %d bytes back\n", n)

	link, err := got.PDF.SignedURL(ctx, &docblob.SignedURLOptions{Expiry: 15 * time.Minute})
	if err != nil {
		return err
	}
	if u, err := url.Parse(link); err == nil {
		fmt.Printf("download link valid for 15 minutes: %s://%s%s?...\n", u.Scheme, u.Host, u.Path)
	}

	// A stale revision cannot overwrite a newer one.
	stale := *got
	got.Title = "March (corrected)"
	if err := store.Put(ctx, got); err != nil {
		return err
	}
	stale.Title = "lost update"
	if err := store.Put(ctx, &stale); !errors.Is(err, docblob.FailedPrecondition) {
		return fmt.Errorf("stale Put: want a precondition error, have %v", err)
	}
	fmt.Println("a stale update was refused")

	for doc, err := range docblob.All[Invoice](ctx, store, &docblob.Query{Partition: "acme"}) {
		if err != nil {
			return err
		}
		fmt.Printf("acme has invoice %s: %s\n", doc.ID, doc.Title)
	}

	// Delete removes the document and then its PDF.
	if err := store.Delete(ctx, got); err != nil {
		return err
	}
	fmt.Println("deleted the invoice and its PDF")
	return nil
}

package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

// tableWaitTimeout bounds how long CreateTable waits for the table to
// become ACTIVE.
const tableWaitTimeout = 5 * time.Minute

// CreateTable creates the table that opts names, with on-demand billing and
// the configured key attributes (type S), and waits until it is ACTIVE. A
// table that already exists is fine if its key schema matches opts.
//
// It is meant for development and tests; production tables are usually
// made by infrastructure code. New and Open never call it.
func CreateTable(ctx context.Context, opts *Options) error {
	o, err := withDefaults(opts)
	if err != nil {
		return err
	}
	_, _, ddb, err := clients(ctx, &o)
	if err != nil {
		return err
	}
	attrs := []ddbtypes.AttributeDefinition{{AttributeName: aws.String(o.PartitionKey), AttributeType: ddbtypes.ScalarAttributeTypeS}}
	schema := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(o.PartitionKey), KeyType: ddbtypes.KeyTypeHash}}
	if o.SortKey != "" {
		attrs = append(attrs, ddbtypes.AttributeDefinition{AttributeName: aws.String(o.SortKey), AttributeType: ddbtypes.ScalarAttributeTypeS})
		schema = append(schema, ddbtypes.KeySchemaElement{AttributeName: aws.String(o.SortKey), KeyType: ddbtypes.KeyTypeRange})
	}
	out, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(o.Table),
		AttributeDefinitions: attrs,
		KeySchema:            schema,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		// Already there (or being created): check it below.
	case err != nil:
		return fmt.Errorf("s3dynamo: create table %q: %w", o.Table, err)
	case out.TableDescription != nil && out.TableDescription.TableStatus == ddbtypes.TableStatusActive:
		return nil
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(wo *dynamodb.TableExistsWaiterOptions) {
		wo.MinDelay = time.Second
		wo.MaxDelay = 5 * time.Second
	})
	desc, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.Table)}, tableWaitTimeout)
	if err != nil {
		return fmt.Errorf("s3dynamo: wait for table %q: %w", o.Table, err)
	}
	if !sameKeySchema(desc.Table.KeySchema, schema) {
		return newCoded(driver.FailedPrecondition,
			fmt.Sprintf("table %q exists with another key schema than partition key %q, sort key %q", o.Table, o.PartitionKey, o.SortKey), nil)
	}
	return nil
}

func sameKeySchema(have, want []ddbtypes.KeySchemaElement) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || (aws.ToString(h.AttributeName) == aws.ToString(w.AttributeName) && h.KeyType == w.KeyType)
		}
		if !found {
			return false
		}
	}
	return true
}

// CreateBucket creates the bucket that opts names, in the configured
// region. A bucket that already exists and is accessible is fine.
//
// It is meant for development and tests. New and Open never call it.
func CreateBucket(ctx context.Context, opts *Options) error {
	o, err := withDefaults(opts)
	if err != nil {
		return err
	}
	cfg, s3c, _, err := clients(ctx, &o)
	if err != nil {
		return err
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)}
	if cfg.Region != "" && cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(cfg.Region),
		}
	}
	_, err = s3c.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		// Some S3-compatible servers say this of one's own bucket too.
		if _, herr := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.Bucket)}); herr == nil {
			return nil
		}
	}
	return fmt.Errorf("s3dynamo: create bucket %q: %w", o.Bucket, err)
}

// DeleteTableAndBucket removes what CreateTable and CreateBucket made: it
// aborts the bucket's unfinished multipart uploads, deletes its objects and
// the bucket, and deletes the table. Missing ones are fine. It destroys
// data, and is meant for development and tests only.
func DeleteTableAndBucket(ctx context.Context, opts *Options) error {
	o, err := withDefaults(opts)
	if err != nil {
		return err
	}
	_, s3c, ddb, err := clients(ctx, &o)
	if err != nil {
		return err
	}
	bucket := aws.String(o.Bucket)
	var errs []error
	ups := s3.NewListMultipartUploadsPaginator(s3c, &s3.ListMultipartUploadsInput{Bucket: bucket})
	for ups.HasMorePages() {
		page, err := ups.NextPage(ctx)
		if err != nil {
			break // a missing bucket shows below
		}
		for _, u := range page.Uploads {
			if _, err := s3c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	objs := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: bucket})
	for objs.HasMorePages() {
		page, err := objs.NextPage(ctx)
		if err != nil {
			break
		}
		var ids []s3types.ObjectIdentifier
		for _, obj := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: obj.Key})
		}
		if len(ids) > 0 {
			if _, err := s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &s3types.Delete{Objects: ids}}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); err != nil && errorCode(err) != driver.NotFound {
		errs = append(errs, fmt.Errorf("s3dynamo: delete bucket %q: %w", o.Bucket, err))
	}
	if _, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(o.Table)}); err != nil && errorCode(err) != driver.NotFound {
		errs = append(errs, fmt.Errorf("s3dynamo: delete table %q: %w", o.Table, err))
	}
	return errors.Join(errs...)
}

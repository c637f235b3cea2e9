package gocloud

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/ddbchecksum"
	"gocloud.dev/blob"
	"gocloud.dev/docstore"
)

// DynamoDBAPIOptions is the API option to give the aws-sdk-go-v2 DynamoDB
// client of an awsdynamodb collection, for example
//
//	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
//		o.APIOptions = append(o.APIOptions, gocloud.DynamoDBAPIOptions)
//	})
//
// It adds two middlewares: one, after the retry step, counts how many
// times each write is sent (see RetriesCounted); the other fails a
// BatchGetItem whose response leaves keys unprocessed (throttled), which
// awsdynamodb would otherwise report as missing documents, and makes
// every read strongly consistent. A client without it still works, at a
// price: every conflict is then Unknown (RetriesPossible), and every
// document found missing is read again with GetItem to be sure.
//
// It also keeps the SDK from logging "WARN failed to close HTTP response
// body ... response did not match expected checksum" for every response
// that carries no X-Amz-Crc32 header (DynamoDB Local's errors, a failed
// condition among them; aws/aws-sdk-go-v2#3545): the SDK checks the
// checksum of the responses that carry one, and only those.
func DynamoDBAPIOptions(stack *middleware.Stack) error {
	if err := ddbchecksum.OnlyWhenSent(stack); err != nil {
		return err
	}
	if err := stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("docblobCountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			countAttempt(ctx)
			return next.HandleFinalize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("docblobReads",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch p := in.Parameters.(type) {
			case *dynamodb.BatchGetItemInput:
				for _, ka := range p.RequestItems {
					ka.ConsistentRead = aws.Bool(true)
				}
			case *dynamodb.GetItemInput:
				p.ConsistentRead = aws.Bool(true)
			case *dynamodb.QueryInput:
				p.ConsistentRead = aws.Bool(true)
			case *dynamodb.ScanInput:
				p.ConsistentRead = aws.Bool(true)
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil {
				if o, ok := out.Result.(*dynamodb.BatchGetItemOutput); ok && len(o.UnprocessedKeys) > 0 {
					err = errUnprocessed
				}
			}
			return out, md, err
		}), middleware.After)
}

// errUnprocessed is the error of a BatchGetItem that left keys
// unprocessed.
var errUnprocessed = &driver.Error{Code: driver.Unavailable, Err: errors.New("gocloud: DynamoDB left keys unprocessed (throttled)")}

// checkNotFound confirms that a document that awsdynamodb reported
// missing is missing, when its client lacks DynamoDBAPIOptions: the
// BatchGetItem may have left the key unprocessed.
func (d *Driver) checkNotFound(ctx context.Context, key driver.Key, n *attempts) error {
	if d.dynamo == nil || n.n.Load() > 0 {
		return nil
	}
	in := &dynamodb.GetItemInput{
		TableName:      d.table,
		Key:            map[string]types.AttributeValue{d.pk: &types.AttributeValueMemberS{Value: key.Partition}},
		ConsistentRead: aws.Bool(true),
	}
	if d.sk != "" {
		in.Key[d.sk] = &types.AttributeValueMemberS{Value: key.Sort}
	}
	out, err := d.dynamo.GetItem(ctx, in, func(o *dynamodb.Options) {})
	if err != nil {
		return err
	}
	if out.Item != nil {
		return &driver.Error{Code: driver.Unavailable, Err: errors.New("gocloud: awsdynamodb reported a document missing that DynamoDB holds (a throttled BatchGetItem whose unprocessed keys it ignored)")}
	}
	return nil
}

// dynamoErrorCode corrects what awsdynamodb's codes say of DynamoDB's
// errors: a TransactionInProgressException (InvalidArgument there) may
// hide an applied write, and an item over DynamoDB's size limit is a
// ValidationException (InvalidArgument there) that is TooLarge.
func dynamoErrorCode(err error) (driver.ErrorCode, bool) {
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return driver.Unknown, true
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" {
		msg := api.ErrorMessage()
		if strings.Contains(msg, "Item size") || strings.Contains(msg, "item size") || strings.Contains(msg, "size has exceeded") {
			return driver.TooLarge, true
		}
	}
	return 0, false
}

// isS3 reports whether bucket is s3blob's.
func isS3(bucket *blob.Bucket) bool {
	var c *s3.Client
	return bucket.As(&c) && c != nil
}

// beforeQuery sets what awsdynamodb leaves unset on a Query: a Limit of
// the page size (it pages through the whole partition otherwise, 1 MB a
// request).
func (d *Driver) beforeQuery(q *docstore.Query, limit int, _ any) *docstore.Query {
	if d.dynamo == nil {
		return q
	}
	return q.BeforeQuery(func(as func(any) bool) error {
		var in *dynamodb.QueryInput
		if as(&in) {
			in.Limit = aws.Int32(int32(min(limit, 1<<20)))
			in.ConsistentRead = aws.Bool(true)
		}
		return nil
	})
}

// dynamoScan returns one page of a scan of a DynamoDB table: a Scan
// started after the last key (ExclusiveStartKey), with the segment
// (Segment, TotalSegments) set before the request.
func (d *Driver) dynamoScan(ctx context.Context, q *driver.Query, after *cursor, limit int) (*driver.QueryPage, error) {
	var start map[string]types.AttributeValue
	if after != nil && after.P != "" {
		start = map[string]types.AttributeValue{d.pk: &types.AttributeValueMemberS{Value: after.P}}
		if d.sk != "" {
			start[d.sk] = &types.AttributeValueMemberS{Value: after.S}
		}
	}
	first := true
	it := d.coll.Query().BeforeQuery(func(as func(any) bool) error {
		var in *dynamodb.ScanInput
		if !as(&in) {
			return errors.New("gocloud: awsdynamodb did not plan a Scan")
		}
		if first {
			// Later pages are the iterator's, after its LastEvaluatedKey.
			in.ExclusiveStartKey = start
			first = false
		}
		in.Limit = aws.Int32(int32(min(limit, 1<<20)))
		in.ConsistentRead = aws.Bool(true)
		if q.TotalSegments > 1 {
			in.Segment = aws.Int32(int32(q.Segment))
			in.TotalSegments = aws.Int32(int32(q.TotalSegments))
		}
		return nil
	}).Get(ctx)
	defer it.Stop()
	page := &driver.QueryPage{}
	for len(page.Documents) < limit {
		doc, err := d.nextDocument(ctx, it)
		if err == io.EOF {
			return page, nil
		}
		if err != nil {
			return nil, err
		}
		page.Documents = append(page.Documents, doc)
	}
	page.NextPageToken = encodeCursor(page.Documents[limit-1].Key)
	return page, nil
}

// s3GetHeaders returns the BeforeSign hook of a GET URL on s3blob: the
// response header overrides.
func s3GetHeaders(opts *driver.SignedURLOptions) func(func(any) bool) error {
	return func(as func(any) bool) error {
		var in *s3.GetObjectInput
		if !as(&in) {
			return errors.New("gocloud: s3blob gave no GetObjectInput to sign")
		}
		if opts.ContentType != "" {
			in.ResponseContentType = aws.String(opts.ContentType)
		}
		if opts.ContentDisposition != "" {
			in.ResponseContentDisposition = aws.String(opts.ContentDisposition)
		}
		return nil
	}
}

// s3PutHeaders returns the BeforeSign hook of a PUT URL on s3blob: the
// signed headers that make the upload create-only, of the content type,
// size and SHA-256 asked for.
func s3PutHeaders(opts *driver.SignedURLOptions) func(func(any) bool) error {
	return func(as func(any) bool) error {
		var in *s3.PutObjectInput
		if !as(&in) {
			return errors.New("gocloud: s3blob gave no PutObjectInput to sign")
		}
		in.IfNoneMatch = aws.String("*")
		if opts.ContentType != "" {
			in.ContentType = aws.String(opts.ContentType)
		}
		if opts.Size >= 0 {
			in.ContentLength = aws.Int64(opts.Size)
		}
		if opts.SHA256 != nil {
			in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(opts.SHA256))
		}
		return nil
	}
}

// plainS3Key reports whether s3blob stores key as it is (it escapes
// control characters and the '/' of "../").
func plainS3Key(key string) bool {
	for _, c := range key {
		if c < 32 {
			return false
		}
	}
	return !strings.Contains(key, "../")
}

// s3Stat describes the payload under key with a HeadObject that asks for
// its checksums, and reports a full-object one: a checksum S3 computed or
// verified against the bytes when they were written (a PutObject that
// carried one, the CRC64NVME S3 computes by default for new objects, a
// multipart upload with a full-object CRC), SHA-256 first if S3 holds
// several. A multipart upload's composite checksum ("<base64>-<parts>",
// or a ChecksumType of COMPOSITE) is a checksum of its parts' checksums,
// not the payload's, and is not reported.
func (d *Driver) s3Stat(ctx context.Context, key string) (*driver.BlobInfo, error) {
	var client *s3.Client
	if !d.bucket.As(&client) {
		return nil, errors.New("gocloud: s3blob exposes no *s3.Client")
	}
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(d.info.Container), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled,
	})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey") {
			return nil, &driver.Error{Code: driver.NotFound, Err: err}
		}
		return nil, err
	}
	info := &driver.BlobInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), ContentType: aws.ToString(out.ContentType)}
	if out.ChecksumType == s3types.ChecksumTypeComposite {
		return info, nil
	}
	for _, c := range []struct {
		alg   driver.ChecksumAlgorithm
		value *string
	}{
		{driver.SHA256, out.ChecksumSHA256},
		{driver.CRC32C, out.ChecksumCRC32C},
		{driver.CRC64NVME, out.ChecksumCRC64NVME},
	} {
		if sum := s3FullObjectSum(c.alg, c.value); sum != nil {
			info.Checksum = driver.Checksum{Algorithm: c.alg, Sum: sum}
			break
		}
	}
	return info, nil
}

// s3Delete deletes the payload under key with one DeleteObject, which
// succeeds for a missing key too: gocloud.dev's Delete sends a HeadObject
// first to report a missing key as NotFound, which DeleteBlob does not
// need, and which would make a docblob Delete cost two S3 requests per
// attachment.
func (d *Driver) s3Delete(ctx context.Context, key string) error {
	var client *s3.Client
	if !d.bucket.As(&client) {
		return errors.New("gocloud: s3blob exposes no *s3.Client")
	}
	_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.info.Container), Key: aws.String(key)})
	return err
}

// s3FullObjectSum returns the sum of algorithm alg that an x-amz-checksum-*
// value reports for a whole object, or nil if it reports none: no value, a
// composite one ("<base64>-<parts>"), or anything that is not the standard
// base64 of a sum of alg's size.
func s3FullObjectSum(alg driver.ChecksumAlgorithm, value *string) []byte {
	if value == nil || strings.Contains(*value, "-") {
		return nil
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(*value)
	if err != nil || len(sum) != alg.Size() {
		return nil
	}
	return sum
}

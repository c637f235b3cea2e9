package gocloud

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/docblob/docblob/driver"
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
func DynamoDBAPIOptions(stack *middleware.Stack) error {
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
func (d *Driver) checkNotFound(ctx context.Context, notFound error) error {
	if d.dynamo == nil {
		return nil
	}
	_ = notFound
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
	return nil, &driver.Error{Code: driver.Unimplemented, Err: errors.New("gocloud: DynamoDB scans are not implemented yet")}
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

package s3dynamo

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/docblob/docblob/driver"
)

// maxUnprocessedRetries bounds how often GetDocuments re-sends the keys
// that BatchGetItem left unprocessed (throttled) before it reports them
// Unavailable.
const maxUnprocessedRetries = 8

// GetDocuments reads the documents with BatchGetItem, 100 keys per
// request, strongly consistent unless Options.EventuallyConsistentReads.
// Keys the service leaves unprocessed are sent again after a backoff (25
// ms doubling, up to eight times); a key still unprocessed then fails with
// code Unavailable. Duplicate keys are read once.
func (d *Driver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	docs, errs := make([]*driver.Document, len(keys)), make([]error, len(keys))
	at := make(map[driver.Key][]int, len(keys))
	var distinct []driver.Key
	for i, k := range keys {
		if _, ok := at[k]; !ok {
			distinct = append(distinct, k)
		}
		at[k] = append(at[k], i)
	}
	setErr := func(k driver.Key, err error) {
		for _, i := range at[k] {
			errs[i] = err
		}
	}
	for len(distinct) > 0 {
		n := min(len(distinct), driver.MaxGetDocuments)
		chunk := distinct[:n]
		distinct = distinct[n:]
		found, err := d.batchGet(ctx, chunk)
		for _, k := range chunk {
			switch doc, ok := found[k]; {
			case ok:
				for j, i := range at[k] {
					if j > 0 {
						doc = doc.Clone()
					}
					docs[i] = doc
				}
			case err != nil:
				setErr(k, err)
			default:
				setErr(k, errNoDocument)
			}
		}
	}
	return docs, errs
}

// batchGet reads up to 100 distinct keys, retrying unprocessed ones. It
// returns the documents found and, if some keys could not be read, the
// error for those (the keys neither found nor missing).
func (d *Driver) batchGet(ctx context.Context, keys []driver.Key) (map[driver.Key]*driver.Document, error) {
	found := make(map[driver.Key]*driver.Document, len(keys))
	req := &types.KeysAndAttributes{ConsistentRead: aws.Bool(!d.opts.EventuallyConsistentReads)}
	for _, k := range keys {
		req.Keys = append(req.Keys, d.keyItem(k))
	}
	pending := map[string]types.KeysAndAttributes{d.opts.Table: *req}
	backoff := 25 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return found, err
		}
		out, err := d.ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return found, err
		}
		for _, item := range out.Responses[d.opts.Table] {
			doc := d.decodeItem(item)
			found[doc.Key] = doc
		}
		left, ok := out.UnprocessedKeys[d.opts.Table]
		if !ok || len(left.Keys) == 0 {
			return found, nil
		}
		if attempt == maxUnprocessedRetries {
			return found, newCoded(driver.Unavailable, fmt.Sprintf("BatchGetItem left %d keys unprocessed after %d retries", len(left.Keys), attempt), nil)
		}
		pending = map[string]types.KeysAndAttributes{d.opts.Table: left}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return found, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// DeleteBlobs removes the payloads with DeleteObjects, 1,000 keys per
// request (quiet mode: S3 reports only the keys it failed to delete; a
// missing key is deleted). A request that fails fails each of its keys.
func (d *Driver) DeleteBlobs(ctx context.Context, keys []string) []error {
	errs := make([]error, len(keys))
	for start := 0; start < len(keys); start += driver.MaxDeleteBlobs {
		end := min(start+driver.MaxDeleteBlobs, len(keys))
		d.deleteObjects(ctx, keys[start:end], errs[start:end])
	}
	return errs
}

func (d *Driver) deleteObjects(ctx context.Context, keys []string, errs []error) {
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return
	}
	at := make(map[string][]int, len(keys))
	objs := make([]s3types.ObjectIdentifier, 0, len(keys))
	for i, k := range keys {
		if !utf8.ValidString(k) {
			errs[i] = invalidf("payload key is not valid UTF-8")
			continue
		}
		e := escapeKey(k)
		if _, ok := at[e]; !ok {
			objs = append(objs, s3types.ObjectIdentifier{Key: aws.String(e)})
		}
		at[e] = append(at[e], i)
	}
	if len(objs) == 0 {
		return
	}
	out, err := d.s3().DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(d.opts.Bucket),
		Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)},
	})
	if err != nil {
		for _, is := range at {
			for _, i := range is {
				errs[i] = err
			}
		}
		return
	}
	for _, e := range out.Errors {
		code := aws.ToString(e.Code)
		if code == "NoSuchKey" {
			continue
		}
		err := deleteObjectsError{code: code, msg: aws.ToString(e.Message)}
		for _, i := range at[aws.ToString(e.Key)] {
			errs[i] = err
		}
	}
}

// deleteObjectsError is the error S3 reported for one key of a
// DeleteObjects request. Its ErrorCode is S3's code, which ErrorCode
// classifies as it does any S3 error.
type deleteObjectsError struct{ code, msg string }

func (e deleteObjectsError) Error() string {
	return fmt.Sprintf("DeleteObjects: %s: %s", e.code, e.msg)
}

// ErrorCode returns S3's error code, like smithy.APIError.
func (e deleteObjectsError) ErrorCode() string { return e.code }

// ErrorMessage returns S3's message, like smithy.APIError.
func (e deleteObjectsError) ErrorMessage() string { return e.msg }

// ErrorFault reports the fault as unknown, like smithy.APIError.
func (e deleteObjectsError) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

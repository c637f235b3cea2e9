package s3dynamo

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
)

// Document writes are retried by the SDK only when the failed attempt
// cannot have been applied: the service rejected it as throttled, or the
// connection was never made. A write whose attempt may have been applied
// (a reset, a timeout, a lost response, a 5xx) is not re-sent: a re-sent
// PutItem can land after another writer's commit and bring back a version
// whose payloads that writer has already deleted. Such a failure goes to
// the portable layer as ambiguous instead, which reads the document back.

// safeWriteRetries is a per-request option for PutItem and DeleteItem.
func safeWriteRetries(o *dynamodb.Options) {
	base, ok := o.Retryer.(aws.RetryerV2)
	if !ok {
		base = retry.AddWithErrorCodes(o.Retryer).(aws.RetryerV2)
	}
	o.Retryer = safeWriteRetryer{base}
}

// safeWriteRetryer narrows a retryer to the errors that prove an attempt
// was not applied.
type safeWriteRetryer struct{ aws.RetryerV2 }

func (r safeWriteRetryer) IsErrorRetryable(err error) bool {
	return r.RetryerV2.IsErrorRetryable(err) && notApplied(err)
}

// notApplied reports whether err proves that the request was not applied.
func notApplied(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		_, throttled := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
		return throttled
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

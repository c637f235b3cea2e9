package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/docblob/docblob/driver"
	"gocloud.dev/gcerrors"
)

// newCoded returns an error whose portable code the driver decided itself:
// a failed DynamoDB condition (AlreadyExists or FailedPrecondition, which
// the service reports with the same exception), a missing item, or an
// argument the driver rejects before sending anything. It is a
// *driver.Error, whose code the portable layer takes without calling
// ErrorCode; the SDK error it wraps, if any, stays reachable through
// Unwrap.
func newCoded(code driver.ErrorCode, msg string, err error) error {
	if err == nil {
		return &driver.Error{Code: code, Err: errors.New("s3dynamo: " + msg)}
	}
	return &driver.Error{Code: code, Err: fmt.Errorf("s3dynamo: %s: %w", msg, err)}
}

func invalidf(msg string) error { return newCoded(driver.InvalidArgument, msg, nil) }

// sdkChecksumMismatch begins the message of the AWS SDK's error for a
// response body that does not match the checksum S3 sent with it.
const sdkChecksumMismatch = "checksum did not match: algorithm"

// errorCode classifies an error returned by the driver, the SDK or gocloud.
func errorCode(err error) driver.ErrorCode {
	if err == nil {
		return driver.OK
	}
	// The driver's own errors (newCoded) and driver.CheckDynamoDBValues's
	// carry their code.
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	// The SDK's validation of a read against the checksum S3 holds
	// (see OpenBlob) fails the read at its end with an unexported error
	// type; its message is the SDK's contract.
	if strings.Contains(err.Error(), sdkChecksumMismatch) {
		return driver.Corrupt
	}
	// The portable layer treats context errors itself. The SDK wraps them in
	// its own errors (smithy.CanceledError, RequestSendError), which unwrap
	// to the context error.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return driver.Unknown
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if c, ok := apiErrorCode(ae); ok {
			return c
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		if c, ok := httpStatusCode(re.HTTPStatusCode()); ok {
			return c
		}
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return driver.NotFound
	case gcerrors.PermissionDenied:
		return driver.PermissionDenied
	case gcerrors.InvalidArgument:
		return driver.InvalidArgument
	case gcerrors.FailedPrecondition:
		return driver.FailedPrecondition
	case gcerrors.Unimplemented:
		return driver.Unimplemented
	case gcerrors.ResourceExhausted:
		return driver.Unavailable
	}
	if isConnectionError(err) {
		return driver.Unavailable
	}
	return driver.Unknown
}

// apiErrorCode classifies an error response of S3 or DynamoDB by its code.
func apiErrorCode(ae smithy.APIError) (driver.ErrorCode, bool) {
	switch ae.ErrorCode() {
	case "NoSuchKey", "NotFound", "NoSuchBucket", "ResourceNotFoundException", "NoSuchUpload":
		return driver.NotFound, true
	case "AccessDenied", "AccessDeniedException", "Forbidden",
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSignatureException",
		"UnrecognizedClientException", "InvalidClientTokenId", "MissingAuthenticationToken",
		"MissingAuthenticationTokenException", "ExpiredToken", "ExpiredTokenException",
		"TokenRefreshRequired", "AllAccessDisabled", "AccountProblem", "InvalidToken",
		"KMS.AccessDeniedException", "KMS.DisabledException", "KMS.NotFoundException":
		return driver.PermissionDenied, true
	case "ConditionalCheckFailedException":
		// The driver wraps these in an error (newCoded) that tells
		// AlreadyExists from FailedPrecondition; a bare one is a revision
		// conflict.
		return driver.FailedPrecondition, true
	case "PreconditionFailed":
		return driver.FailedPrecondition, true
	case "ValidationException":
		msg := ae.ErrorMessage()
		if strings.Contains(msg, "Item size") ||
			strings.Contains(msg, "exceeded the maximum") ||
			strings.Contains(msg, "exceeds the maximum") {
			return driver.TooLarge, true
		}
		return driver.InvalidArgument, true
	case "EntityTooLarge", "ItemCollectionSizeLimitExceededException", "KeyTooLongError",
		"MaxMessageLengthExceeded", "MetadataTooLarge":
		return driver.TooLarge, true
	case "InvalidArgument", "InvalidRequest", "InvalidBucketName", "InvalidRange",
		"InvalidPart",
		"InvalidPartOrder", "EntityTooSmall", "SerializationException",
		"InvalidEncryptionAlgorithmError", "MalformedXML":
		return driver.InvalidArgument, true
	case "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
		"RequestLimitExceeded", "SlowDown", "ServiceUnavailable", "InternalServerError",
		"InternalError", "RequestTimeout", "RequestTimeTooSkewed", "TransactionConflictException",
		"LimitExceededException", "ReplicatedWriteConflictException":
		return driver.Unavailable, true
	case "BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch":
		// The payload S3 received does not match the checksum sent with it.
		return driver.Corrupt, true
	case "NotImplemented":
		return driver.Unimplemented, true
	}
	return driver.Unknown, false
}

// httpStatusCode classifies an HTTP error response that carried no error
// code the SDK could parse (HEAD responses have no body, for example).
func httpStatusCode(status int) (driver.ErrorCode, bool) {
	switch {
	case status == http.StatusNotFound:
		return driver.NotFound, true
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return driver.PermissionDenied, true
	case status == http.StatusRequestEntityTooLarge:
		return driver.TooLarge, true
	case status == http.StatusPreconditionFailed:
		return driver.FailedPrecondition, true
	case status == http.StatusTooManyRequests || status >= 500:
		return driver.Unavailable, true
	}
	return driver.Unknown, false
}

// isConnectionError reports whether err means the server could not be
// reached or the connection broke: the request may or may not have been
// applied.
func isConnectionError(err error) bool {
	var rse *smithyhttp.RequestSendError
	if errors.As(err, &rse) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

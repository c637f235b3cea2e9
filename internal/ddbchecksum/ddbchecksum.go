// Package ddbchecksum keeps aws-sdk-go-v2's DynamoDB client from warning
// about a checksum that a response does not carry.
//
// The client checks each response body against the CRC32 in its
// X-Amz-Crc32 header, and logs "WARN failed to close HTTP response body
// ... response did not match expected checksum" when they differ. It
// does so even when a response has no such header, comparing with 0
// (aws/aws-sdk-go-v2#3545): DynamoDB Local answers errors without one, so
// every failed condition (a Create of an existing document, a stale
// revision, a lost race) logged a warning to a program that used the
// default configuration. OnlyWhenSent leaves the check to responses that
// carry a checksum.
package ddbchecksum

import (
	"context"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkID is the ID of the SDK's middleware that checks response checksums.
const sdkID = "DynamoDB:ResponseChecksumValidation"

// header is the response header holding the body's CRC32.
const header = "X-Amz-Crc32"

// OnlyWhenSent is an API option for a DynamoDB client (append it to
// dynamodb.Options.APIOptions): the SDK's response checksum check runs
// only on responses that carry an X-Amz-Crc32 header, unchanged for
// those. A client whose check is turned off
// (DisableValidateResponseChecksum) is left as it is.
func OnlyWhenSent(stack *middleware.Stack) error {
	check, ok := stack.Deserialize.Get(sdkID)
	if !ok {
		return nil
	}
	_, err := stack.Deserialize.Swap(sdkID, onlyWhenSent{check})
	return err
}

// onlyWhenSent runs check, the SDK's middleware, on responses with a
// checksum header, and passes the others through.
type onlyWhenSent struct {
	check middleware.DeserializeMiddleware
}

// ID implements middleware.DeserializeMiddleware: the SDK's, which it
// stands in for.
func (onlyWhenSent) ID() string { return sdkID }

// HandleDeserialize implements middleware.DeserializeMiddleware.
func (m onlyWhenSent) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.Header.Get(header) == "" {
		return out, md, nil
	}
	return m.check.HandleDeserialize(ctx, in, middleware.DeserializeHandlerFunc(
		func(context.Context, middleware.DeserializeInput) (middleware.DeserializeOutput, middleware.Metadata, error) {
			return out, md, nil
		}))
}

package main

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// The -explain variants of the baseline's put, each adopting one of
// docblob's choices, so that the table attributes docblob's gap.

// driverTransferManager returns a transfer manager configured as
// drivers/s3dynamo configures its own uploads: part size, concurrency and
// CRC32C checksums per part.
func driverTransferManager(s3c *s3.Client) *transfermanager.Client {
	return transfermanager.New(s3c, func(o *transfermanager.Options) {
		o.PartSizeBytes = s3dynamo.DefaultPartSize
		o.MultipartUploadThreshold = s3dynamo.DefaultPartSize
		o.Concurrency = s3dynamo.DefaultUploadConcurrency
		o.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmCrc32c
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	})
}

// withoutResponseValidation turns off the SDK's validation of a
// response's checksum: one SHA-256 pass less on reads of single-part
// objects stored with a SHA-256 checksum.
func withoutResponseValidation(o *s3.Options) {
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

// putWithTransferManager uploads through the transfer manager from a plain
// io.Reader (no Seek): the hand-written counterpart of docblob's upload of
// a payload that cannot seek.
func (c *sdkContender) putWithTransferManager(ctx context.Context, key string, payload []byte) (string, error) {
	out, err := c.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key),
		Body:        struct{ io.Reader }{bytes.NewReader(payload)},
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// putMultipart uploads the payload as a multipart upload of the driver's
// part size and concurrency, straight from memory: the cost of the
// multipart protocol without the transfer manager's buffering.
func (c *sdkContender) putMultipart(ctx context.Context, key string, payload []byte) (string, error) {
	create, err := c.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key),
		ContentType:       aws.String("application/octet-stream"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		return "", err
	}
	const ps = s3dynamo.DefaultPartSize
	parts := make([]s3types.CompletedPart, (len(payload)+ps-1)/ps)
	errs := make([]error, len(parts))
	sem := make(chan struct{}, s3dynamo.DefaultUploadConcurrency)
	var wg sync.WaitGroup
	for i := range parts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			part := payload[i*ps : min((i+1)*ps, len(payload))]
			out, err := c.s3.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: create.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(part),
				ContentLength: aws.Int64(int64(len(part))), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
			})
			if err != nil {
				errs[i] = err
				return
			}
			parts[i] = s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1)), ChecksumSHA256: out.ChecksumSHA256}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.s3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
				Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: create.UploadId})
			return "", err
		}
	}
	out, err := c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: create.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

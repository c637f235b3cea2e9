package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// sdkContender is the like-for-like control ("sdk-control"): hand-written
// aws-sdk-go-v2 code given docblob's own extra work, to tell what docblob's
// code costs from what its choices cost. The payload goes under a fresh
// key with a full-object CRC32C that the SDK computes and S3 verifies
// (docblob's default checksum), then an item with the same attributes as
// docblob's; get is a strongly consistent GetItem (docblob's default) and
// delete a DeleteItem with ReturnValues ALL_OLD, which learns the key to
// delete atomically. It borrows docblob's own SDK clients (Store.As), so
// that every client setting is docblob's. Reads ask for the stored
// checksum (ChecksumMode ENABLED), which the SDK validates as it streams,
// as docblob's reads do. The code a user would write without docblob is
// manualContender.
type sdkContender struct {
	label         string
	s3            *s3.Client
	ddb           *dynamodb.Client
	table, bucket string
	pk            string

	// For -explain: the choices of docblob to adopt (see explain.go).
	returnOld bool                    // PutItem with ReturnValues ALL_OLD
	tm        *transfermanager.Client // upload through it, as a plain io.Reader
	multipart bool                    // multipart from a part size on, without buffering
	noVerify  bool                    // reads without the SDK's response checksum validation
}

func (c *sdkContender) name() string { return c.label }

func (c *sdkContender) put(ctx context.Context, it *item, payload []byte) error {
	key := c.pk + "/" + it.sk + "/file/" + newID()
	etag, crc, err := c.putObject(ctx, key, payload)
	if err != nil {
		return err
	}
	file := map[string]ddbtypes.AttributeValue{
		"docblob":      &ddbtypes.AttributeValueMemberN{Value: "1"},
		"bucket":       &ddbtypes.AttributeValueMemberS{Value: c.bucket},
		"key":          &ddbtypes.AttributeValueMemberS{Value: key},
		"size":         &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(len(payload))},
		"content_type": &ddbtypes.AttributeValueMemberS{Value: "application/octet-stream"},
		"crc32c":       &ddbtypes.AttributeValueMemberS{Value: crc},
		"etag":         &ddbtypes.AttributeValueMemberS{Value: etag},
		"name":         &ddbtypes.AttributeValueMemberS{Value: "payload.bin"},
		"created":      &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
	}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(c.table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":               &ddbtypes.AttributeValueMemberS{Value: c.pk},
			"sk":               &ddbtypes.AttributeValueMemberS{Value: it.sk},
			"title":            &ddbtypes.AttributeValueMemberS{Value: "benchmark document"},
			"DocstoreRevision": &ddbtypes.AttributeValueMemberS{Value: newID()},
			"file":             &ddbtypes.AttributeValueMemberM{Value: file},
		},
	}
	if c.returnOld {
		in.ReturnValues = ddbtypes.ReturnValueAllOld
	}
	_, err = c.ddb.PutItem(ctx, in)
	return err
}

// putObject stores the payload and returns its ETag and the hex CRC32C
// to record, as docblob's default does: one PutObject whose full-object
// CRC32C the SDK computes as it sends the body and S3 verifies, or, for
// -explain, through the transfer manager from a plain io.Reader (which
// records no checksum).
func (c *sdkContender) putObject(ctx context.Context, key string, payload []byte) (etag, crc string, err error) {
	switch {
	case c.tm != nil:
		etag, err = c.putWithTransferManager(ctx, key, payload)
		return etag, "", err
	case c.multipart && len(payload) >= s3dynamo.DefaultPartSize:
		etag, err = c.putMultipart(ctx, key, payload)
		return etag, "", err
	}
	out, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:            aws.String(c.bucket),
		Key:               aws.String(key),
		Body:              bytes.NewReader(payload),
		ContentLength:     aws.Int64(int64(len(payload))),
		ContentType:       aws.String("application/octet-stream"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c,
	})
	if err != nil {
		return "", "", err
	}
	sum, err := base64.StdEncoding.DecodeString(aws.ToString(out.ChecksumCRC32C))
	if err != nil || len(sum) != 4 {
		return "", "", fmt.Errorf("PutObject returned no CRC32C (%q)", aws.ToString(out.ChecksumCRC32C))
	}
	return aws.ToString(out.ETag), hex.EncodeToString(sum), nil
}

func (c *sdkContender) keyItem(sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: c.pk},
		"sk": &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func (c *sdkContender) get(ctx context.Context, it *item) error {
	out, err := c.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.table),
		Key:            c.keyItem(it.sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return err
	}
	f, err := decodeFile(out.Item)
	if err != nil {
		return fmt.Errorf("document %s: %w", it.sk, err)
	}
	it.key, it.size = f.key, f.size
	return nil
}

func (c *sdkContender) open(ctx context.Context, it *item) (int64, error) {
	var opts []func(*s3.Options)
	if c.noVerify {
		opts = append(opts, withoutResponseValidation)
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(it.key),
		ChecksumMode: s3types.ChecksumModeEnabled}, opts...)
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return drain(out.Body, it.size)
}

func (c *sdkContender) del(ctx context.Context, it *item) error {
	out, err := c.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    aws.String(c.table),
		Key:          c.keyItem(it.sk),
		ReturnValues: ddbtypes.ReturnValueAllOld,
	})
	if err != nil || len(out.Attributes) == 0 {
		return err
	}
	f, err := decodeFile(out.Attributes)
	if err != nil {
		return err
	}
	_, err = c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(f.key)})
	return err
}

// fileAttrs are the attachment attributes the baseline reads back, the
// way hand-written code decodes them (no reflection).
type fileAttrs struct {
	key, crc32c, contentType, name, etag string
	size                                 int64
	created                              time.Time
}

func decodeFile(item map[string]ddbtypes.AttributeValue) (fileAttrs, error) {
	var f fileAttrs
	m, ok := item["file"].(*ddbtypes.AttributeValueMemberM)
	if !ok {
		return f, fmt.Errorf("no file attribute")
	}
	str := func(name string) string {
		if s, ok := m.Value[name].(*ddbtypes.AttributeValueMemberS); ok {
			return s.Value
		}
		return ""
	}
	f.key, f.crc32c, f.contentType, f.name, f.etag = str("key"), str("crc32c"), str("content_type"), str("name"), str("etag")
	if n, ok := m.Value["size"].(*ddbtypes.AttributeValueMemberN); ok {
		f.size, _ = strconv.ParseInt(n.Value, 10, 64)
	}
	f.created, _ = time.Parse(time.RFC3339Nano, str("created"))
	if f.key == "" {
		return f, fmt.Errorf("file attribute has no key")
	}
	return f, nil
}

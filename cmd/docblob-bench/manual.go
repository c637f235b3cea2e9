package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// manualContender is "the manual way": what a user writes from the SDK
// documentation without docblob, with the SDK's defaults everywhere. The
// payload goes to a key derived from the document's key with a plain
// PutObject (Bucket, Key, Body; the SDK adds its default CRC32 checksum),
// then a flat item records where it is. Get is a GetItem with the SDK's
// default (eventually consistent) read; open a GetObject drained to the
// end (the SDK validates the CRC32 it finds); delete a DeleteItem without
// ReturnValues, then a DeleteObject of the derived key.
//
// Its clients are made here from the shared configuration, as a user
// makes them (s3.NewFromConfig, dynamodb.NewFromConfig), not borrowed from
// docblob: whatever docblob sets on its own clients (checksum settings,
// say) must not leak into the manual way. The configuration holds the
// same *http.Client as docblob's, so transport, connection pool, request
// counting and loopback guard are shared.
type manualContender struct {
	label         string
	s3            *s3.Client
	ddb           *dynamodb.Client
	table, bucket string
	pk            string
}

// newManualContender makes the manual way's SDK clients from cfg.
func newManualContender(label, pk string, cfg aws.Config, sv servers, fx fixture) *manualContender {
	return &manualContender{
		label: label, table: fx.table, bucket: fx.bucket, pk: pk,
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(sv.s3Endpoint)
			o.UsePathStyle = true // MinIO on loopback, as docblob's path_style=true
		}),
		ddb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(sv.ddbEndpoint)
		}),
	}
}

func (c *manualContender) name() string { return c.label }

// objectKey derives the payload's key from the document's key.
func (c *manualContender) objectKey(sk string) string { return c.pk + "/" + sk + "/payload.bin" }

func (c *manualContender) put(ctx context.Context, it *item, payload []byte) error {
	key := c.objectKey(it.sk)
	if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(payload),
	}); err != nil {
		return err
	}
	_, err := c.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(c.table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":           &ddbtypes.AttributeValueMemberS{Value: c.pk},
			"sk":           &ddbtypes.AttributeValueMemberS{Value: it.sk},
			"title":        &ddbtypes.AttributeValueMemberS{Value: "benchmark document"},
			"s3key":        &ddbtypes.AttributeValueMemberS{Value: key},
			"size":         &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(len(payload))},
			"content_type": &ddbtypes.AttributeValueMemberS{Value: "application/octet-stream"},
		},
	})
	return err
}

func (c *manualContender) keyItem(sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: c.pk},
		"sk": &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func (c *manualContender) get(ctx context.Context, it *item) error {
	out, err := c.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.table),
		Key:       c.keyItem(it.sk),
	})
	if err != nil {
		return err
	}
	key, ok := out.Item["s3key"].(*ddbtypes.AttributeValueMemberS)
	size, ok2 := out.Item["size"].(*ddbtypes.AttributeValueMemberN)
	if !ok || !ok2 {
		return fmt.Errorf("document %s: no s3key or size", it.sk)
	}
	it.key = key.Value
	it.size, err = strconv.ParseInt(size.Value, 10, 64)
	return err
}

func (c *manualContender) open(ctx context.Context, it *item) (int64, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(it.key)})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return drain(out.Body, it.size)
}

func (c *manualContender) del(ctx context.Context, it *item) error {
	if _, err := c.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(c.table),
		Key:       c.keyItem(it.sk),
	}); err != nil {
		return err
	}
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.objectKey(it.sk))})
	return err
}

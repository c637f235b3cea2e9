// Command coldsdk is docblob-bench's cold start with the plain SDK, the
// manual way: LoadDefaultConfig and the clients, then the first GetItem,
// or the first PutObject of 1 KiB and PutItem of a flat item. See the
// cold section of docblob-bench.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/cmd/docblob-bench/internal/coldstart"
)

func main() {
	start := time.Now()
	ctx := context.Background()
	var s3c *s3.Client
	var ddb *dynamodb.Client
	open := func(s coldstart.Spec) error {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(s.Region))
		if err != nil {
			return err
		}
		ddb = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(s.DDBEndpoint) })
		if s.Op == "put" {
			s3c = s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.BaseEndpoint = aws.String(s.S3Endpoint)
				o.UsePathStyle = true
			})
		}
		return nil
	}
	op := func(s coldstart.Spec) error {
		switch s.Op {
		case "get":
			out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(s.Table),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: s.PK},
					"sk": &types.AttributeValueMemberS{Value: s.SK},
				},
			})
			if err != nil {
				return err
			}
			if _, ok := out.Item["pk"]; !ok {
				return fmt.Errorf("no item %s/%s", s.PK, s.SK)
			}
			return nil
		case "put":
			key := s.PK + "/" + s.SK + "/payload.bin"
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, 1<<10)),
			}); err != nil {
				return err
			}
			_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(s.Table),
				Item: map[string]types.AttributeValue{
					"pk":           &types.AttributeValueMemberS{Value: s.PK},
					"sk":           &types.AttributeValueMemberS{Value: s.SK},
					"title":        &types.AttributeValueMemberS{Value: "cold start"},
					"s3key":        &types.AttributeValueMemberS{Value: key},
					"size":         &types.AttributeValueMemberN{Value: strconv.Itoa(1 << 10)},
					"content_type": &types.AttributeValueMemberS{Value: "application/octet-stream"},
				},
			})
			return err
		}
		return fmt.Errorf("unknown operation %q", s.Op)
	}
	os.Exit(coldstart.Run(start, open, op))
}

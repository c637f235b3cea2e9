package gocloud_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"github.com/docblob/docblob/internal/testservers"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/awsdynamodb/v2"
)

// loopback refuses any request that is not for a loopback host.
type loopback struct{ base http.RoundTripper }

func (l loopback) RoundTrip(r *http.Request) (*http.Response, error) {
	if !testservers.IsLoopbackHost(r.URL.Hostname()) {
		return nil, errors.New("test refuses a non-loopback address")
	}
	return l.base.RoundTrip(r)
}

// awsClients returns S3 and DynamoDB clients for the test servers, the
// DynamoDB one with DynamoDBAPIOptions, sending their requests through rt
// (nil: a plain transport), which only ever sees loopback requests.
func awsClients(srv testservers.Config, rt http.RoundTripper) (*s3.Client, *dynamodb.Client) {
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	cfg := aws.Config{
		Region:      srv.Region,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKeyID, srv.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: loopback{rt}},
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.S3Endpoint)
		o.UsePathStyle = true
	})
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(srv.DynamoDBEndpoint)
		o.APIOptions = append(o.APIOptions, gocloud.DynamoDBAPIOptions)
	})
	return s3c, ddb
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// createTable creates a table keyed by pk (and sk unless "").
func createTable(ctx context.Context, ddb *dynamodb.Client, name, pk, sk string) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String(pk), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: ddbtypes.KeyTypeHash}},
	}
	if sk != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(sk), AttributeType: ddbtypes.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(sk), KeyType: ddbtypes.KeyTypeRange})
	}
	_, err := ddb.CreateTable(ctx, in)
	return err
}

// dynamoHarness is an s3blob bucket on MinIO and awsdynamodb tables on
// DynamoDB Local, by collection name.
type dynamoHarness struct {
	t      *testing.T
	s3     *s3.Client
	ddb    *dynamodb.Client
	name   string
	bucket *blob.Bucket
	wire   *wireCounter // the clients' transport

	mu     sync.Mutex
	tables map[string]*docstore.Collection
}

func newDynamoHarness(ctx context.Context, t *testing.T) (conformance.Harness, error) {
	return newWireDynamoHarness(ctx, t)
}

// newWireDynamoHarness is newDynamoHarness as its concrete type, whose
// clients send their requests through h.wire.
func newWireDynamoHarness(ctx context.Context, t *testing.T) (*dynamoHarness, error) {
	wire := &wireCounter{base: http.DefaultTransport.(*http.Transport).Clone()}
	s3c, ddb := awsClients(testservers.Endpoints(t), wire)
	h := &dynamoHarness{t: t, s3: s3c, ddb: ddb, wire: wire, name: uniqueName("docblob-gocloud"), tables: map[string]*docstore.Collection{}}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(h.name)}); err != nil {
		return nil, err
	}
	b, err := s3blob.OpenBucket(ctx, s3c, h.name, nil)
	if err != nil {
		return nil, err
	}
	h.bucket = b
	return h, nil
}

func (h *dynamoHarness) driver(ctx context.Context, name, pk, sk string) (driver.Driver, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	table := h.name + "-" + name
	coll := h.tables[name]
	if coll == nil {
		if err := createTable(ctx, h.ddb, table, pk, sk); err != nil {
			return nil, err
		}
		var err error
		coll, err = awsdynamodb.OpenCollection(h.ddb, table, pk, sk, &awsdynamodb.Options{
			RevisionField: gocloud.DefaultCASField, AllowScans: true, ConsistentRead: true,
		})
		if err != nil {
			return nil, err
		}
		h.tables[name] = coll
	}
	return gocloud.New(h.bucket, coll, &gocloud.Options{
		PartitionKey: pk, SortKey: sk, NoSortKey: sk == "",
		Collection: table, Container: h.name,
	})
}

func (h *dynamoHarness) MakeDriver(ctx context.Context) (driver.Driver, error) {
	return h.driver(ctx, "main", "pk", "sk")
}

func (h *dynamoHarness) MakeCollectionDriver(ctx context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	return h.driver(ctx, c.Name, pk, sk)
}

// WriteDeadline gives each write of the Hammer group eight seconds: a
// document write here is a BatchGetItem and a conditional PutItem or
// DeleteItem, both again for each race lost to another writer, where
// s3dynamo sends one PutItem or DeleteItem; one second, on DynamoDB Local
// and MinIO under 32 writers and the race detector, does not fit them,
// and three seconds failed once on a fresh two-core CI machine running
// the other packages' tests against the same servers.
func (h *dynamoHarness) WriteDeadline() time.Duration { return 8 * time.Second }

// WireRequests implements conformance.Wire.
func (h *dynamoHarness) WireRequests() int { return h.wire.WireRequests() }

// LoseWriteResponse implements conformance.Wire.
func (h *dynamoHarness) LoseWriteResponse(lost func()) { h.wire.LoseWriteResponse(lost) }

func (h *dynamoHarness) CorruptBlob(ctx context.Context, key string) error {
	return corruptBlob(ctx, h.bucket, key)
}

// Close removes the tables and the bucket with its objects.
func (h *dynamoHarness) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, c := range h.tables {
		c.Close()
		if _, err := h.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(h.name + "-" + name)}); err != nil {
			h.t.Logf("deleting table: %v", err)
		}
	}
	iter := h.bucket.List(nil)
	for {
		obj, err := iter.Next(ctx)
		if err != nil {
			break
		}
		h.bucket.Delete(ctx, obj.Key)
	}
	h.bucket.Close()
	if _, err := h.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(h.name)}); err != nil {
		h.t.Logf("deleting bucket: %v", err)
	}
}

func TestConformanceDynamo(t *testing.T) {
	testservers.Endpoints(t) // skip or fail early without the servers
	conformance.Run(t, newDynamoHarness)
}

func TestDriverDynamo(t *testing.T) {
	testservers.Endpoints(t)
	testDriver(t, newDynamoHarness)
}

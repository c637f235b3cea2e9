package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// servers is where MinIO and DynamoDB Local listen, from the environment
// that scripts/servers.sh exports.
type servers struct {
	s3Endpoint, ddbEndpoint string
	s3Host, ddbHost         string // host:port, to tell requests apart
	region                  string
}

// serversFromEnv reads the endpoints and refuses any that is not on
// loopback.
func serversFromEnv() (servers, error) {
	sv := servers{
		s3Endpoint:  os.Getenv("DOCBLOB_S3_ENDPOINT"),
		ddbEndpoint: os.Getenv("DOCBLOB_DYNAMODB_ENDPOINT"),
		region:      os.Getenv("AWS_REGION"),
	}
	if sv.s3Endpoint == "" || sv.ddbEndpoint == "" {
		return sv, errors.New("DOCBLOB_S3_ENDPOINT and DOCBLOB_DYNAMODB_ENDPOINT are not set: run the benchmark with scripts/servers.sh run")
	}
	if sv.region == "" {
		sv.region = "us-east-1"
	}
	for _, ep := range []struct {
		url  string
		host *string
	}{{sv.s3Endpoint, &sv.s3Host}, {sv.ddbEndpoint, &sv.ddbHost}} {
		u, err := url.Parse(ep.url)
		if err != nil || u.Host == "" {
			return sv, fmt.Errorf("malformed endpoint %q", ep.url)
		}
		if !isLoopback(u.Hostname()) {
			return sv, fmt.Errorf("endpoint %q is not on loopback; this benchmark only talks to 127.0.0.1", ep.url)
		}
		*ep.host = u.Host
	}
	// The SDK must never look for credentials or a region beyond this
	// machine.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return sv, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// awsConfig returns the SDK configuration both contenders share: the
// default configuration (credentials from the environment, the standard
// retryer) with an HTTP client whose transport counts requests and keeps
// enough idle connections for the concurrent workers.
func (sv servers) awsConfig(ctx context.Context) (aws.Config, error) {
	tr := &http.Transport{
		Proxy:                 nil, // never route through a proxy
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(sv.region))
	if err != nil {
		return cfg, err
	}
	// Set after loading: with AWS_CA_BUNDLE in the environment,
	// LoadDefaultConfig refuses an HTTP client it cannot add the bundle
	// to, and loopback servers speak plain HTTP anyway.
	cfg.HTTPClient = &http.Client{Transport: &countingTransport{base: tr, s3Host: sv.s3Host, ddbHost: sv.ddbHost}}
	return cfg, nil
}

// driverOptions returns s3dynamo options for the fixture's table and
// bucket over cfg. partSize and concurrency 0 mean the driver's defaults.
func (sv servers) driverOptions(fx fixture, cfg *aws.Config, partSize int64, concurrency int) *s3dynamo.Options {
	return &s3dynamo.Options{
		Table:             fx.table,
		Bucket:            fx.bucket,
		AWS:               cfg,
		S3Endpoint:        sv.s3Endpoint,
		DynamoDBEndpoint:  sv.ddbEndpoint,
		UsePathStyle:      true,
		PartSize:          partSize,
		UploadConcurrency: concurrency,
	}
}

// fixture is the table and bucket of one benchmark run.
type fixture struct {
	table, bucket string
}

// provision creates a table and a bucket with a unique name.
func provision(ctx context.Context, sv servers, cfg aws.Config) (fixture, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fixture{}, err
	}
	name := "docblob-bench-" + hex.EncodeToString(b[:])
	fx := fixture{table: name, bucket: name}
	opts := sv.driverOptions(fx, &cfg, 0, 0)
	if err := s3dynamo.CreateTable(ctx, opts); err != nil {
		return fx, err
	}
	if err := s3dynamo.CreateBucket(ctx, opts); err != nil {
		fx.remove(ctx, sv, cfg)
		return fx, err
	}
	return fx, nil
}

// remove deletes everything in the bucket, the bucket and the table.
func (fx fixture) remove(ctx context.Context, sv servers, cfg aws.Config) error {
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(sv.s3Endpoint)
		o.UsePathStyle = true
	})
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(sv.ddbEndpoint)
	})
	var errs []error
	ups, err := s3c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(fx.bucket)})
	if err == nil {
		for _, u := range ups.Uploads {
			_, err := s3c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(fx.bucket), Key: u.Key, UploadId: u.UploadId})
			errs = append(errs, err)
		}
	}
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(fx.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(page.Contents) == 0 {
			continue
		}
		objs := make([]s3types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			objs[i] = s3types.ObjectIdentifier{Key: o.Key}
		}
		_, err = s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(fx.bucket), Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		errs = append(errs, err)
	}
	_, err = s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(fx.bucket)})
	errs = append(errs, err)
	_, err = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(fx.table)})
	errs = append(errs, err)
	return errors.Join(errs...)
}

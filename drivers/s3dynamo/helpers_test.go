package s3dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob/internal/testservers"
)

// counter is an http.RoundTripper that counts the requests the SDK puts on
// the wire (retries included), per service and method, and refuses any
// host that is not loopback.
type counter struct {
	s3Host, ddbHost string
	base            http.RoundTripper

	mu        sync.Mutex
	reqs      []counted
	total     int            // requests since the counter was made
	lose      map[string]int // operation (e.g. "PutItem") -> responses still to lose
	loseWrite func()         // see LoseWriteResponse
}

// documentWrites are the DynamoDB operations that write or delete items.
var documentWrites = map[string]bool{"PutItem": true, "DeleteItem": true, "UpdateItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

// WireRequests implements conformance.Wire.
func (c *counter) WireRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// LoseWriteResponse implements conformance.Wire: the next DynamoDB
// request that writes an item is sent and applied, then lost calls
// (its requests pass), then the client sees a reset connection.
func (c *counter) LoseWriteResponse(lost func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loseWrite = lost
}

// loseResponses makes the next n requests of operation op (a DynamoDB
// operation name such as "PutItem", or an S3 "METHOD" such as "PUT") reach
// the server, but fail with a connection reset instead of returning the
// response: the request was applied and the client cannot know.
func (c *counter) loseResponses(op string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lose == nil {
		c.lose = map[string]int{}
	}
	c.lose[op] = n
}

type counted struct {
	service string // "s3" or "dynamodb"
	method  string
	op      string // X-Amz-Target for DynamoDB, e.g. "DynamoDB_20120810.PutItem"
	query   url.Values
	header  http.Header
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if !testservers.IsLoopbackHost(r.URL.Hostname()) {
		return nil, errors.New("test refuses a non-loopback address")
	}
	svc := "other"
	switch r.URL.Host {
	case c.s3Host:
		svc = "s3"
	case c.ddbHost:
		svc = "dynamodb"
	}
	target := r.Header.Get("X-Amz-Target")
	op := r.Method
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		op = target[i+1:]
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, counted{svc, r.Method, target, r.URL.Query(), r.Header.Clone()})
	c.total++
	lose := c.lose[op] > 0
	if lose {
		c.lose[op]--
	}
	var then func()
	if svc == "dynamodb" && documentWrites[op] && c.loseWrite != nil {
		then, c.loseWrite, lose = c.loseWrite, nil, true
	}
	c.mu.Unlock()
	resp, err := c.base.RoundTrip(r)
	if err != nil || !lose {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if then != nil {
		then()
	}
	return nil, errors.New("read tcp: connection reset by peer (response lost by the test)")
}

// reset forgets the requests counted so far.
func (c *counter) reset() {
	c.mu.Lock()
	c.reqs = nil
	c.mu.Unlock()
}

// requests returns the requests counted since the last reset.
func (c *counter) requests() []counted {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]counted(nil), c.reqs...)
}

// count returns how many requests went to service with method ("" for
// any).
func (c *counter) count(service, method string) int {
	n := 0
	for _, r := range c.requests() {
		if r.service == service && (method == "" || r.method == method) {
			n++
		}
	}
	return n
}

// fixture is a driver over a fresh table and bucket of its own.
type fixture struct {
	t     *testing.T
	srv   testservers.Config
	opts  Options
	drv   *Driver
	wire  *counter
	s3    *s3.Client
	ddb   *dynamodb.Client
	table string
}

// uniqueName returns a fresh lowercase name valid for tables and buckets.
func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// testAWSConfig returns an SDK configuration for the test servers whose
// HTTP client counts requests.
func testAWSConfig(srv testservers.Config, wire *counter, accessKey, secret string) *aws.Config {
	return &aws.Config{
		Region:      srv.Region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		HTTPClient:  &http.Client{Transport: wire},
	}
}

func newCounter(srv testservers.Config) *counter {
	return &counter{
		s3Host:  hostOf(srv.S3Endpoint),
		ddbHost: hostOf(srv.DynamoDBEndpoint),
		base:    http.DefaultTransport.(*http.Transport).Clone(),
	}
}

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	return u.Host
}

// newFixture creates a table and a bucket with unique names and a driver
// over them; mod adjusts the options first. Both are removed when the test
// ends.
func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	srv := testservers.Endpoints(t)
	wire := newCounter(srv)
	name := uniqueName("docblob-test")
	o := Options{
		Table:            name,
		Bucket:           name,
		AWS:              testAWSConfig(srv, wire, srv.AccessKeyID, srv.SecretAccessKey),
		S3Endpoint:       srv.S3Endpoint,
		DynamoDBEndpoint: srv.DynamoDBEndpoint,
		UsePathStyle:     true,
	}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := CreateTable(ctx, &o); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if err := CreateBucket(ctx, &o); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	drv, err := New(&o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f := &fixture{t: t, srv: srv, opts: o, drv: drv, wire: wire, s3: drv.s3(), ddb: drv.ddb, table: name}
	t.Cleanup(func() {
		_ = drv.Close()
		f.destroy()
	})
	wire.reset()
	return f
}

// destroy removes the fixture's bucket (with its objects and unfinished
// uploads) and table.
func (f *fixture) destroy() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := DeleteTableAndBucket(ctx, &f.opts); err != nil {
		f.t.Logf("tearing down: %v", err)
	}
}

// rawKeys lists the object keys in the bucket as S3 stores them.
func (f *fixture) rawKeys(ctx context.Context) []string {
	f.t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.s3, &s3.ListObjectsV2Input{Bucket: aws.String(f.opts.Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			f.t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); !strings.HasSuffix(k, "/.docblob-owner") {
				keys = append(keys, k) // payloads, not namespace owner markers
			}
		}
	}
	return keys
}

// pendingUploads lists the bucket's unfinished multipart uploads.
func (f *fixture) pendingUploads(ctx context.Context) []string {
	f.t.Helper()
	out, err := f.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(f.opts.Bucket)})
	if err != nil {
		f.t.Fatalf("ListMultipartUploads: %v", err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// noSecret fails the test if err's text holds the secret key.
func noSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err != nil && secret != "" && strings.Contains(err.Error(), secret) {
		t.Errorf("error text contains the secret key: %v", err)
	}
}

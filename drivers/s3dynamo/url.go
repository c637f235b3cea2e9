package s3dynamo

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// Scheme is the URL scheme this package registers with docblob.Open.
const Scheme = "s3dynamo"

func init() {
	docblob.Register(Scheme, docblob.DriverOpenerFunc(OpenDriverURL))
}

// urlParams are the query parameters OpenDriverURL understands.
var urlParams = map[string]bool{
	"bucket": true, "partition_key": true, "sort_key": true, "no_sort_key": true,
	"region": true, "endpoint": true, "s3_endpoint": true, "dynamodb_endpoint": true,
	"path_style": true, "sse": true, "kms_key_id": true, "part_size": true,
	"upload_concurrency": true, "consistent_read": true, "collection_id": true,
	"read_part_size": true, "read_concurrency": true,
}

// OpenDriverURL opens a driver from a URL of the form
//
//	s3dynamo://TABLE?bucket=BUCKET[&param=value...]
//
// with the query parameters listed in the package documentation. Unknown
// parameters are an error. Credentials come from the default AWS chain
// (environment variables, shared files, the instance's role), never from
// the URL. Like New, it makes no network call.
func OpenDriverURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	opts, region, err := optionsFromURL(u)
	if err != nil {
		return nil, err
	}
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3dynamo: load AWS configuration: %w", err)
	}
	opts.AWS = &cfg
	return New(opts)
}

// optionsFromURL parses the URL into Options and a region.
func optionsFromURL(u *url.URL) (*Options, string, error) {
	if u.Scheme != Scheme {
		return nil, "", invalidf(fmt.Sprintf("URL scheme %q is not %q", u.Scheme, Scheme))
	}
	if u.User != nil {
		return nil, "", invalidf("s3dynamo URLs take no user information: credentials come from the AWS environment")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, "", invalidf("s3dynamo URL must be s3dynamo://TABLE?bucket=BUCKET")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, "", invalidf("malformed URL query")
	}
	keys, err := driver.ParseKeyParams(q) // also refuses repeated parameters
	if err != nil {
		return nil, "", invalidf(err.Error())
	}
	var unknown []string
	for k := range q {
		if !urlParams[k] {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, "", invalidf("unknown URL parameters " + strings.Join(unknown, ", "))
	}
	o := &Options{
		Table:                u.Host,
		Bucket:               q.Get("bucket"),
		PartitionKey:         keys.PartitionKey,
		SortKey:              keys.SortKey,
		NoSortKey:            keys.NoSortKey,
		ServerSideEncryption: q.Get("sse"),
		KMSKeyID:             q.Get("kms_key_id"),
		S3Endpoint:           q.Get("endpoint"),
		DynamoDBEndpoint:     q.Get("endpoint"),
		CollectionID:         q.Get("collection_id"),
	}
	if o.Table == "" || strings.Contains(o.Table, ":") {
		return nil, "", invalidf("s3dynamo URL must name a table and no port: s3dynamo://TABLE?bucket=BUCKET")
	}
	if v := q.Get("s3_endpoint"); v != "" {
		o.S3Endpoint = v
	}
	if v := q.Get("dynamodb_endpoint"); v != "" {
		o.DynamoDBEndpoint = v
	}
	bools := []struct {
		name string
		dst  *bool
		neg  bool
	}{
		{"path_style", &o.UsePathStyle, false},
		{"consistent_read", &o.EventuallyConsistentReads, true},
	}
	for _, b := range bools {
		if v := q.Get(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return nil, "", invalidf(fmt.Sprintf("URL parameter %s=%q is not a boolean", b.name, v))
			}
			*b.dst = x != b.neg
		}
	}
	positives := []struct {
		name string
		bits int // of the field set
		set  func(n int64)
	}{
		{"part_size", 64, func(n int64) { o.PartSize = n }},
		{"upload_concurrency", strconv.IntSize, func(n int64) { o.UploadConcurrency = int(n) }},
		{"read_part_size", 64, func(n int64) { o.ReadPartSize = n }},
		{"read_concurrency", strconv.IntSize, func(n int64) { o.ReadConcurrency = int(n) }},
	}
	for _, p := range positives {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, p.bits)
			if err != nil || n <= 0 {
				return nil, "", invalidf(fmt.Sprintf("URL parameter %s=%q is not a positive integer", p.name, v))
			}
			p.set(n)
		}
	}
	return o, q.Get("region"), nil
}

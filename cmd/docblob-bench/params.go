package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// docblob's contenders can be given URL query parameters of an s3dynamo
// URL (-docblob-params, -large-params), as a user would write them in the
// URL that opens a store.
//
// A store opened with docblob.Open makes its own SDK configuration, with
// the SDK's default HTTP client, so the benchmark cannot open its
// contenders that way: they would lose the shared transport (connection
// pool, request counting, loopback guard) that makes the comparison with
// the baselines fair. Instead the parameters are
//
//  1. checked by docblob.Open itself, on a URL naming the fixture (it
//     makes no network call), so that a parameter docblob does not know,
//     or a bad value, fails the run as it would fail a user; then
//  2. applied to s3dynamo.Options and docblob.Options by paramSetters,
//     and the store is made with s3dynamo.New over the shared
//     configuration.
//
// A parameter that docblob.Open accepts but paramSetters does not know is
// an error naming it: add one line to paramSetters. The cold section opens
// its store from the URL, parameters and all, as its program would.

// paramSetters apply one URL parameter each.
var paramSetters = map[string]func(o *s3dynamo.Options, so *docblob.Options, v string) error{
	"part_size": func(o *s3dynamo.Options, _ *docblob.Options, v string) (err error) {
		o.PartSize, err = strconv.ParseInt(v, 10, 64)
		return err
	},
	"upload_concurrency": func(o *s3dynamo.Options, _ *docblob.Options, v string) (err error) {
		o.UploadConcurrency, err = strconv.Atoi(v)
		return err
	},
	"read_part_size": func(o *s3dynamo.Options, _ *docblob.Options, v string) (err error) {
		o.ReadPartSize, err = strconv.ParseInt(v, 10, 64)
		return err
	},
	"read_concurrency": func(o *s3dynamo.Options, _ *docblob.Options, v string) (err error) {
		o.ReadConcurrency, err = strconv.Atoi(v)
		return err
	},
	"consistent_read": func(o *s3dynamo.Options, _ *docblob.Options, v string) error {
		b, err := strconv.ParseBool(v)
		o.EventuallyConsistentReads = !b
		return err
	},
	"inline_threshold": func(_ *s3dynamo.Options, so *docblob.Options, v string) (err error) {
		so.InlineThreshold, err = strconv.ParseInt(v, 10, 64)
		return err
	},
	"prefix": func(_ *s3dynamo.Options, so *docblob.Options, v string) error {
		so.BlobPrefix = v
		return nil
	},
	"checksum": func(_ *s3dynamo.Options, so *docblob.Options, v string) error {
		so.Checksum = docblob.Checksum(v)
		return nil
	},
}

// storeURL is the s3dynamo URL of the fixture, with extra parameters.
func (sv servers) storeURL(fx fixture, extra url.Values) string {
	q := url.Values{
		"bucket":            {fx.bucket},
		"s3_endpoint":       {sv.s3Endpoint},
		"dynamodb_endpoint": {sv.ddbEndpoint},
		"path_style":        {"true"},
		"region":            {sv.region},
	}
	for k, vs := range extra {
		q[k] = vs
	}
	return "s3dynamo://" + fx.table + "?" + q.Encode()
}

// parseParams parses a flag's URL query ("part_size=33554432&checksum=crc32c").
func parseParams(flagName, s string) (url.Values, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("-%s %q: %w", flagName, s, err)
	}
	return q, nil
}

// checkParams has docblob.Open check the parameters on the fixture's URL.
func (sv servers) checkParams(ctx context.Context, fx fixture, q url.Values) error {
	if len(q) == 0 {
		return nil
	}
	st, err := docblob.Open(ctx, sv.storeURL(fx, q))
	if err != nil {
		return fmt.Errorf("docblob refuses the parameters %q: %w", q.Encode(), err)
	}
	return st.Close()
}

// newStore returns a docblob store over the shared configuration, with
// the driver options of driverOptions and the URL parameters q applied.
func (sv servers) newStore(fx fixture, o *s3dynamo.Options, q url.Values) (*docblob.Store, error) {
	so := &docblob.Options{}
	for k, vs := range q {
		set := paramSetters[k]
		if set == nil {
			return nil, fmt.Errorf("docblob-bench does not apply the URL parameter %q to its stores yet: add it to paramSetters (params.go)", k)
		}
		if err := set(o, so, vs[len(vs)-1]); err != nil {
			return nil, fmt.Errorf("URL parameter %s=%q: %w", k, vs[len(vs)-1], err)
		}
	}
	drv, err := s3dynamo.New(o)
	if err != nil {
		return nil, err
	}
	st, err := docblob.NewStore(drv, so)
	if err != nil {
		drv.Close()
	}
	return st, err
}

// mergeParams returns a copy of a with b's parameters set over it.
func mergeParams(a, b url.Values) url.Values {
	m := url.Values{}
	for k, vs := range a {
		m[k] = vs
	}
	for k, vs := range b {
		m[k] = vs
	}
	return m
}

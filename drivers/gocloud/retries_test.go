package gocloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"github.com/docblob/docblob/internal/testservers"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/docstore/awsdynamodb/v2"
)

// RetriesNone on an awsdynamodb collection is refused when the client's
// retryer may send a write more than once: every write the SDK re-sent
// after an applied attempt would then be taken for a lost race.
func TestRetriesNoneNeedsOneAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, ddb := awsClients(testservers.Endpoints(t), nil)
	table := uniqueName("docblob-retries")
	if err := createTable(ctx, ddb, table, "pk", "sk"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		attempts  int // 0: the SDK's default
		retries   gocloud.Retries
		wantError bool
	}{
		{"none_with_default_retryer", 0, gocloud.RetriesNone, true},
		{"none_with_three_attempts", 3, gocloud.RetriesNone, true},
		{"none_with_one_attempt", 1, gocloud.RetriesNone, false},
		{"counted_with_default_retryer", 0, gocloud.RetriesCounted, false},
		{"auto_with_default_retryer", 0, gocloud.RetriesAuto, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := ddb
			if c.attempts > 0 {
				client = dynamodb.New(ddb.Options(), func(o *dynamodb.Options) { o.RetryMaxAttempts = c.attempts })
			}
			coll, err := awsdynamodb.OpenCollection(client, table, "pk", "sk", &awsdynamodb.Options{RevisionField: gocloud.DefaultCASField})
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			d, err := gocloud.New(memblob.OpenBucket(nil), coll, &gocloud.Options{Collection: table, Retries: c.retries})
			if err == nil {
				d.Close()
			}
			if got := err != nil; got != c.wantError {
				t.Fatalf("New: %v, want an error: %v", err, c.wantError)
			}
			if c.wantError && !errors.Is(err, driver.InvalidArgument) {
				t.Errorf("New: %v, want InvalidArgument", err)
			}
		})
	}
}

package s3dynamo

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/urltest"
)

// isolateAWS keeps OpenDriverURL from reading the machine's AWS
// configuration (it makes no network call).
func isolateAWS(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

// openQuery opens a driver from an s3dynamo:// URL with the query.
func openQuery(query string) (driver.Driver, error) {
	u, err := url.Parse("s3dynamo://t?region=us-east-1&" + query)
	if err != nil {
		return nil, err
	}
	return OpenDriverURL(context.Background(), u)
}

func TestURLKeyParams(t *testing.T) {
	isolateAWS(t)
	urltest.KeyParams(t, "s3dynamo: ", func(query string) (driver.Driver, error) { return openQuery("bucket=b&" + query) })
}

func TestURLRepeatedParams(t *testing.T) {
	isolateAWS(t)
	urltest.RepeatedParams(t, openQuery, "bucket=b&bucket=b", "bucket=b&region=x", "bucket=b&path_style=true&path_style=true")
}

func TestURLLimitsAreDynamoDBs(t *testing.T) {
	d, err := New(&Options{Table: "t", Bucket: "b", AWS: &aws.Config{Region: "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	urltest.Limits(t, d.Info())
}

package s3dynamo

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/docblob/docblob/driver"
)

// keyParamCases are the key parameters of every scheme's URL
// (driver.ParseKeyParams), and the key attributes they give: the memory
// and file drivers test the same table.
var keyParamCases = []struct {
	query    string
	pk, sk   string
	wantFail string // a substring of the error; "" for success
}{
	{"", "pk", "sk", ""},
	{"partition_key=id", "id", "sk", ""},
	{"sort_key=range", "pk", "range", ""},
	{"partition_key=id&sort_key=range", "id", "range", ""},
	{"no_sort_key=true", "pk", "", ""},
	{"no_sort_key=false", "pk", "sk", ""},
	{"sort_key=", "pk", "", ""},
	{"partition_key=id&sort_key=&no_sort_key=true", "id", "", ""},
	{"partition_key=sk&no_sort_key=true", "sk", "", ""},

	{"partition_key=", "", "", "partition_key is empty"},
	{"no_sort_key=maybe", "", "", "not a boolean"},
	{"no_sort_key=true&sort_key=s", "", "", "contradict"},
	{"no_sort_key=false&sort_key=", "", "", "no_sort_key=false"},
	{"partition_key=k&sort_key=k", "", "", "partition and sort key attributes"},
	{"partition_key=sk", "", "", "partition and sort key attributes"},
	{"sort_key=pk", "", "", "partition and sort key attributes"},
	{"sort_key=a&sort_key=b", "", "", `"sort_key" (2 times)`},
	{"partition_key=a&partition_key=a", "", "", `"partition_key" (2 times)`},
	{"no_sort_key=true&no_sort_key=true", "", "", `"no_sort_key" (2 times)`},
}

// isolateAWS keeps OpenDriverURL from reading the machine's AWS
// configuration (it makes no network call).
func isolateAWS(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

func TestURLKeyParams(t *testing.T) {
	isolateAWS(t)
	for _, c := range keyParamCases {
		u, err := url.Parse("s3dynamo://t?bucket=b&region=us-east-1&" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		d, err := OpenDriverURL(context.Background(), u)
		if c.wantFail != "" {
			if err == nil {
				t.Errorf("%q: opened, with Info %+v", c.query, d.Info())
				d.Close()
			} else if !strings.Contains(err.Error(), c.wantFail) || !strings.HasPrefix(err.Error(), "s3dynamo: ") {
				t.Errorf("%q: error %q does not say %q", c.query, err, c.wantFail)
			} else if code := errorCode(err); code != driver.InvalidArgument {
				t.Errorf("%q: error %v has code %v, want InvalidArgument", c.query, err, code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if info := d.Info(); info.PartitionKey != c.pk || info.SortKey != c.sk {
			t.Errorf("%q: keys (%q, %q), want (%q, %q)", c.query, info.PartitionKey, info.SortKey, c.pk, c.sk)
		}
		d.Close()
	}
}

// Every parameter, not only the key parameters, is refused if repeated.
func TestURLRepeatedParams(t *testing.T) {
	for _, q := range []string{"bucket=b&bucket=b", "region=x&region=x", "path_style=true&path_style=true", "bogus=1&bogus=1"} {
		u, _ := url.Parse("s3dynamo://t?" + q)
		if _, _, err := optionsFromURL(u); err == nil || !strings.Contains(err.Error(), "2 times") {
			t.Errorf("%q: error %v, want one about a repeated parameter", q, err)
		}
	}
}

func TestURLLimitsAreDynamoDBs(t *testing.T) {
	d, err := New(&Options{Table: "t", Bucket: "b", AWS: &aws.Config{Region: "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info, want := d.Info(), driver.DynamoDBLimits()
	if info.MaxPartitionKeyBytes != want.MaxPartitionKeyBytes || info.MaxSortKeyBytes != want.MaxSortKeyBytes ||
		info.MaxDocumentBytes != want.MaxDocumentBytes || info.MaxBlobKeyBytes != want.MaxBlobKeyBytes || !info.DynamoDBValues {
		t.Errorf("Info %+v, want the limits of %+v", info, want)
	}
}

package memstore

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

// keyParamCases are the key parameters of every scheme's URL
// (driver.ParseKeyParams), and the key attributes they give: the file
// and s3dynamo drivers test the same table.
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

func TestURLKeyParams(t *testing.T) {
	for _, c := range keyParamCases {
		u, err := url.Parse("mem://?" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		d, err := openURL(context.Background(), u)
		if c.wantFail != "" {
			if err == nil {
				t.Errorf("%q: opened, with Info %+v", c.query, d.Info())
			} else if !strings.Contains(err.Error(), c.wantFail) || !strings.HasPrefix(err.Error(), "memstore: ") {
				t.Errorf("%q: error %q does not say %q", c.query, err, c.wantFail)
			} else if de := (*driver.Error)(nil); !errors.As(err, &de) || de.Code != driver.InvalidArgument {
				t.Errorf("%q: error %v is not an InvalidArgument *driver.Error", c.query, err)
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
	for _, q := range []string{"collection=a&collection=a", "max_document_bytes=1&max_document_bytes=2", "bogus=1&bogus=1"} {
		u, _ := url.Parse("mem://?" + q)
		if _, err := openURL(context.Background(), u); err == nil || !strings.Contains(err.Error(), "2 times") {
			t.Errorf("%q: error %v, want one about a repeated parameter", q, err)
		}
	}
}

func TestLimitsAreDynamoDBs(t *testing.T) {
	info, want := newMem(t, nil).Info(), driver.DynamoDBLimits()
	if info.MaxPartitionKeyBytes != want.MaxPartitionKeyBytes || info.MaxSortKeyBytes != want.MaxSortKeyBytes ||
		info.MaxDocumentBytes != want.MaxDocumentBytes || info.MaxBlobKeyBytes != want.MaxBlobKeyBytes || !info.DynamoDBValues {
		t.Errorf("Info %+v, want the limits of %+v", info, want)
	}
}

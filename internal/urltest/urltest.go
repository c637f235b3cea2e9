// Package urltest holds the URL tests every driver shares: the key
// parameters of driver.ParseKeyParams give the same key attributes on
// every scheme, and every parameter is refused if repeated.
package urltest

import (
	"errors"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

// Open opens a driver from the query part of a URL of the scheme under
// test.
type Open func(query string) (driver.Driver, error)

// keyParamCases are the key parameters of every scheme's URL and the key
// attributes they give.
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

// KeyParams checks that the key parameters give the same key attributes
// as on every other scheme, and that refusals are InvalidArgument
// *driver.Errors whose message starts with prefix and names the problem.
func KeyParams(t *testing.T, prefix string, open Open) {
	t.Helper()
	for _, c := range keyParamCases {
		d, err := open(c.query)
		if c.wantFail != "" {
			if err == nil {
				t.Errorf("%q: opened, with Info %+v", c.query, d.Info())
				d.Close()
			} else if !strings.Contains(err.Error(), c.wantFail) || !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("%q: error %q does not say %q after %q", c.query, err, c.wantFail, prefix)
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

// RepeatedParams checks that each query, which repeats a parameter, is
// refused with an error that says so.
func RepeatedParams(t *testing.T, open Open, queries ...string) {
	t.Helper()
	for _, q := range append(queries, "bogus=1&bogus=1") {
		if d, err := open(q); err == nil {
			d.Close()
			t.Errorf("%q: opened", q)
		} else if !strings.Contains(err.Error(), "2 times") {
			t.Errorf("%q: error %v, want one about a repeated parameter", q, err)
		}
	}
}

// Limits checks that a driver reports DynamoDB's limits.
func Limits(t *testing.T, info driver.Info) {
	t.Helper()
	want := driver.DynamoDBLimits()
	if info.MaxPartitionKeyBytes != want.MaxPartitionKeyBytes || info.MaxSortKeyBytes != want.MaxSortKeyBytes ||
		info.MaxDocumentBytes != want.MaxDocumentBytes || info.MaxBlobKeyBytes != want.MaxBlobKeyBytes || !info.DynamoDBValues {
		t.Errorf("Info %+v, want the limits of %+v", info, want)
	}
}

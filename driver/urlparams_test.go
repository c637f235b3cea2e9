package driver_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

func TestParseKeyParams(t *testing.T) {
	cases := []struct {
		query   string
		want    driver.KeyParams
		wantErr string // a substring of the error; "" for success
	}{
		{"", driver.KeyParams{}, ""},
		{"bucket=b&other=x", driver.KeyParams{}, ""},
		{"partition_key=id", driver.KeyParams{PartitionKey: "id"}, ""},
		{"sort_key=range", driver.KeyParams{SortKey: "range"}, ""},
		{"partition_key=id&sort_key=range", driver.KeyParams{PartitionKey: "id", SortKey: "range"}, ""},
		{"no_sort_key=true", driver.KeyParams{NoSortKey: true}, ""},
		{"no_sort_key=1", driver.KeyParams{NoSortKey: true}, ""},
		{"no_sort_key=false", driver.KeyParams{}, ""},
		{"no_sort_key=false&sort_key=s", driver.KeyParams{SortKey: "s"}, ""},
		{"sort_key=", driver.KeyParams{NoSortKey: true}, ""},
		{"sort_key=&no_sort_key=true", driver.KeyParams{NoSortKey: true}, ""},
		{"partition_key=id&sort_key=", driver.KeyParams{PartitionKey: "id", NoSortKey: true}, ""},
		{"partition_key=a%20b&sort_key=%C3%A9", driver.KeyParams{PartitionKey: "a b", SortKey: "é"}, ""},

		{"partition_key=", driver.KeyParams{}, "partition_key is empty"},
		{"no_sort_key=maybe", driver.KeyParams{}, `no_sort_key="maybe" is not a boolean`},
		{"no_sort_key=", driver.KeyParams{}, "not a boolean"},
		{"no_sort_key=true&sort_key=s", driver.KeyParams{}, "contradict"},
		{"no_sort_key=false&sort_key=", driver.KeyParams{}, "no_sort_key=false"},
		{"partition_key=k&sort_key=k", driver.KeyParams{}, "must differ"},
		{"sort_key=a&sort_key=b", driver.KeyParams{}, `"sort_key" (2 times)`},
		{"sort_key=a&sort_key=a", driver.KeyParams{}, `"sort_key" (2 times)`},
		{"partition_key=a&partition_key=b", driver.KeyParams{}, `"partition_key" (2 times)`},
		{"no_sort_key=true&no_sort_key=true", driver.KeyParams{}, `"no_sort_key" (2 times)`},
		// Duplicates of any parameter, not only the key parameters.
		{"bucket=a&bucket=b&bucket=c", driver.KeyParams{}, `"bucket" (3 times)`},
		{"x=1&x=2&partition_key=id", driver.KeyParams{}, `"x" (2 times)`},
	}
	for _, c := range cases {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		got, err := driver.ParseKeyParams(q)
		if c.wantErr == "" {
			if err != nil || got != c.want {
				t.Errorf("%q: got %+v, %v; want %+v", c.query, got, err, c.want)
			}
			continue
		}
		var de *driver.Error
		switch {
		case err == nil:
			t.Errorf("%q: got %+v, want an error", c.query, got)
		case !errors.As(err, &de) || de.Code != driver.InvalidArgument:
			t.Errorf("%q: error %v is not an InvalidArgument *driver.Error", c.query, err)
		case !strings.Contains(err.Error(), c.wantErr):
			t.Errorf("%q: error %q does not say %q", c.query, err, c.wantErr)
		}
	}
}

func TestIsKeyParam(t *testing.T) {
	for _, name := range []string{"partition_key", "sort_key", "no_sort_key"} {
		if !driver.IsKeyParam(name) {
			t.Errorf("IsKeyParam(%q) = false", name)
		}
	}
	for _, name := range []string{"", "bucket", "sortkey", "Sort_Key"} {
		if driver.IsKeyParam(name) {
			t.Errorf("IsKeyParam(%q) = true", name)
		}
	}
}

func TestDynamoDBLimits(t *testing.T) {
	i := driver.DynamoDBLimits()
	if i.MaxPartitionKeyBytes != 2048 || i.MaxSortKeyBytes != 1024 || i.MaxDocumentBytes != 400*1024 ||
		i.MaxBlobKeyBytes != 1024 || !i.DynamoDBValues {
		t.Errorf("DynamoDBLimits() = %+v", i)
	}
	i.MaxDocumentBytes = 1
	if driver.DynamoDBLimits().MaxDocumentBytes != 400*1024 {
		t.Error("DynamoDBLimits returns a shared value")
	}
}

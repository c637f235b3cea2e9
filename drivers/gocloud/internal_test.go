package gocloud

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/docblob/docblob/driver"
	"gocloud.dev/blob/memblob"
)

func newMem(t *testing.T) *Driver {
	coll, err := MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(memblob.OpenBucket(nil), coll, &Options{Retries: RetriesNone, SettledOnReturn: true, CloseBoth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// awsdynamodb reports a TransactionInProgressException as InvalidArgument,
// which reads as definite; the write may have been applied.
func TestTransactionInProgressIsUnknown(t *testing.T) {
	d := newMem(t)
	err := errors.Join(errors.New("awsdynamodb"), &types.TransactionInProgressException{Message: new(string)})
	if got := d.ErrorCode(err); got != driver.Unknown {
		t.Errorf("ErrorCode(TransactionInProgressException) = %v, want unknown", got)
	}
}

// An item over DynamoDB's size limit is a ValidationException, which
// awsdynamodb reports as InvalidArgument.
func TestItemSizeIsTooLarge(t *testing.T) {
	d := newMem(t)
	err := &smithy.GenericAPIError{Code: "ValidationException", Message: "Item size has exceeded the maximum allowed size"}
	if got := d.ErrorCode(err); got != driver.TooLarge {
		t.Errorf("ErrorCode(%v) = %v, want too large", err, got)
	}
	other := &smithy.GenericAPIError{Code: "ValidationException", Message: "One or more parameter values were invalid"}
	if got := d.ErrorCode(other); got == driver.TooLarge {
		t.Errorf("ErrorCode(%v) = %v", other, got)
	}
}

// The values that awsdynamodb would change ("" as NULL, integers beyond
// 2^53 through a float64) and that docstore has no type for (Decimal,
// sets) are stored tagged, and maps whose keys look like tags are not
// taken for tags.
func TestCodecRoundTrip(t *testing.T) {
	fields := map[string]any{
		"empty":   "",
		"bytes":   []byte{},
		"big":     int64(1<<53 + 1),
		"neg":     int64(-(1<<62 + 3)),
		"small":   int64(42),
		"float":   0.1,
		"decimal": driver.Decimal("12345678901234567890.123456789"),
		"ss":      driver.StringSet{"", "a"},
		"ns":      driver.NumberSet{"1", "2.5"},
		"bs":      driver.BinarySet{[]byte{}, []byte("x")},
		"nested":  map[string]any{"~s": true, "~~n": "x", "a": []any{"", int64(1 << 60), nil}},
		"list":    []any{map[string]any{"~n": "1"}},
	}
	want := driver.CanonicalFields(fields)
	enc := map[string]any{}
	for k, v := range want {
		enc[k] = encodeValue(v)
	}
	if enc["empty"] == "" {
		t.Error(`"" is stored as ""`)
	}
	got := map[string]any{}
	for k, v := range enc {
		dv, err := decodeValue(v)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		got[k] = dv
	}
	got = driver.CanonicalFields(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
	}
	// awsdynamodb reads an integral number in [2^63, 2^64) as a uint64.
	if v, _ := decodeValue(uint64(1 << 63)); v != float64(1<<63) {
		t.Errorf("uint64 decodes to %#v", v)
	}
}

func TestMayHaveRetried(t *testing.T) {
	once := &attemptsError{err: errors.New("x"), n: 1}
	twice := &attemptsError{err: errors.New("x"), n: 2}
	uncounted := &attemptsError{err: errors.New("x"), n: 0}
	for _, c := range []struct {
		r    Retries
		err  error
		want bool
	}{
		{RetriesNone, twice, false},
		{RetriesPossible, once, true},
		{RetriesCounted, once, false},
		{RetriesCounted, twice, true},
		{RetriesCounted, uncounted, true}, // no middleware
	} {
		if got := mayHaveRetried(c.r, c.err); got != c.want {
			t.Errorf("mayHaveRetried(%v, %d attempts) = %v", c.r, c.err.(*attemptsError).n, got)
		}
	}
}

func TestSuccessor(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a", "b"}, {"ab", "ac"}, {"a\U0010FFFF", "b"}, {"\uD7FF", "\uE000"}, {"\U0010FFFF", ""},
	} {
		got, ok := successor(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("successor(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
		if ok && (got <= c.in || strings.HasPrefix(got, c.in)) {
			t.Errorf("successor(%q) = %q is not past the prefix", c.in, got)
		}
	}
}

// A collection opened with another revision field than the driver's
// compare-and-swap field would make writes unconditional: the first write
// says so.
func TestWrongRevisionField(t *testing.T) {
	coll, err := MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(memblob.OpenBucket(nil), coll, &Options{Retries: RetriesNone, CASField: "Other", CloseBoth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.PutDocument(t.Context(), &driver.Document{Key: driver.Key{Partition: "p", Sort: "s"}, Revision: "r1", Fields: map[string]any{}}, driver.Condition{})
	if err == nil || !strings.Contains(err.Error(), "RevisionField") {
		t.Errorf("write to a collection without the CAS field: %v", err)
	}
}

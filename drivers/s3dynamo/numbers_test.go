package s3dynamo

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// TestForeignItemRoundTrip writes an item with the plain SDK, as another
// tool would (numbers of 38 digits and at DynamoDB's limits, every kind of
// set, nested numbers), reads it through a Store into a map[string]any and
// puts the map back: the item must be exactly as it was, attribute for
// attribute, the revision aside.
func TestForeignItemRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	n := func(s string) types.AttributeValue { return &types.AttributeValueMemberN{Value: s} }
	item := map[string]types.AttributeValue{
		"pk":      &types.AttributeValueMemberS{Value: "acme"},
		"sk":      &types.AttributeValueMemberS{Value: "foreign"},
		"id":      n("12345678901234567890"),
		"pi":      n("3.1415926535897932384626433832795028"),
		"max":     n("9.9999999999999999999999999999999999999E+125"),
		"min":     n("-9.9999999999999999999999999999999999999E+125"),
		"tiny":    n("1e-130"),
		"digits":  n("12345678901234567890123456789012345678"),
		"tenth":   n("0.1"),
		"money":   n("19.99"),
		"int":     n("42"),
		"minint":  n("-9223372036854775808"),
		"overint": n("9223372036854775808"),
		"big":     n("1E+100"),
		"zero":    n("-0.000"),
		"ss":      &types.AttributeValueMemberSS{Value: []string{"b", "a", ""}},
		"ns":      &types.AttributeValueMemberNS{Value: []string{"12345678901234567890", "0.1", "1e-130", "-9.9999999999999999999999999999999999999E+125"}},
		"bs":      &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}},
		"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			n("98765432109876543210"), &types.AttributeValueMemberSS{Value: []string{"x"}},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"deep": &types.AttributeValueMemberNS{Value: []string{"1", "2"}}}},
		}},
		"map": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"n": n("3.14159265358979323846264338327950288")}},
	}
	key := map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}
	if _, err := f.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	getItem := func() map[string]types.AttributeValue {
		t.Helper()
		out, err := f.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		return out.Item
	}
	want := getItem() // as DynamoDB normalized it

	s, err := docblob.NewStore(f.drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"pk": "acme", "sk": "foreign"}
	if err := s.Get(ctx, m); err != nil {
		t.Fatalf("Get: %v", err)
	}
	for name, want := range map[string]reflect.Type{
		"id": decimalType, "pi": decimalType, "max": decimalType, "overint": decimalType,
		"tiny": floatType, "tenth": floatType, "money": floatType, "big": floatType,
		"int": intType, "zero": intType, "minint": intType,
		"ss": reflect.TypeFor[docblob.StringSet](), "ns": reflect.TypeFor[docblob.NumberSet](), "bs": reflect.TypeFor[docblob.BinarySet](),
	} {
		if got := reflect.TypeOf(m[name]); got != want {
			t.Errorf("Get %s: %v (%v), want a %v", name, m[name], got, want)
		}
	}
	if err := s.Put(ctx, m); err != nil {
		t.Fatalf("Put of what Get returned: %v", err)
	}
	got := getItem()
	if _, ok := got[revisionAttr]; !ok {
		t.Error("Put wrote no revision")
	}
	delete(got, revisionAttr)
	if !exactItem(got, want) {
		t.Errorf("the item changed:\n got %s\nwant %s", showItem(got), showItem(want))
	}

	// Typed fields take numbers only when they hold them exactly.
	type typed struct {
		PK    string            `docstore:"pk"`
		SK    string            `docstore:"sk"`
		ID    docblob.Decimal   `docstore:"id"`
		Max   docblob.Decimal   `docstore:"max"`
		Money float64           `docstore:"money"`
		Int   int64             `docstore:"int"`
		NS    docblob.NumberSet `docstore:"ns"`
		SS    []string          `docstore:"ss"`
	}
	tv := &typed{PK: "acme", SK: "foreign"}
	if err := s.Get(ctx, tv); err != nil {
		t.Fatalf("Get into a struct: %v", err)
	}
	if tv.ID != "12345678901234567890" || !tv.Max.Equal("9.9999999999999999999999999999999999999E+125") || tv.Money != 19.99 || tv.Int != 42 || len(tv.NS) != 4 || len(tv.SS) != 3 {
		t.Errorf("Get into a struct: %+v", tv)
	}
	bad := &struct {
		PK string `docstore:"pk"`
		SK string `docstore:"sk"`
		ID int64  `docstore:"id"`
	}{PK: "acme", SK: "foreign"}
	if err := s.Get(ctx, bad); docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), "12345678901234567890") {
		t.Errorf("Get of 12345678901234567890 into an int64: %v", err)
	}
}

var (
	decimalType = reflect.TypeFor[docblob.Decimal]()
	floatType   = reflect.TypeFor[float64]()
	intType     = reflect.TypeFor[int64]()
)

// exactItem compares items attribute for attribute: numbers by their text,
// sets in order.
func exactItem(a, b map[string]types.AttributeValue) bool {
	return showItem(a) == showItem(b)
}

// TestEncodeDecimalsAndSets checks the attribute values of the new value
// types, and that invalid ones never reach DynamoDB.
func TestEncodeDecimalsAndSets(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string // showValue of the attribute value, or "" for an error
	}{
		{driver.Decimal("12345678901234567890"), `N"12345678901234567890"`},
		{driver.Decimal("+1.50e0"), `N"+1.50e0"`},
		{driver.Decimal("1e126"), ""},
		{driver.Decimal(""), ""},
		{driver.StringSet{"a", ""}, `SS["a" ""]`},
		{driver.StringSet{}, ""},
		{driver.NumberSet{"1", "1e-130"}, `NS["1" "1e-130"]`},
		{driver.NumberSet{"1", "x"}, ""},
		{driver.NumberSet(nil), ""},
		{driver.BinarySet{{1}, {}}, `BS["\x01" ""]`},
		{driver.BinarySet{}, ""},
	} {
		av, err := encodeValue(tc.v)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%#v encoded to %s, want an error", tc.v, showValue(av))
		case tc.want != "" && err != nil:
			t.Errorf("%#v: %v", tc.v, err)
		case tc.want != "" && showValue(av) != tc.want:
			t.Errorf("%#v encoded to %s, want %s", tc.v, showValue(av), tc.want)
		}
	}
}

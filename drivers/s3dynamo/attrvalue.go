package s3dynamo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob/driver"
)

// revisionAttr is the attribute that holds a document's revision, as in
// gocloud.dev/docstore.
const revisionAttr = driver.DefaultRevisionKey

// encodeItem converts doc into a DynamoDB item: its fields, the key
// attributes and the revision.
func (d *Driver) encodeItem(doc *driver.Document) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(doc.Fields)+3)
	for name, v := range doc.Fields {
		if d.isReserved(name) {
			return nil, invalidf(fmt.Sprintf("field %q is a key or revision attribute", name))
		}
		av, err := encodeValue(v)
		if err != nil {
			return nil, newCoded(driver.InvalidArgument, fmt.Sprintf("field %q", name), err)
		}
		item[name] = av
	}
	for name, av := range d.keyItem(doc.Key) {
		item[name] = av
	}
	if doc.Revision != "" {
		item[revisionAttr] = &types.AttributeValueMemberS{Value: doc.Revision}
	}
	return item, nil
}

func (d *Driver) isReserved(name string) bool {
	return name == d.info.PartitionKey || name == revisionAttr ||
		(d.info.SortKey != "" && name == d.info.SortKey)
}

// keyItem returns the key attributes of key.
func (d *Driver) keyItem(key driver.Key) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		d.info.PartitionKey: &types.AttributeValueMemberS{Value: key.Partition},
	}
	if d.info.SortKey != "" {
		m[d.info.SortKey] = &types.AttributeValueMemberS{Value: key.Sort}
	}
	return m
}

// decodeItem converts a DynamoDB item into a document. It never fails and
// loses nothing: an item written by other tools may hold any attribute
// values (numbers of 38 digits, sets), and the previous version returned by
// a write that was applied must always reach the caller.
func (d *Driver) decodeItem(item map[string]types.AttributeValue) *driver.Document {
	doc := &driver.Document{Fields: make(map[string]any, len(item))}
	for name, av := range item {
		switch {
		case name == d.info.PartitionKey:
			doc.Key.Partition = scalarString(av)
		case d.info.SortKey != "" && name == d.info.SortKey:
			doc.Key.Sort = scalarString(av)
		case name == revisionAttr:
			doc.Revision = scalarString(av)
		default:
			doc.Fields[name] = decodeValue(av)
		}
	}
	return doc
}

// scalarString returns the text of a key or revision attribute, which is
// a string in every item this driver writes.
func scalarString(av types.AttributeValue) string {
	switch x := av.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return x.Value
	case *types.AttributeValueMemberB:
		return string(x.Value)
	}
	return ""
}

// encodeValue converts a field value (see driver.Document) into an
// attribute value.
func encodeValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case []byte:
		return &types.AttributeValueMemberB{Value: append([]byte{}, x...)}, nil
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("DynamoDB cannot store the number %v", x)
		}
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case driver.Decimal:
		if err := x.Check(); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: string(x)}, nil
	case driver.StringSet:
		if len(x) == 0 {
			return nil, errEmptySet
		}
		return &types.AttributeValueMemberSS{Value: append([]string{}, x...)}, nil
	case driver.NumberSet:
		if len(x) == 0 {
			return nil, errEmptySet
		}
		l := make([]string, len(x))
		for i, e := range x {
			if err := e.Check(); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = string(e)
		}
		return &types.AttributeValueMemberNS{Value: l}, nil
	case driver.BinarySet:
		if len(x) == 0 {
			return nil, errEmptySet
		}
		l := make([][]byte, len(x))
		for i, e := range x {
			l[i] = append([]byte{}, e...)
		}
		return &types.AttributeValueMemberBS{Value: l}, nil
	case time.Time:
		// Not a canonical value, but a driver accepts it (see
		// driver.Document): its canonical form is a string.
		return &types.AttributeValueMemberS{Value: driver.CanonicalTime(x)}, nil
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			av, err := encodeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			av, err := encodeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

var errEmptySet = errors.New("DynamoDB cannot store an empty set")

// decodeValue converts an attribute value into a field value in canonical
// form (see driver.Document), without loss: numbers as
// driver.CanonicalDecimal says (int64 if they are integers that fit,
// float64 if a float64 written back is the same number, a driver.Decimal
// in plain normal text otherwise, which is DynamoDB's own); string, number
// and binary sets as driver.StringSet, driver.NumberSet (of Decimals) and
// driver.BinarySet, sorted.
func decodeValue(av types.AttributeValue) any {
	switch x := av.(type) {
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberB:
		return append([]byte{}, x.Value...)
	case *types.AttributeValueMemberN:
		return driver.CanonicalDecimal(driver.Decimal(x.Value))
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = decodeValue(e)
		}
		return l
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(x.Value))
		for k, e := range x.Value {
			m[k] = decodeValue(e)
		}
		return m
	// CanonicalValue copies the sets, and sorts them: DynamoDB promises
	// no order.
	case *types.AttributeValueMemberSS:
		return driver.CanonicalValue(driver.StringSet(x.Value))
	case *types.AttributeValueMemberNS:
		l := make(driver.NumberSet, len(x.Value))
		for i, e := range x.Value {
			l[i] = driver.Decimal(e)
		}
		return driver.CanonicalValue(l)
	case *types.AttributeValueMemberBS:
		return driver.CanonicalValue(driver.BinarySet(x.Value))
	}
	return nil
}

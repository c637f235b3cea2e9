package s3dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/docblob/docblob/driver"
)

var errNoDocument = newCoded(driver.NotFound, "document not found", nil)

// GetDocument reads the document with one GetItem, strongly consistent
// unless Options.EventuallyConsistentReads.
func (d *Driver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	out, err := d.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      d.tableName,
		Key:            d.keyItem(key),
		ConsistentRead: d.consistentRead,
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, errNoDocument
	}
	return d.decodeItem(out.Item), nil
}

// PutDocument writes the document with one PutItem whose condition
// expression checks cond and whose ReturnValues ALL_OLD returns the
// replaced item atomically.
func (d *Driver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The SDK would replace invalid UTF-8 silently; DynamoDB refuses the
	// rest, at the cost of a round trip.
	if err := driver.CheckDynamoDBValues(doc.Fields); err != nil {
		return nil, err
	}
	item, err := d.encodeItem(doc)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.PutItemInput{
		TableName:    d.tableName,
		Item:         item,
		ReturnValues: types.ReturnValueAllOld,
	}
	in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = d.condition(cond)
	var attempts attemptCounter
	out, err := d.ddb.PutItem(ctx, in, attempts.option, safeWriteRetries)
	if err != nil {
		return nil, d.conditionError(err, cond, attempts.count())
	}
	if len(out.Attributes) == 0 {
		return nil, nil
	}
	prev := d.decodeItem(out.Attributes)
	if doc.Revision != "" && prev.Revision == doc.Revision {
		// The SDK retried after losing the response of an attempt that was
		// applied: the item "replaced" is this write's own, and the one it
		// really replaced is unknown. The write is committed; reporting an
		// ambiguous failure makes the portable layer read it back and leave
		// the payloads of the unknown version to the sweeper.
		return nil, newCoded(driver.Unknown, "the write was applied by an earlier attempt whose response was lost; the replaced version is unknown", nil)
	}
	return prev, nil
}

// DeleteDocument removes the document with one DeleteItem, conditionally,
// returning the removed item (ReturnValues ALL_OLD).
func (d *Driver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := &dynamodb.DeleteItemInput{
		TableName:    d.tableName,
		Key:          d.keyItem(key),
		ReturnValues: types.ReturnValueAllOld,
	}
	in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = d.condition(cond)
	var attempts attemptCounter
	out, err := d.ddb.DeleteItem(ctx, in, attempts.option, safeWriteRetries)
	if err != nil {
		return nil, d.conditionError(err, cond, attempts.count())
	}
	if len(out.Attributes) == 0 {
		return nil, nil
	}
	return d.decodeItem(out.Attributes), nil
}

// condition returns the condition expression for cond, or nils.
func (d *Driver) condition(cond driver.Condition) (*string, map[string]string, map[string]types.AttributeValue) {
	switch cond.Kind {
	case driver.MustNotExist:
		return aws.String("attribute_not_exists(#pk)"), map[string]string{"#pk": d.info.PartitionKey}, nil
	case driver.MustMatchRevision:
		if cond.Revision == "" {
			// An item written by another tool, still without a revision.
			return aws.String("attribute_exists(#pk) AND attribute_not_exists(#rev)"),
				map[string]string{"#pk": d.info.PartitionKey, "#rev": revisionAttr}, nil
		}
		// Fails on a missing item too: the attribute does not exist.
		return aws.String("#rev = :rev"), map[string]string{"#rev": revisionAttr},
			map[string]types.AttributeValue{":rev": &types.AttributeValueMemberS{Value: cond.Revision}}
	}
	return nil, nil, nil
}

// conditionError gives a failed condition its portable code: DynamoDB
// reports both kinds with ConditionalCheckFailedException. Another error
// that proves the last attempt was not applied (throttled, or no
// connection made; see safeWriteRetries, which retried only such
// failures) is marked with driver.ErrNotApplied, so that the portable
// layer deletes the write's payloads at once.
//
// A condition failure is definite only if the SDK sent the request once.
// After a retry, an earlier attempt may have been applied with its response
// lost (a reset, a timeout): the retry then fails on the item that attempt
// wrote, or on an item that another writer wrote since, on top of it (and
// that may keep its attachments). Reporting that as a definite failure
// would let the portable layer delete payloads that a committed document
// references, so it is reported as Unknown (the write may have been
// applied): the portable layer reads the document back and, if its own
// revision is not there, leaves the payloads to the sweeper.
func (d *Driver) conditionError(err error, cond driver.Condition, attempts int) error {
	var ccf *types.ConditionalCheckFailedException
	switch {
	case !errors.As(err, &ccf):
		if notApplied(err) {
			return fmt.Errorf("%w (%w)", err, driver.ErrNotApplied)
		}
		return err
	case attempts > 1:
		return newCoded(driver.Unknown, "the condition failed on a retry; an earlier attempt whose response was lost may have been applied", err)
	case cond.Kind == driver.MustNotExist:
		return newCoded(driver.AlreadyExists, "document already exists", err)
	}
	return newCoded(driver.FailedPrecondition, "document revision does not match", err)
}

// attemptCounter counts the attempts the SDK makes to send one request,
// retries included.
type attemptCounter struct{ n atomic.Int32 }

func (c *attemptCounter) count() int { return int(c.n.Load()) }

// option adds the counter to one request's middleware stack, after the
// retry middleware so that it sees every attempt.
func (c *attemptCounter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Finalize.Insert(c, "Retry", middleware.After)
	})
}

// ID names the middleware.
func (c *attemptCounter) ID() string { return "docblobAttemptCounter" }

// HandleFinalize counts one attempt.
func (c *attemptCounter) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	c.n.Add(1)
	return next.HandleFinalize(ctx, in)
}

// QueryDocuments runs one Query (or, for Partition "", one Scan, of one
// segment of a parallel Scan if q.TotalSegments > 1) and returns its page.
// Page tokens encode DynamoDB's LastEvaluatedKey.
func (d *Driver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if err := q.CheckSegments(); err != nil {
		return nil, err
	}
	start, err := d.decodePageToken(q.PageToken)
	if err != nil {
		return nil, err
	}
	var limit *int32
	if q.Limit > 0 {
		limit = aws.Int32(int32(min(q.Limit, math.MaxInt32)))
	}
	consistent := aws.Bool(!d.opts.EventuallyConsistentReads)
	if q.Partition == "" {
		if q.Sort != driver.SortAny {
			return nil, invalidf("a scan of every partition takes no sort-key condition")
		}
		in := &dynamodb.ScanInput{
			TableName:         aws.String(d.opts.Table),
			ConsistentRead:    consistent,
			Limit:             limit,
			ExclusiveStartKey: start,
		}
		if q.TotalSegments > 1 {
			in.Segment = aws.Int32(int32(q.Segment))
			in.TotalSegments = aws.Int32(int32(q.TotalSegments))
		}
		out, err := d.ddb.Scan(ctx, in)
		if err != nil {
			return nil, err
		}
		return d.page(out.Items, out.LastEvaluatedKey)
	}
	expr, names, values, empty, err := d.keyCondition(q)
	if err != nil {
		return nil, err
	}
	if empty {
		return &driver.QueryPage{}, nil
	}
	if start == nil && q.StartAfter != "" && d.info.SortKey != "" {
		// A position by key is exactly what ExclusiveStartKey is.
		start = map[string]types.AttributeValue{
			d.info.PartitionKey: &types.AttributeValueMemberS{Value: q.Partition},
			d.info.SortKey:      &types.AttributeValueMemberS{Value: q.StartAfter},
		}
	}
	out, err := d.ddb.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(d.opts.Table),
		KeyConditionExpression:    aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!q.Descending),
		ConsistentRead:            consistent,
		Limit:                     limit,
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return nil, err
	}
	return d.page(out.Items, out.LastEvaluatedKey)
}

// keyCondition returns the key condition expression of q. DynamoDB rejects
// empty strings as key values and BETWEEN with bounds out of order, so
// conditions on "" are rewritten into equivalent ones (sort keys are never
// empty), and empty reports a condition that no document can meet.
func (d *Driver) keyCondition(q *driver.Query) (expr string, names map[string]string, values map[string]types.AttributeValue, empty bool, err error) {
	names = map[string]string{"#pk": d.info.PartitionKey}
	values = map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: q.Partition}}
	expr = "#pk = :pk"
	op, v, v2 := q.Sort, q.Value, q.Value2
	if op != driver.SortAny && d.info.SortKey == "" {
		return "", nil, nil, false, invalidf("the table has no sort key to query on")
	}
	switch op {
	case driver.SortAny:
		return expr, names, values, false, nil
	case driver.SortEqual, driver.SortLess, driver.SortLessOrEqual:
		if v == "" {
			return "", nil, nil, true, nil
		}
	case driver.SortPrefix, driver.SortGreater, driver.SortGreaterOrEqual:
		if v == "" {
			return expr, names, values, false, nil
		}
	case driver.SortBetween:
		if v > v2 || v2 == "" {
			return "", nil, nil, true, nil
		}
		if v == "" {
			op, v = driver.SortLessOrEqual, v2
		}
	default:
		return "", nil, nil, false, invalidf("unknown sort-key condition")
	}
	names["#sk"] = d.info.SortKey
	values[":v"] = &types.AttributeValueMemberS{Value: v}
	switch op {
	case driver.SortEqual:
		expr += " AND #sk = :v"
	case driver.SortPrefix:
		expr += " AND begins_with(#sk, :v)"
	case driver.SortBetween:
		expr += " AND #sk BETWEEN :v AND :v2"
		values[":v2"] = &types.AttributeValueMemberS{Value: v2}
	case driver.SortLess:
		expr += " AND #sk < :v"
	case driver.SortLessOrEqual:
		expr += " AND #sk <= :v"
	case driver.SortGreater:
		expr += " AND #sk > :v"
	case driver.SortGreaterOrEqual:
		expr += " AND #sk >= :v"
	}
	return expr, names, values, false, nil
}

func (d *Driver) page(items []map[string]types.AttributeValue, last map[string]types.AttributeValue) (*driver.QueryPage, error) {
	p := &driver.QueryPage{Documents: make([]*driver.Document, len(items))}
	for i, item := range items {
		p.Documents[i] = d.decodeItem(item)
	}
	if len(last) > 0 {
		tok, err := encodePageToken(last)
		if err != nil {
			return nil, err
		}
		p.NextPageToken = tok
	}
	return p, nil
}

// A page token is the base64url encoding of a JSON object holding the
// string values of LastEvaluatedKey's attributes (the table's key).
func encodePageToken(last map[string]types.AttributeValue) (string, error) {
	m := make(map[string]string, len(last))
	for name, av := range last {
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return "", newCoded(driver.Unknown, "unexpected non-string key attribute "+name+" in LastEvaluatedKey", nil)
		}
		m[name] = s.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (d *Driver) decodePageToken(tok string) (map[string]types.AttributeValue, error) {
	if tok == "" {
		return nil, nil
	}
	bad := invalidf("malformed page token")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, bad
	}
	if _, ok := m[d.info.PartitionKey]; !ok || len(m) != len(d.keyItem(driver.Key{})) {
		return nil, bad
	}
	if d.info.SortKey != "" {
		if _, ok := m[d.info.SortKey]; !ok {
			return nil, bad
		}
	}
	start := make(map[string]types.AttributeValue, len(m))
	for name, s := range m {
		start[name] = &types.AttributeValueMemberS{Value: s}
	}
	return start, nil
}

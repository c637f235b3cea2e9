package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// oldPayloads reports payloads as stored two days earlier than they were,
// so that a sweep's grace period has passed.
type oldPayloads struct{ driver.Driver }

func (o oldPayloads) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	page, err := o.Driver.ListBlobs(ctx, prefix, token)
	if err == nil {
		for i := range page.Blobs {
			page.Blobs[i].ModTime = page.Blobs[i].ModTime.Add(-48 * time.Hour)
		}
	}
	return page, err
}

type batchDoc struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	N    int           `docstore:"n"`
	File *docblob.Blob `docstore:"file"`
}

// dynamoOps counts the DynamoDB requests of operation op on the wire.
func (c *counter) dynamoOps(op string) int {
	n := 0
	for _, r := range c.requests() {
		if r.op == "DynamoDB_20120810."+op {
			n++
		}
	}
	return n
}

// deleteObjectsRequests counts the S3 DeleteObjects requests on the wire.
func (c *counter) deleteObjectsRequests() int {
	n := 0
	for _, r := range c.requests() {
		if r.service == "s3" && r.method == http.MethodPost && r.query.Has("delete") {
			n++
		}
	}
	return n
}

// TestGetManyRequests checks that GetMany of 1,000 keys takes 10
// BatchGetItem requests, and reports its time against 1,000 single Gets.
func TestGetManyRequests(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	store, err := docblob.NewStore(f.drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 1000
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				errs[i] = store.Put(ctx, &batchDoc{PK: fmt.Sprintf("p%d", i%10), SK: fmt.Sprintf("d%04d", i), N: i})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	docs := make([]any, n+1)
	for i := range n {
		docs[i] = &batchDoc{PK: fmt.Sprintf("p%d", i%10), SK: fmt.Sprintf("d%04d", i)}
	}
	docs[n] = &batchDoc{PK: "p0", SK: "missing"}
	f.wire.reset()
	start := time.Now()
	got := store.GetMany(ctx, docs, nil)
	many := time.Since(start)
	for i, err := range got[:n] {
		if err != nil || docs[i].(*batchDoc).N != i {
			t.Fatalf("GetMany: document %d: %v, %+v", i, err, docs[i])
		}
	}
	if docblob.Code(got[n]) != docblob.NotFound {
		t.Errorf("GetMany of a missing key: %v, want NotFound", got[n])
	}
	if b, all := f.wire.dynamoOps("BatchGetItem"), len(f.wire.requests()); b != 11 || all != 11 {
		t.Errorf("GetMany of %d keys sent %d requests, %d BatchGetItem, want 11 BatchGetItem", n+1, all, b)
	}
	start = time.Now()
	for i := range n {
		if err := store.Get(ctx, &batchDoc{PK: fmt.Sprintf("p%d", i%10), SK: fmt.Sprintf("d%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	single := time.Since(start)
	t.Logf("GetMany of %d documents: %v (%.0f documents/s); %d single Gets: %v (%.0f documents/s)",
		n, many, n/many.Seconds(), n, single, n/single.Seconds())
}

// TestSweepExpiredItems deletes items with the plain SDK, as a DynamoDB
// TTL or another tool would, and checks that Sweep reclaims their
// payloads with DeleteObjects, reading the documents with BatchGetItem,
// and that Check finds the store consistent afterwards.
func TestSweepExpiredItems(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	store, err := docblob.NewStore(oldPayloads{f.drv}, &docblob.Options{OnCleanupError: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 40
	for i := range n {
		must := store.Put(ctx, &batchDoc{PK: "p", SK: fmt.Sprintf("d%02d", i), File: docblob.NewBlobBytes([]byte(fmt.Sprint("payload ", i)), nil)})
		if must != nil {
			t.Fatal(must)
		}
	}
	for i := 0; i < n; i += 2 {
		if _, err := f.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(f.table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "p"}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("d%02d", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	f.wire.reset()
	start := time.Now()
	res, err := store.Sweep(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Sweep in %v: %+v; requests: %d BatchGetItem, %d DeleteObjects, %d in all", time.Since(start), *res,
		f.wire.dynamoOps("BatchGetItem"), f.wire.deleteObjectsRequests(), len(f.wire.requests()))
	if res.Deleted != n/2 || res.Referenced != n/2 || res.Failed != 0 {
		t.Errorf("Sweep: %+v, want %d orphans deleted and %d kept", *res, n/2, n/2)
	}
	if got := f.wire.deleteObjectsRequests(); got != 1 {
		t.Errorf("Sweep sent %d DeleteObjects requests, want 1", got)
	}
	if got := f.wire.dynamoOps("BatchGetItem"); got != 1 {
		t.Errorf("Sweep sent %d BatchGetItem requests, want 1", got)
	}
	if got := f.wire.count("s3", http.MethodDelete); got != 0 {
		t.Errorf("Sweep sent %d single DELETE requests, want none", got)
	}
	for f, err := range store.Check(ctx, nil) {
		t.Errorf("Check after the sweep: %v %v", f, err)
	}
}

// TestDeleteManyRequests checks that DeleteMany sends one DeleteItem per
// document and one DeleteObjects for their payloads.
func TestDeleteManyRequests(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	store, err := docblob.NewStore(f.drv, &docblob.Options{OnCleanupError: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 20
	docs := make([]any, n)
	for i := range n {
		if err := store.Put(ctx, &batchDoc{PK: "p", SK: fmt.Sprintf("d%02d", i), File: docblob.NewBlobBytes([]byte("x"), nil)}); err != nil {
			t.Fatal(err)
		}
		docs[i] = &batchDoc{PK: "p", SK: fmt.Sprintf("d%02d", i)}
	}
	f.wire.reset()
	if err := errors.Join(store.DeleteMany(ctx, docs, nil)...); err != nil {
		t.Fatal(err)
	}
	if d, o := f.wire.dynamoOps("DeleteItem"), f.wire.deleteObjectsRequests(); d != n || o != 1 || len(f.wire.requests()) != n+1 {
		t.Errorf("DeleteMany of %d documents: %d DeleteItem, %d DeleteObjects, %d requests in all; want %d, 1, %d", n, d, o, len(f.wire.requests()), n, n+1)
	}
	for _, k := range f.rawKeys(ctx) {
		if strings.HasPrefix(k, store.Namespace()+"p/") {
			t.Errorf("payload left: %q", k)
		}
	}
}

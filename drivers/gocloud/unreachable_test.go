package gocloud_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"github.com/docblob/docblob/internal/testservers"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/docstore/awsdynamodb/v2"
)

// unplugged is an http.RoundTripper that, once down, fails every request
// as a connection that could not be made.
type unplugged struct {
	base http.RoundTripper
	down atomic.Bool
}

func (u *unplugged) RoundTrip(r *http.Request) (*http.Response, error) {
	if u.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return u.base.RoundTrip(r)
}

// A Put whose collection cannot be reached (DynamoDB Local unplugged
// after the collection was opened) fails before it sends a write: its
// error is marked driver.ErrNotApplied, and the Store deletes the payload
// it uploaded at once rather than leave it to Sweep.
func TestUnreachableCollectionLeavesNoPayloads(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wire := &unplugged{base: http.DefaultTransport.(*http.Transport).Clone()}
	_, ddb := awsClients(testservers.Endpoints(t), wire)
	table := uniqueName("docblob-unreachable")
	if err := createTable(ctx, ddb, table, "pk", "sk"); err != nil {
		t.Fatal(err)
	}
	coll, err := awsdynamodb.OpenCollection(ddb, table, "pk", "sk", &awsdynamodb.Options{RevisionField: gocloud.DefaultCASField})
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	drv, err := gocloud.New(bucket, coll, &gocloud.Options{Collection: table})
	if err != nil {
		t.Fatal(err)
	}
	store, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	wire.down.Store(true)
	err = store.Put(ctx, &countedDoc{PK: "p", SK: "s", File: docblob.NewBlobBytes([]byte("payload"), nil)})
	if err == nil || !errors.Is(err, driver.ErrNotApplied) {
		t.Fatalf("Put with the collection unreachable returned %v (code %v), want an error marked driver.ErrNotApplied", err, docblob.Code(err))
	}
	var keys []string
	for it := bucket.List(&blob.ListOptions{}); ; {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
	}
	// The namespace's owner marker stays; the payload must not.
	if len(keys) != 1 {
		t.Errorf("the bucket holds %q after the failed Put, want the owner marker alone", keys)
	}
}

package memtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/memtest"
)

// exampleT stands in for the *testing.T of a test, which examples lack:
// in a test, pass the test's t.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Logf(string, ...any)               {}
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("error: "+format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) FailNow()                          { panic("the example failed") }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }

// done runs the clean-ups, as the end of a test would.
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A direct upload, as a browser would make it, against the store's test
// server: the service signs an upload URL, the client sends the payload
// to it, and the service commits the document.
func ExampleServer() {
	t := &exampleT{} // in a test: the test's t
	defer t.done()
	ctx := context.Background()
	store := memtest.New(t)

	// The service prepares the upload of the receipt's scan...
	receipt := &Receipt{Shop: "bakery", ID: "r1", Total: 450}
	up, err := store.NewUpload(ctx, receipt, "scan", &docblob.UploadOptions{ContentType: "image/jpeg"})
	if err != nil {
		panic(err)
	}

	// ... the client sends it with the test server's client...
	req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader([]byte("jpeg bytes")))
	req.Header = up.Header
	resp, err := memtest.Server(t, store).Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("upload:", resp.Status)

	// ... and the service commits it.
	receipt.Scan = up.Blob
	if err := store.Put(ctx, receipt); err != nil {
		panic(err)
	}
	got := &Receipt{Shop: "bakery", ID: "r1"}
	if err := store.Get(ctx, got); err != nil {
		panic(err)
	}
	data, _ := got.Scan.ReadAll(ctx)
	fmt.Printf("stored: %q, %s\n", data, got.Scan.ContentType())
	memtest.AssertConsistent(t, store)
	// Output:
	// upload: 200 OK
	// stored: "jpeg bytes", image/jpeg
}

// A failed write leaves its payload behind, as it would on S3 + DynamoDB;
// Sweep removes it once the store's clock has moved past its grace period.
func ExampleClockOf() {
	t := &exampleT{} // in a test: the test's t
	defer t.done()
	ctx := context.Background()
	store := memtest.New(t)

	memtest.FailNext(store, memtest.PutDocument, errors.New("connection reset by peer"))
	err := store.Put(ctx, &Receipt{Shop: "bakery", ID: "r1", Scan: docblob.NewBlobBytes([]byte("scan"), nil)})
	fmt.Println("put:", docblob.Code(err))
	fmt.Println("orphans:", len(memtest.Orphans(t, store)))

	res, _ := store.Sweep(ctx, nil)
	fmt.Println("sweep now: deleted", res.Deleted, "young", res.Young)

	memtest.ClockOf(t, store).Advance(25 * time.Hour)
	res, _ = store.Sweep(ctx, nil)
	fmt.Println("sweep a day later: deleted", res.Deleted)
	memtest.AssertEmpty(t, store)
	// Output:
	// put: unknown
	// orphans: 1
	// sweep now: deleted 0 young 1
	// sweep a day later: deleted 1
}

// Config.SettledFailures makes failures as forgiving as memory allows: the
// failed write's payload is deleted at once. Production would leave it.
func ExampleConfig_settledFailures() {
	t := &exampleT{} // in a test: the test's t
	defer t.done()
	store := memtest.NewWithConfig(t, &memtest.Config{SettledFailures: true})

	memtest.FailNext(store, memtest.PutDocument, errors.New("connection reset by peer"))
	err := store.Put(context.Background(), &Receipt{Shop: "bakery", ID: "r1", Scan: docblob.NewBlobBytes([]byte("scan"), nil)})
	fmt.Println("put:", docblob.Code(err))
	fmt.Println("orphans:", len(memtest.Orphans(t, store)))
	memtest.AssertEmpty(t, store)
	// Output:
	// put: unknown
	// orphans: 0
}

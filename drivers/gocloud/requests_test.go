package gocloud_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/testservers"
)

// wireCounter is an http.RoundTripper that records the requests the SDK
// clients put on the wire, retries included: DynamoDB operations by their
// X-Amz-Target name, S3 requests by method. It implements conformance.Wire
// for the harness whose clients use it.
type wireCounter struct {
	base http.RoundTripper

	mu        sync.Mutex
	reqs      []string
	total     int    // requests since the counter was made
	loseWrite func() // see LoseWriteResponse
}

// documentWrites are the DynamoDB operations that write or delete items.
var documentWrites = map[string]bool{"PutItem": true, "DeleteItem": true, "UpdateItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

func (c *wireCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	name := "S3 " + r.Method
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		name = target[strings.LastIndexByte(target, '.')+1:]
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, name)
	c.total++
	var lost func()
	if documentWrites[name] {
		lost, c.loseWrite = c.loseWrite, nil
	}
	c.mu.Unlock()
	resp, err := c.base.RoundTrip(r)
	if err != nil || lost == nil {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	lost()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

// WireRequests implements conformance.Wire.
func (c *wireCounter) WireRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// LoseWriteResponse implements conformance.Wire: the next DynamoDB
// request that writes an item is sent and applied, then lost runs (its
// requests pass), then the client sees a reset connection, which the
// SDK's retryer re-sends.
func (c *wireCounter) LoseWriteResponse(lost func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loseWrite = lost
}

// take returns the requests recorded since the last take, counted by
// name and sorted: "1 BatchGetItem + 1 PutItem + 1 S3 PUT".
func (c *wireCounter) take() string {
	c.mu.Lock()
	reqs := c.reqs
	c.reqs = nil
	c.mu.Unlock()
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r]++
	}
	var parts []string
	for name, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	// DynamoDB operations first, then S3 requests, each by name.
	slices.SortFunc(parts, func(a, b string) int {
		if sa, sb := strings.Contains(a, " S3 "), strings.Contains(b, " S3 "); sa != sb {
			if sa {
				return 1
			}
			return -1
		}
		_, na, _ := strings.Cut(a, " ")
		_, nb, _ := strings.Cut(b, " ")
		return strings.Compare(na, nb)
	})
	return strings.Join(parts, " + ")
}

// countedDoc is a document with one attachment.
type countedDoc struct {
	PK       string        `docstore:"pk"`
	SK       string        `docstore:"sk"`
	Title    string        `docstore:"title"`
	File     *docblob.Blob `docstore:"file"`
	Revision any           `docstore:"DocstoreRevision"`
}

// TestRequestCountsDynamo measures the requests that each Store operation
// puts on the wire with s3blob and awsdynamodb, one at a time, without
// contention: the figures of the README's table of the gocloud driver's
// costs.
func TestRequestCountsDynamo(t *testing.T) {
	testservers.Endpoints(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := newWireDynamoHarness(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	wire := h.wire
	defer h.Close()
	drv, err := h.MakeDriver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.ClaimNamespace(ctx); err != nil {
		t.Fatal(err)
	}
	small := func(s string) *docblob.Blob { return docblob.NewBlobBytes([]byte(s), nil) }
	got := &countedDoc{PK: "acme", SK: "1"}
	steps := []struct {
		name string
		run  func() error
		want string
	}{
		{"Create", func() error {
			return store.Create(ctx, &countedDoc{PK: "acme", SK: "1", Title: "v1", File: small("one")})
		}, "1 PutItem + 1 S3 PUT"},
		{"Put of a new document", func() error {
			return store.Put(ctx, &countedDoc{PK: "acme", SK: "2", Title: "v1", File: small("two")})
		}, "1 BatchGetItem + 1 PutItem + 1 S3 PUT"},
		{"Get", func() error { return store.Get(ctx, got) }, "1 BatchGetItem"},
		{"ReadAll of the attachment", func() error {
			_, err := got.File.ReadAll(ctx)
			return err
		}, "1 S3 GET"},
		{"Put replacing a document", func() error {
			return store.Put(ctx, &countedDoc{PK: "acme", SK: "2", Title: "v2", File: small("two, again")})
		}, "1 BatchGetItem + 1 PutItem + 1 S3 DELETE + 1 S3 PUT"},
		{"Put with the revision read", func() error {
			got.Title, got.File = "v2", small("one, again")
			return store.Put(ctx, got)
		}, "1 BatchGetItem + 1 PutItem + 1 S3 DELETE + 1 S3 PUT"},
		{"Delete", func() error {
			return store.Delete(ctx, &countedDoc{PK: "acme", SK: "2"})
		}, "1 BatchGetItem + 1 DeleteItem + 1 S3 DELETE"},
	}
	wire.take()
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		measured := wire.take()
		t.Logf("%-28s %s", s.name, measured)
		if measured != s.want {
			t.Errorf("%s sent %s, want %s", s.name, measured, s.want)
		}
	}
}

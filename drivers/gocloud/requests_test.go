package gocloud_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/testservers"
)

// wireCounter is an http.RoundTripper that records the requests the SDK
// clients put on the wire, retries included: DynamoDB operations by their
// X-Amz-Target name, S3 requests by method.
type wireCounter struct {
	base http.RoundTripper

	mu   sync.Mutex
	reqs []string
}

func (c *wireCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	name := "S3 " + r.Method
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		name = target[strings.LastIndexByte(target, '.')+1:]
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, name)
	c.mu.Unlock()
	return c.base.RoundTrip(r)
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
	wire := &wireCounter{base: http.DefaultTransport.(*http.Transport).Clone()}
	h, err := newDynamoHarnessOver(ctx, t, wire)
	if err != nil {
		t.Fatal(err)
	}
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

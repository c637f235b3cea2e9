package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// tally counts the requests put on the wire on behalf of one contender
// and operation, by name ("S3 PutObject", "DDB PutItem").
type tally struct {
	mu sync.Mutex
	n  map[string]int64
}

func (t *tally) add(name string) { t.addN(name, 1) }

func (t *tally) addN(name string, n int64) {
	t.mu.Lock()
	if t.n == nil {
		t.n = map[string]int64{}
	}
	t.n[name] += n
	t.mu.Unlock()
}

func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.n)
}

type tallyKey struct{}

// withTally makes the requests sent with ctx count in t. The SDK hands the
// operation's context to the HTTP request, so the transport sees it.
func withTally(ctx context.Context, t *tally) context.Context {
	return context.WithValue(ctx, tallyKey{}, t)
}

// countingTransport counts each request in the tally of its context and
// refuses any host that is not loopback.
type countingTransport struct {
	base            http.RoundTripper
	s3Host, ddbHost string
}

// RoundTrip counts r, then sends it.
func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isLoopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("docblob-bench refuses to contact %q: loopback only", r.URL.Host)
	}
	if t, ok := r.Context().Value(tallyKey{}).(*tally); ok {
		t.add(c.requestName(r))
	}
	return c.base.RoundTrip(r)
}

// requestName names the API operation of an S3 or DynamoDB request.
func (c *countingTransport) requestName(r *http.Request) string {
	switch r.URL.Host {
	case c.ddbHost:
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		return "DDB " + op
	case c.s3Host:
		q := r.URL.Query()
		_, uploads := q["uploads"]
		_, del := q["delete"]
		upload := q.Get("uploadId") != ""
		switch {
		case r.Method == http.MethodPut && upload:
			return "S3 UploadPart"
		case r.Method == http.MethodPut:
			return "S3 PutObject"
		case r.Method == http.MethodPost && uploads:
			return "S3 CreateMultipartUpload"
		case r.Method == http.MethodPost && upload:
			return "S3 CompleteMultipartUpload"
		case r.Method == http.MethodPost && del:
			return "S3 DeleteObjects"
		case r.Method == http.MethodDelete && upload:
			return "S3 AbortMultipartUpload"
		case r.Method == http.MethodDelete:
			return "S3 DeleteObject"
		case r.Method == http.MethodGet:
			return "S3 GetObject"
		case r.Method == http.MethodHead:
			return "S3 HeadObject"
		}
		return "S3 " + r.Method
	}
	return "other " + r.Method
}

// formatRequests renders counts divided by per (operations) compactly:
// "S3 PutObject 1 + DDB PutItem 1", S3 first.
func formatRequests(counts map[string]int64, per int) string {
	if len(counts) == 0 {
		return "0"
	}
	names := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(names, func(a, b string) int {
		return strings.Compare(b[:2], a[:2]) // "S3" before "DD"
	})
	parts := make([]string, len(names))
	for i, n := range names {
		v := float64(counts[n]) / float64(max(per, 1))
		s := strconv.FormatFloat(v, 'f', 2, 64)
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		parts[i] = n + " " + s
	}
	return strings.Join(parts, " + ")
}

// perOp divides counts by n, for comparison with a target.
func perOp(counts map[string]int64, n int) map[string]float64 {
	m := make(map[string]float64, len(counts))
	for k, v := range counts {
		m[k] = float64(v) / float64(max(n, 1))
	}
	return m
}

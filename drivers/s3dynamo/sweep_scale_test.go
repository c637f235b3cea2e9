package s3dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob"
)

// scaleEnv, when set to a number of payloads, runs TestSweepAndCheckAtScale
// with that many instead of 20,000 (it must be a multiple of 200).
const scaleEnv = "DOCBLOB_SWEEP_SCALE"

// requestKind names a request as the per-request figures count it: the
// DynamoDB operation, or the S3 operation its method and query imply.
func requestKind(service, method, target string, query map[string][]string) string {
	if service == "dynamodb" {
		return target[strings.LastIndexByte(target, '.')+1:]
	}
	_, list := query["list-type"]
	_, del := query["delete"]
	switch {
	case method == http.MethodGet && list:
		return "ListObjectsV2"
	case method == http.MethodPost && del:
		return "DeleteObjects"
	case method == http.MethodHead:
		return "HeadObject"
	case method == http.MethodGet:
		return "GetObject"
	case method == http.MethodPut:
		return "PutObject"
	case method == http.MethodDelete:
		return "DeleteObject"
	}
	return service + " " + method
}

// latencies is an http.RoundTripper, over the fixture's counter, that
// sums the time of each kind of request, from sending it to the closing
// of its response body (after the SDK has read and decoded it).
type latencies struct {
	base http.RoundTripper
	// s3Host tells S3 requests from DynamoDB ones.
	s3Host string

	mu  sync.Mutex
	sum map[string]time.Duration
	n   map[string]int
}

func (l *latencies) RoundTrip(r *http.Request) (*http.Response, error) {
	svc := "dynamodb"
	if r.URL.Host == l.s3Host {
		svc = "s3"
	}
	kind := requestKind(svc, r.Method, r.Header.Get("X-Amz-Target"), r.URL.Query())
	start := time.Now()
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		l.add(kind, time.Since(start))
		return resp, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { l.add(kind, time.Since(start)) }}
	return resp, nil
}

func (l *latencies) add(kind string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sum[kind] += d
	l.n[kind]++
}

func (l *latencies) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sum, l.n = map[string]time.Duration{}, map[string]int{}
}

// report returns one line per kind of request: how many, and their mean
// time.
func (l *latencies) report() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := make([]string, 0, len(l.n))
	for k := range l.n {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n    %-15s %6d requests, mean %7.2f ms", k, l.n[k], float64(l.sum[k].Microseconds())/1000/float64(l.n[k]))
	}
	return b.String()
}

type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// counts returns the requests counted on the wire since its last reset,
// by kind.
func (c *counter) counts() map[string]int {
	m := map[string]int{}
	for _, r := range c.requests() {
		m[requestKind(r.service, r.method, r.op, r.query)]++
	}
	return m
}

// TestSweepAndCheckAtScale is the acceptance test of issue 12 on S3 and
// DynamoDB: 20,000 payloads, one per document over 100 partitions, half of
// them orphaned by deleting their documents with the plain SDK (as a TTL
// would), all faked two days old. Sweep must delete the 10,000 orphans
// with at most 10 DeleteObjects requests and keep the rest; Check of the
// store then finds it consistent. It logs the wall time, the requests by
// kind, and each kind's mean time. It takes about a minute, so it is
// skipped with -short; DOCBLOB_SWEEP_SCALE sets another number of payloads.
func TestSweepAndCheckAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20,000 payloads; skipped with -short")
	}
	n := 20_000
	if v := os.Getenv(scaleEnv); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 || n%200 != 0 {
			t.Fatalf("%s=%q: want a positive multiple of 200", scaleEnv, v)
		}
	}
	lat := &latencies{sum: map[string]time.Duration{}, n: map[string]int{}}
	f := newFixture(t, func(o *Options) {
		lat.base = o.AWS.HTTPClient.(*http.Client).Transport
		lat.s3Host = hostOf(o.S3Endpoint)
		o.AWS.HTTPClient = &http.Client{Transport: lat}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	store, err := docblob.NewStore(oldPayloads{f.drv}, &docblob.Options{OnCleanupError: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	// Set up: n documents with a payload each, written 64 at a time; then
	// the items of every other document deleted behind the store's back,
	// 25 per BatchWriteItem.
	keyOf := func(i int) (pk, sk string) { return fmt.Sprintf("p%03d", i/2%100), fmt.Sprintf("d%06d", i) }
	start := time.Now()
	var next atomic.Int64
	errs := make([]error, 64)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n && errs[w] == nil; i = int(next.Add(1)) - 1 {
				pk, sk := keyOf(i)
				errs[w] = store.Put(ctx, &batchDoc{PK: pk, SK: sk, N: i, File: docblob.NewBlobBytes(fmt.Appendf(nil, "payload %d", i), nil)})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	written := time.Since(start)
	next.Store(0)
	const perBatch = 25
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := int(next.Add(1)) - 1; b*perBatch*2 < n && errs[w] == nil; b = int(next.Add(1)) - 1 {
				var reqs []types.WriteRequest
				for i := b * perBatch * 2; i < min((b+1)*perBatch*2, n); i += 2 {
					pk, sk := keyOf(i)
					reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
						"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}}})
				}
				items := map[string][]types.WriteRequest{f.table: reqs}
				for len(items) > 0 && errs[w] == nil {
					out, err := f.ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
					if err != nil {
						errs[w] = err
						break
					}
					items = out.UnprocessedItems
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("set-up: %d documents with a payload each written in %v; %d items deleted with the plain SDK in %v more\n  requests: %v; by kind:%s",
		n, written, n/2, time.Since(start)-written, f.wire.counts(), lat.report())

	f.wire.reset()
	lat.reset()
	start = time.Now()
	res, err := store.Sweep(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	counts := f.wire.counts()
	t.Logf("Sweep of %d payloads (%d orphans) in %v: %+v\n  requests: %d in all, %v; by kind:%s",
		n, n/2, took, *res, len(f.wire.requests()), counts, lat.report())
	if res.Payloads < n || res.Deleted != n/2 || res.Orphans != n/2 || res.Referenced != n/2 || res.Failed != 0 || res.Young != 0 {
		t.Errorf("Sweep: %+v, want %d orphans deleted and %d referenced payloads kept", *res, n/2, n/2)
	}
	if got, most := f.wire.deleteObjectsRequests(), (n/2+999)/1000; got == 0 || got > most {
		t.Errorf("Sweep sent %d DeleteObjects requests for %d orphans, want 1 to %d", got, n/2, most)
	}
	if got := f.wire.count("s3", http.MethodDelete); got != 0 {
		t.Errorf("Sweep sent %d single DELETE requests, want none", got)
	}
	if got, want := counts["BatchGetItem"], n/100; got < want || got > want+want/10+1 {
		t.Errorf("Sweep sent %d BatchGetItem requests for %d documents, want about %d", got, n, want)
	}
	if got, most := counts["ListObjectsV2"], n/1000+2; got > most {
		t.Errorf("Sweep sent %d ListObjectsV2 requests for %d payloads, want at most %d", got, n, most)
	}

	f.wire.reset()
	lat.reset()
	start = time.Now()
	findings := map[docblob.FindingKind]int{}
	var prog docblob.CheckProgress
	for fd, err := range store.Check(ctx, &docblob.CheckOptions{Progress: func(p docblob.CheckProgress) { prog = p }}) {
		if err != nil {
			t.Fatal(err)
		}
		findings[fd.Kind]++
	}
	took = time.Since(start)
	counts = f.wire.counts()
	t.Logf("Check of %d documents and %d payloads in %v: findings %v, progress %+v\n  requests: %d in all, %v; by kind:%s",
		n/2, n/2, took, findings, prog, len(f.wire.requests()), counts, lat.report())
	if len(findings) != 0 {
		t.Errorf("Check after the sweep found %v, want nothing", findings)
	}
	if prog.References != n/2 || prog.Payloads < n/2 {
		t.Errorf("Check progress %+v, want %d references and %d payloads", prog, n/2, n/2)
	}
	if got := counts["Scan"]; got < 2 {
		t.Errorf("Check sent %d Scan requests, want its segments to scan in parallel", got)
	}
	if got := counts["HeadObject"]; got != n/2 {
		t.Errorf("Check sent %d HeadObject requests, want one per reference, %d", got, n/2)
	}
}

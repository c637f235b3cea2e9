package s3dynamo_test

// Network faults between docblob and its servers: toxiproxy runs in process
// (internal/toxics) in front of MinIO and DynamoDB Local, and a store whose
// S3 and DynamoDB endpoints are the proxies writes while the network adds
// latency, resets connections, holds requests in a black hole, or loses the
// response of a request the server applied. After every scenario a second
// store, talking to the servers directly, checks the write protocol's
// invariants:
//
//  1. no document references a missing payload (Store.Check);
//  2. every acknowledged write reads back byte for byte, with a matching
//     SHA-256, and a document written by an unacknowledged one holds the
//     old version or the new one, never a mix;
//  3. after a Sweep, no orphan payload remains (Store.Check);
//  4. nothing the sweep removed was referenced.
//
// The checking store's driver makes every payload look two days old, so
// that its Sweep may remove every orphan at once: the scenarios run it only
// after their writers have stopped and the network has settled.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/s3dynamo"
	"github.com/docblob/docblob/internal/attach"
	"github.com/docblob/docblob/internal/testservers"
	"github.com/docblob/docblob/internal/toxics"
)

// NetFaultRunsEnv sets how many runs the Randomized scenario makes.
const netFaultRunsEnv = "DOCBLOB_NETFAULT_RUNS"

const (
	// nfCleanup is the CleanupTimeout of the stores and drivers under
	// fault: a clean-up request held in a black hole gives up after it.
	nfCleanup = time.Second
	// nfPartSize is the multipart part size of the drivers under fault.
	nfPartSize = s3dynamo.MinPartSize
	// nfPrefix is the BlobPrefix of every store here.
	nfPrefix = "nf/"
	// nfSettle is how long the servers get to finish the requests that
	// were in the network when a scenario's faults were removed.
	nfSettle = 300 * time.Millisecond
)

func TestNetworkFaults(t *testing.T) {
	e := newNFEnv(t)
	t.Run("Latency", e.testLatency)
	t.Run("ResetDuringUpload", e.testResetDuringUpload)
	t.Run("BlackHole", e.testBlackHole)
	t.Run("ResponseCutAfterApply", e.testResponseCut)
	t.Run("Randomized", e.testRandomized)
}

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

// nfEnv is a table and a bucket shared by the scenarios, which run one
// after the other, each in partitions of its own; a checking store that
// talks to the servers directly; and the toxiproxy server.
type nfEnv struct {
	srv     testservers.Config
	opts    s3dynamo.Options // direct endpoints
	tox     *toxics.Server
	aged    *agedDriver
	checker *docblob.Store
	s3      *s3.Client
	ddb     *dynamodb.Client
}

func newNFEnv(t *testing.T) *nfEnv {
	srv := testservers.Endpoints(t)
	name := fmt.Sprintf("docblob-nf-%d", time.Now().UnixNano()%1e12)
	e := &nfEnv{srv: srv, tox: toxics.NewServer()}
	e.opts = s3dynamo.Options{
		Table:            name,
		Bucket:           name,
		AWS:              nfAWSConfig(srv, false),
		S3Endpoint:       srv.S3Endpoint,
		DynamoDBEndpoint: srv.DynamoDBEndpoint,
		UsePathStyle:     true,
		PartSize:         nfPartSize,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s3dynamo.CreateTable(ctx, &e.opts); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if err := s3dynamo.CreateBucket(ctx, &e.opts); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	drv, err := s3dynamo.New(&e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !drv.As(&e.s3) || !drv.As(&e.ddb) {
		t.Fatal("driver does not expose its clients")
	}
	e.aged = &agedDriver{Driver: drv}
	e.checker, err = docblob.NewStore(e.aged, &docblob.Options{BlobPrefix: nfPrefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.destroy(t)
		_ = e.checker.Close()
	})
	return e
}

// destroy removes the bucket (objects and unfinished uploads first) and
// the table.
func (e *nfEnv) destroy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s3dynamo.DeleteTableAndBucket(ctx, &e.opts); err != nil {
		t.Logf("tearing down: %v", err)
	}
}

// loopbackOnly refuses any request to a host that is not loopback.
type loopbackOnly struct{ base http.RoundTripper }

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if !testservers.IsLoopbackHost(r.URL.Hostname()) {
		return nil, errors.New("netfault test refuses a non-loopback address")
	}
	return l.base.RoundTrip(r)
}

// nfAWSConfig returns an SDK configuration for the test servers, with a
// connection pool of its own, and with the SDK's standard retryer (three
// attempts) unless noRetry.
func nfAWSConfig(srv testservers.Config, noRetry bool) *aws.Config {
	cfg := &aws.Config{
		Region:      srv.Region,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKeyID, srv.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: loopbackOnly{http.DefaultTransport.(*http.Transport).Clone()}},
	}
	if noRetry {
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	}
	return cfg
}

// agedDriver makes every payload look two days older than it is, so that
// a sweep run after the writers stopped may remove every orphan, and
// records the payloads deleted through it.
type agedDriver struct {
	*s3dynamo.Driver

	mu      sync.Mutex
	deleted []string
}

func (a *agedDriver) ListBlobs(ctx context.Context, prefix, token string) (*driver.BlobPage, error) {
	page, err := a.Driver.ListBlobs(ctx, prefix, token)
	if err == nil {
		for i := range page.Blobs {
			page.Blobs[i].ModTime = page.Blobs[i].ModTime.Add(-48 * time.Hour)
		}
	}
	return page, err
}

// StatBlob reports the payload aged, as ListBlobs does.
func (a *agedDriver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	info, err := a.Driver.StatBlob(ctx, key)
	if err == nil {
		info.ModTime = info.ModTime.Add(-48 * time.Hour)
	}
	return info, err
}

func (a *agedDriver) DeleteBlob(ctx context.Context, key string) error {
	a.mu.Lock()
	a.deleted = append(a.deleted, key)
	a.mu.Unlock()
	return a.Driver.DeleteBlob(ctx, key)
}

func (a *agedDriver) DeleteBlobs(ctx context.Context, keys []string) []error {
	a.mu.Lock()
	a.deleted = append(a.deleted, keys...)
	a.mu.Unlock()
	return a.Driver.DeleteBlobs(ctx, keys)
}

// takeDeleted returns the keys deleted since the last call.
func (a *agedDriver) takeDeleted() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.deleted
	a.deleted = nil
	return d
}

// faultStore is a store whose endpoints are toxiproxy proxies.
type faultStore struct {
	s3p, ddbp *toxics.Proxy
	store     *docblob.Store

	mu       sync.Mutex
	cleanups []string // errors reported to OnCleanupError
}

type faultConfig struct {
	noRetry      bool  // the SDK makes one attempt per request
	resetOnClose bool  // the proxies close connections with a reset
	inline       int64 // InlineThreshold
}

// newFaultStore starts a proxy in front of each server and returns a store
// over them, with short clean-up timeouts, that the test closes.
func (e *nfEnv) newFaultStore(t *testing.T, cfg faultConfig) *faultStore {
	t.Helper()
	po := &toxics.ProxyOptions{ResetOnClose: cfg.resetOnClose}
	s3p, err := e.tox.NewProxy("s3", e.srv.S3Endpoint, po)
	if err != nil {
		t.Fatal(err)
	}
	ddbp, err := e.tox.NewProxy("dynamodb", e.srv.DynamoDBEndpoint, po)
	if err != nil {
		s3p.Close()
		t.Fatal(err)
	}
	fs := &faultStore{s3p: s3p, ddbp: ddbp}
	o := e.opts
	o.AWS = nfAWSConfig(e.srv, cfg.noRetry)
	o.S3Endpoint, o.DynamoDBEndpoint = s3p.URL(), ddbp.URL()
	o.CleanupTimeout = nfCleanup
	drv, err := s3dynamo.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	fs.store, err = docblob.NewStore(drv, &docblob.Options{
		BlobPrefix:      nfPrefix,
		InlineThreshold: cfg.inline,
		CleanupTimeout:  nfCleanup,
		OnCleanupError: func(err error) {
			fs.mu.Lock()
			fs.cleanups = append(fs.cleanups, err.Error())
			fs.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.close)
	return fs
}

// heal removes every toxic and gives the servers time to finish what was
// in flight.
func (fs *faultStore) heal(t *testing.T) {
	t.Helper()
	for _, p := range []*toxics.Proxy{fs.s3p, fs.ddbp} {
		if err := p.RemoveAll(); err != nil {
			t.Errorf("removing toxics: %v", err)
		}
	}
	time.Sleep(nfSettle)
}

// close stops the proxies, after which no request of the store's reaches a
// server, and closes the store.
func (fs *faultStore) close() {
	fs.s3p.Close()
	fs.ddbp.Close()
	_ = fs.store.Close()
}

func (fs *faultStore) cleanupReports() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.cleanups)
}

func (fs *faultStore) add(t *testing.T, p *toxics.Proxy, tox toxics.Toxic) string {
	t.Helper()
	name, err := p.Add(tox)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// addLater returns a function, safe to call from any goroutine, that adds
// tox to p, and a function that returns the name it got ("" if not yet).
func addLater(t *testing.T, p *toxics.Proxy, tox toxics.Toxic) (add func(), name func() string) {
	var mu sync.Mutex
	var n string
	add = func() {
		got, err := p.Add(tox)
		if err != nil {
			t.Errorf("adding a toxic mid-stream: %v", err)
		}
		mu.Lock()
		n = got
		mu.Unlock()
	}
	name = func() string {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
	return add, name
}

// label names a state for logs.
func label(st state) string {
	if st.absent {
		return "absent"
	}
	return st.version
}

// ---------------------------------------------------------------------------
// Documents and their states
// ---------------------------------------------------------------------------

type nfDoc struct {
	PK       string        `docstore:"pk"`
	SK       string        `docstore:"sk"`
	Version  string        `docstore:"version"`
	A        *docblob.Blob `docstore:"a"`
	B        *docblob.Blob `docstore:"b"`
	Revision any           `docstore:"DocstoreRevision"`
}

// state is what a document holds: a version label and its attachments'
// contents by field, or nothing.
type state struct {
	absent  bool
	version string
	files   map[string]string
}

var absent = state{absent: true}

func (s state) String() string {
	if s.absent {
		return "absent"
	}
	var parts []string
	for k, v := range s.files {
		sum := sha256.Sum256([]byte(v))
		parts = append(parts, fmt.Sprintf("%s=%dB/%x", k, len(v), sum[:4]))
	}
	sort.Strings(parts)
	return s.version + "{" + strings.Join(parts, " ") + "}"
}

func (s state) equal(o state) bool {
	if s.absent || o.absent {
		return s.absent == o.absent
	}
	if s.version != o.version || len(s.files) != len(o.files) {
		return false
	}
	for k, v := range s.files {
		if w, ok := o.files[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// with returns a copy of s with version v and the given files replaced.
func (s state) with(v string, files map[string]string) state {
	n := state{version: v, files: map[string]string{}}
	for k, c := range s.files {
		n.files[k] = c
	}
	for k, c := range files {
		n.files[k] = c
	}
	return n
}

// payload returns n pseudo-random bytes.
func payload(rng *rand.Rand, n int) string {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return string(b[:n])
}

// triggerReader reads r and calls f once, the first time more than at
// bytes have been read.
type triggerReader struct {
	r    io.Reader
	at   int64
	n    int64
	f    func()
	once sync.Once
}

func (tr *triggerReader) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	tr.n += int64(n)
	if tr.n > tr.at && tr.f != nil {
		tr.once.Do(tr.f)
	}
	return n, err
}

// newDoc returns a document in state st whose attachments read from
// readers; if midStream is set, it is called once half of the largest
// attachment has been read.
func newDoc(part, sk string, st state, midStream func()) *nfDoc {
	doc := &nfDoc{PK: part, SK: sk, Version: st.version}
	largest := ""
	for k, v := range st.files {
		if len(v) > len(st.files[largest]) || largest == "" {
			largest = k
		}
	}
	for k, v := range st.files {
		var r io.Reader = strings.NewReader(v)
		if k == largest && midStream != nil {
			r = &triggerReader{r: r, at: int64(len(v) / 2), f: midStream}
		}
		b := docblob.NewBlob(r, &docblob.BlobOptions{ContentType: "application/octet-stream"})
		switch k {
		case "a":
			doc.A = b
		case "b":
			doc.B = b
		}
	}
	return doc
}

// readState reads a document and its payloads, verifying each payload's
// size and SHA-256 against the metadata in the document.
func readState(ctx context.Context, store *docblob.Store, part, sk string) (state, error) {
	doc := &nfDoc{PK: part, SK: sk}
	err := store.Get(ctx, doc)
	if docblob.Code(err) == docblob.NotFound {
		return absent, nil
	}
	if err != nil {
		return state{}, err
	}
	st := state{version: doc.Version, files: map[string]string{}}
	for name, b := range map[string]*docblob.Blob{"a": doc.A, "b": doc.B} {
		if b == nil {
			continue
		}
		data, err := b.ReadAll(ctx)
		if err != nil {
			return state{}, fmt.Errorf("reading %s: %w", name, err)
		}
		alg, recorded := b.Checksum()
		if got := hex.EncodeToString(driver.ChecksumAlgorithm(alg).Sum(data)); got != recorded || int64(len(data)) != b.Size() {
			return state{}, fmt.Errorf("attachment %s: read %d bytes with %s %s, document records %d bytes, %s", name, len(data), alg, got, b.Size(), recorded)
		}
		st.files[name] = string(data)
	}
	return st, nil
}

// ---------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------

// verified is what verify saw.
type verified struct {
	problems []string
	orphans  int // orphan payloads before the sweep
	swept    int // payloads the sweep deleted
	leaked   int // unfinished multipart uploads under the partitions, aborted by verify
}

// verify checks the invariants over the partitions in allowed (by
// partition, then sort key) and the whole table and bucket. Faults must be
// over: it sweeps.
func (e *nfEnv) verify(t *testing.T, allowed map[string]map[string][]state) verified {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var v verified
	fail := func(format string, args ...any) { v.problems = append(v.problems, fmt.Sprintf(format, args...)) }
	checkDocs := func(when string) {
		for part, keys := range allowed {
			for sk, want := range keys {
				got, err := readState(ctx, e.checker, part, sk)
				if err != nil {
					fail("(2) %s: reading %s/%s: %v", when, part, sk, err)
					continue
				}
				if !slices.ContainsFunc(want, got.equal) {
					fail("(2) %s: document %s/%s holds %v, want one of %v", when, part, sk, got, want)
				}
			}
		}
	}
	findings := func() (orphans []docblob.Finding, others []docblob.Finding) {
		for f, err := range e.checker.Check(ctx, nil) {
			if err != nil {
				fail("check: %v", err)
				return
			}
			if f.Kind == docblob.OrphanPayload {
				orphans = append(orphans, f)
			} else {
				others = append(others, f)
			}
		}
		return
	}

	// (1) and (2) before the sweep.
	checkDocs("before the sweep")
	orphans, others := findings()
	v.orphans = len(orphans)
	for _, f := range others {
		fail("(1) before the sweep: %v", f)
	}
	refsBefore, err := e.references(ctx)
	if err != nil {
		fail("listing references: %v", err)
	}

	// (3) and (4): the sweep removes every orphan and nothing referenced.
	e.aged.takeDeleted()
	res, err := e.checker.Sweep(ctx, nil)
	if err != nil {
		fail("sweep: %v", err)
	}
	deleted := e.aged.takeDeleted()
	v.swept = len(deleted)
	refsAfter, err := e.references(ctx)
	if err != nil {
		fail("listing references: %v", err)
	}
	for _, k := range deleted {
		if refsBefore[k] || refsAfter[k] {
			fail("(4) the sweep deleted payload %q, which a document references", k)
		}
	}
	if res != nil && res.Failed > 0 {
		fail("(3) the sweep failed to delete %d orphans", res.Failed)
	}
	orphans, others = findings()
	for _, f := range orphans {
		fail("(3) after the sweep: %v", f)
	}
	for _, f := range others {
		fail("(1) after the sweep: %v", f)
	}
	checkDocs("after the sweep")

	// Unfinished multipart uploads are invisible to Check and Sweep: count
	// them, and abort them so that they do not pile up.
	for part := range allowed {
		v.leaked += e.abortUploads(ctx, t, nfPrefix+part+"/")
	}
	return v
}

// references returns the payload keys that documents reference.
func (e *nfEnv) references(ctx context.Context) (map[string]bool, error) {
	refs := map[string]bool{}
	q := &driver.Query{}
	for {
		page, err := e.aged.Driver.QueryDocuments(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("scanning documents: %w", err)
		}
		for _, d := range page.Documents {
			for _, k := range attach.Keys(d.Fields) {
				refs[k] = true
			}
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			return refs, nil
		}
	}
}

// objects returns the keys of the objects under prefix, as S3 lists them.
func (e *nfEnv) objects(t *testing.T, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(e.opts.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// uploads returns the unfinished multipart uploads under prefix. It lists
// them all and filters: MinIO's ListMultipartUploads matches a prefix only
// if it is a whole object key.
func (e *nfEnv) uploads(ctx context.Context, t *testing.T, prefix string) []s3types.MultipartUpload {
	t.Helper()
	var ups []s3types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(e.opts.Bucket)}
	for {
		out, err := e.s3.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Errorf("ListMultipartUploads: %v", err)
			return ups
		}
		for _, u := range out.Uploads {
			if strings.HasPrefix(aws.ToString(u.Key), prefix) {
				ups = append(ups, u)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return ups
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// abortUploads aborts the unfinished multipart uploads under prefix and
// returns how many there were.
func (e *nfEnv) abortUploads(ctx context.Context, t *testing.T, prefix string) int {
	ups := e.uploads(ctx, t, prefix)
	for _, u := range ups {
		_, _ = e.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(e.opts.Bucket), Key: u.Key, UploadId: u.UploadId})
	}
	return len(ups)
}

func reportProblems(t *testing.T, v verified) {
	t.Helper()
	for _, p := range v.problems {
		t.Error(p)
	}
}

// putState writes st to part/sk with fs's store, failing the test on error.
func putState(t *testing.T, store *docblob.Store, part, sk string, st state) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Put(ctx, newDoc(part, sk, st, nil)); err != nil {
		t.Fatalf("put %s/%s %s: %v", part, sk, st.version, err)
	}
}

// ambiguous reports whether err is a failure after which the write may
// have been applied: a context error, or code Unknown or Unavailable.
func ambiguous(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || !driver.IsDefinite(docblob.Code(err)))
}

// ---------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------

func (e *nfEnv) testLatency(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	addLatency := func(t *testing.T, fs *faultStore, proxies ...*toxics.Proxy) {
		for _, p := range proxies {
			for _, dir := range []string{toxics.Upstream, toxics.Downstream} {
				fs.add(t, p, toxics.Latency(dir, 125*time.Millisecond, 75*time.Millisecond))
			}
		}
	}

	// Put, Get, Open, replace and Delete through 50-200 ms of latency each
	// way on both services succeed with the right data.
	t.Run("RoundTrip", func(t *testing.T) {
		fs := e.newFaultStore(t, faultConfig{})
		addLatency(t, fs, fs.s3p, fs.ddbp)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		const part, sk = "latency-roundtrip", "k"
		v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 3000), "b": payload(rng, nfPartSize+(1<<20))}}
		start := time.Now()
		if err := fs.store.Put(ctx, newDoc(part, sk, v1, nil)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		put := time.Since(start)
		got := &nfDoc{PK: part, SK: sk}
		if err := fs.store.Get(ctx, got); err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Version != "v1" || got.A == nil || got.B == nil || got.B.Size() != int64(len(v1.files["b"])) {
			t.Fatalf("Get returned %+v", got)
		}
		r, err := got.B.Open(ctx)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		want := sha256.Sum256([]byte(v1.files["b"]))
		alg, recorded := got.B.Checksum()
		if err != nil || !bytes.Equal(h.Sum(nil), want[:]) || recorded != hex.EncodeToString(driver.ChecksumAlgorithm(alg).Sum([]byte(v1.files["b"]))) {
			t.Fatalf("streaming read of b: err %v, SHA-256 %x, recorded %s %s, want %x", err, h.Sum(nil), alg, recorded, want)
		}
		if st, err := readState(ctx, fs.store, part, sk); err != nil || !st.equal(v1) {
			t.Fatalf("read back %v, %v; want %v", st, err, v1)
		}
		// Replace a, keeping b (conditioned on the revision Get returned).
		oldA := got.A.Key()
		v2 := v1.with("v2", map[string]string{"a": payload(rng, 5000)})
		got.Version, got.A = "v2", docblob.NewBlobBytes([]byte(v2.files["a"]), nil)
		if err := fs.store.Put(ctx, got); err != nil {
			t.Fatalf("replacing a: %v", err)
		}
		if st, err := readState(ctx, fs.store, part, sk); err != nil || !st.equal(v2) {
			t.Fatalf("read back %v, %v; want %v", st, err, v2)
		}
		if keys := e.objects(t, oldA); len(keys) != 0 {
			t.Errorf("the replaced payload %q is still stored", oldA)
		}
		if err := fs.store.Delete(ctx, &nfDoc{PK: part, SK: sk}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := fs.store.Get(ctx, &nfDoc{PK: part, SK: sk}); docblob.Code(err) != docblob.NotFound {
			t.Fatalf("Get after Delete: %v, want NotFound", err)
		}
		t.Logf("latency round trip: Put of %d MiB in %v, whole round trip %v", len(v1.files["b"])>>20, put.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		fs.heal(t)
		v := e.verify(t, map[string]map[string][]state{part: {sk: {absent}}})
		reportProblems(t, v)
		if v.orphans != 0 {
			t.Errorf("%d orphans after operations that all succeeded", v.orphans)
		}
	})

	// Every call with a deadline shorter than the latency fails with
	// context.DeadlineExceeded itself, and leaves nothing half-written.
	t.Run("DeadlineShorterThanLatency", func(t *testing.T) {
		fs := e.newFaultStore(t, faultConfig{})
		const part, sk = "latency-deadline", "k"
		v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 3000), "b": payload(rng, 70_000)}}
		putState(t, fs.store, part, sk, v1)
		stored := &nfDoc{PK: part, SK: sk}
		if err := fs.store.Get(context.Background(), stored); err != nil {
			t.Fatal(err)
		}
		addLatency(t, fs, fs.s3p, fs.ddbp)
		allowed := []state{v1}
		short := func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}
		wantDeadline := func(what string, err error) {
			t.Helper()
			if err != context.DeadlineExceeded {
				t.Errorf("%s with a deadline shorter than the latency: %v (%T), want context.DeadlineExceeded itself", what, err, err)
			}
		}
		ctx, cancel := short()
		v2 := state{version: "v2", files: map[string]string{"a": payload(rng, 3000), "b": payload(rng, 70_000)}}
		wantDeadline("Put", fs.store.Put(ctx, newDoc(part, sk, v2, nil)))
		cancel()
		allowed = append(allowed, v2)
		ctx, cancel = short()
		wantDeadline("Get", fs.store.Get(ctx, &nfDoc{PK: part, SK: sk}))
		cancel()
		ctx, cancel = short()
		_, err := stored.B.ReadAll(ctx)
		wantDeadline("Blob.ReadAll", err)
		cancel()
		ctx, cancel = short()
		if r, err := stored.A.Open(ctx); err != nil {
			wantDeadline("Blob.Open", err)
		} else {
			_, err = io.Copy(io.Discard, r)
			r.Close()
			wantDeadline("reading from Blob.Open", err)
		}
		cancel()
		ctx, cancel = short()
		wantDeadline("Delete", fs.store.Delete(ctx, &nfDoc{PK: part, SK: sk}))
		cancel()
		allowed = append(allowed, absent)
		fs.heal(t)
		v := e.verify(t, map[string]map[string][]state{part: {sk: allowed}})
		reportProblems(t, v)
		t.Logf("deadline shorter than latency: orphans before the sweep %d, swept %d, clean-up reports %d", v.orphans, v.swept, len(fs.cleanupReports()))
	})

	// The deadline passes while the document write is in the network: the
	// payload is stored, the PutItem reaches DynamoDB after the client gave
	// up, and Put's read-back may or may not see it. Put returns nil (the
	// read-back found the write) or context.DeadlineExceeded, and the
	// document holds v1 or v2 with its payloads.
	t.Run("DeadlineDuringDocumentWrite", func(t *testing.T) {
		fs := e.newFaultStore(t, faultConfig{})
		const part = "latency-docwrite"
		outcomes := map[string]int{}
		allowed := map[string][]state{}
		for i := range 4 {
			sk := fmt.Sprintf("k%d", i)
			v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 2000)}}
			putState(t, fs.store, part, sk, v1)
			name := fs.add(t, fs.ddbp, toxics.Latency(toxics.Upstream, 150*time.Millisecond, 50*time.Millisecond))
			v2 := state{version: "v2", files: map[string]string{"a": payload(rng, 2000)}}
			ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
			err := fs.store.Put(ctx, newDoc(part, sk, v2, nil))
			cancel()
			switch {
			case err == nil:
				outcomes["acknowledged (read-back found the write)"]++
				allowed[sk] = []state{v2}
			case err == context.DeadlineExceeded:
				outcomes["context.DeadlineExceeded"]++
				allowed[sk] = []state{v1, v2}
			default:
				t.Errorf("Put whose deadline passed during the document write: %v (%T), want nil or context.DeadlineExceeded", err, err)
				allowed[sk] = []state{v1, v2}
			}
			time.Sleep(250 * time.Millisecond) // let the late write land
			if err := fs.ddbp.Remove(name); err != nil {
				t.Fatal(err)
			}
			st, _ := readState(context.Background(), e.checker, part, sk)
			outcomes["document holds "+label(st)]++
		}
		fs.heal(t)
		v := e.verify(t, map[string]map[string][]state{part: allowed})
		reportProblems(t, v)
		t.Logf("deadline during the document write: outcomes %v; orphans before the sweep %d, swept %d; clean-up reports %d", outcomes, v.orphans, v.swept, len(fs.cleanupReports()))
	})
}

// ---------------------------------------------------------------------------
// ResetDuringUpload
// ---------------------------------------------------------------------------

func (e *nfEnv) testResetDuringUpload(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cases := []struct {
		name      string
		size      int
		noRetry   bool
		toxic     toxics.Toxic
		midStream bool // add the toxic once half the payload is read
		mayWork   bool // the SDK's retry may get the upload through
		mayLeak   bool // the abort may be reset too, leaving the upload unfinished
	}{
		// Every connection is reset after 1 MiB: every attempt of every
		// part fails; the small requests (create, abort, delete) pass.
		{name: "Multipart", size: 12 << 20, toxic: toxics.LimitData(toxics.Upstream, 1<<20)},
		{name: "SinglePart", size: 3 << 20, toxic: toxics.LimitData(toxics.Upstream, 1<<20)},
		// One connection is reset after 1 MiB and the SDK does not retry.
		{name: "MultipartOnceNoRetry", size: 12 << 20, noRetry: true, toxic: toxics.CutAfter(toxics.Upstream, 1<<20, 1)},
		{name: "SinglePartOnceNoRetry", size: 3 << 20, noRetry: true, toxic: toxics.CutAfter(toxics.Upstream, 1<<20, 1)},
		// One connection is reset after 1 MiB and the SDK retries the part.
		{name: "MultipartOnceRetried", size: 12 << 20, toxic: toxics.CutAfter(toxics.Upstream, 1<<20, 1), mayWork: true},
		// reset_peer, added once half the payload is read, resets every
		// connection as it next sends, until Put has returned: the abort
		// cannot get through either.
		{name: "MultipartResetPeerMidStream", size: 12 << 20, toxic: toxics.ResetPeer(toxics.Upstream, 0), midStream: true, mayLeak: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := e.newFaultStore(t, faultConfig{noRetry: c.noRetry, resetOnClose: true})
			part := "reset-" + strings.ToLower(c.name)
			const sk = "k"
			v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 1000)}}
			putState(t, fs.store, part, sk, v1)
			before := e.objects(t, nfPrefix+part+"/")
			v2 := state{version: "v2", files: map[string]string{"a": payload(rng, c.size)}}
			add, name := addLater(t, fs.s3p, c.toxic)
			var mid func()
			if c.midStream {
				mid = add
			} else {
				add()
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			start := time.Now()
			err := fs.store.Put(ctx, newDoc(part, sk, v2, mid))
			elapsed := time.Since(start)
			cancel()
			cuts := fs.s3p.Cuts(name())
			fs.heal(t)
			uploads := e.uploads(context.Background(), t, nfPrefix+part+"/")
			allowed := []state{v1}
			switch {
			case err == nil && c.mayWork:
				allowed = []state{v2}
			case err == nil:
				t.Errorf("Put succeeded through the resets")
				allowed = []state{v2}
			default:
				if after := e.objects(t, nfPrefix+part+"/"); !slices.Equal(after, before) {
					t.Errorf("objects under the partition: %q after the failed Put, %q before", after, before)
				}
				if len(uploads) > 0 && !c.mayLeak {
					t.Errorf("%d unfinished multipart uploads left after the failed Put", len(uploads))
				}
			}
			v := e.verify(t, map[string]map[string][]state{part: {sk: allowed}})
			reportProblems(t, v)
			t.Logf("%s: Put of %d MiB returned after %v: %v; connections cut by docblob_cut: %d; unfinished uploads left: %d; clean-up reports: %d",
				c.name, c.size>>20, elapsed.Round(time.Millisecond), err, cuts, len(uploads), len(fs.cleanupReports()))
		})
	}
}

// ---------------------------------------------------------------------------
// BlackHole
// ---------------------------------------------------------------------------

func (e *nfEnv) testBlackHole(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const deadline = 1500 * time.Millisecond
	cases := []struct {
		name      string
		s3        bool // the black hole is on S3, else on DynamoDB
		stream    string
		size      int
		midStream bool
		cleanups  int // requests that can each wait nfCleanup after the deadline
		mayLeak   bool
	}{
		// The PutItem never reaches DynamoDB; the read-back neither.
		{name: "DynamoDBRequest", stream: toxics.Upstream, size: 2000, cleanups: 1},
		// DynamoDB applies the PutItem; its response, and the read-back's,
		// never arrive.
		{name: "DynamoDBResponse", stream: toxics.Downstream, size: 2000, cleanups: 1},
		// The PutObject never reaches S3; nor does the delete that follows.
		{name: "S3Upload", s3: true, stream: toxics.Upstream, size: 2000, cleanups: 1},
		// Half-way through a multipart upload; the abort and the delete
		// that follow are held too.
		{name: "S3UploadMidStream", s3: true, stream: toxics.Upstream, size: 12 << 20, midStream: true, cleanups: 2, mayLeak: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := e.newFaultStore(t, faultConfig{})
			part := "blackhole-" + strings.ToLower(c.name)
			const sk = "k"
			v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 1000)}}
			putState(t, fs.store, part, sk, v1)
			p := fs.ddbp
			if c.s3 {
				p = fs.s3p
			}
			add, _ := addLater(t, p, toxics.Timeout(c.stream, 0))
			var mid func()
			if c.midStream {
				mid = add
			} else {
				add()
			}
			v2 := state{version: "v2", files: map[string]string{"a": payload(rng, c.size)}}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			start := time.Now()
			err := fs.store.Put(ctx, newDoc(part, sk, v2, mid))
			elapsed := time.Since(start)
			cancel()
			if err != context.DeadlineExceeded {
				t.Errorf("Put into a black hole: %v (%T), want context.DeadlineExceeded itself", err, err)
			}
			limit := deadline + time.Duration(c.cleanups)*nfCleanup + 2*time.Second
			if elapsed < deadline-50*time.Millisecond || elapsed > limit {
				t.Errorf("Put into a black hole returned after %v, want between the deadline %v and %v", elapsed, deadline, limit)
			}
			fs.heal(t)
			uploads := e.uploads(context.Background(), t, nfPrefix+part+"/")
			if len(uploads) > 0 && !c.mayLeak {
				t.Errorf("%d unfinished multipart uploads left", len(uploads))
			}
			allowed := []state{v1}
			if !c.s3 {
				allowed = append(allowed, v2)
			}
			st, _ := readState(context.Background(), e.checker, part, sk)
			v := e.verify(t, map[string]map[string][]state{part: {sk: allowed}})
			reportProblems(t, v)
			t.Logf("%s: Put returned after %v (deadline %v): %v; document holds %s; orphans before the sweep %d, swept %d; unfinished uploads %d; clean-up reports %d",
				c.name, elapsed.Round(time.Millisecond), deadline, err, label(st), v.orphans, v.swept, len(uploads), len(fs.cleanupReports()))
		})
	}
}

// ---------------------------------------------------------------------------
// ResponseCutAfterApply
// ---------------------------------------------------------------------------

func (e *nfEnv) testResponseCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	type opKind int
	const (
		opPut         opKind = iota // unconditional Put over v1
		opCreate                    // Create of a new document
		opPutRevision               // Get v1, replace a, keep b, Put with the revision
		opDelete                    // unconditional Delete of v1
		opDeleteRevision
	)
	once := toxics.CutAfter(toxics.Downstream, 0, 1) // loses exactly one response
	all := toxics.LimitData(toxics.Downstream, 0)    // loses every response
	cases := []struct {
		name    string
		op      opKind
		noRetry bool
		toxic   toxics.Toxic
		// wantNil: the call must succeed (the write is committed and the
		// store can tell); otherwise it may fail, ambiguously.
		wantNil bool
	}{
		// The SDK retries after the lost response. The retry of a put meets
		// the item its first attempt wrote: an unconditional PutItem
		// returns it as the "replaced" item, a conditional one fails its
		// condition with it (ReturnValuesOnConditionCheckFailure). The
		// driver reports both as ambiguous; Put reads back and succeeds.
		{name: "Put/LostOnceSDKRetry", op: opPut, toxic: once, wantNil: true},
		{name: "Create/LostOnceSDKRetry", op: opCreate, toxic: once, wantNil: true},
		{name: "PutRevision/LostOnceSDKRetry", op: opPutRevision, toxic: once, wantNil: true},
		// Without retries the lost response is the error; the read-back
		// goes through and finds the write.
		{name: "Put/LostOnceNoRetry", op: opPut, noRetry: true, toxic: once, wantNil: true},
		{name: "Create/LostOnceNoRetry", op: opCreate, noRetry: true, toxic: once, wantNil: true},
		{name: "PutRevision/LostOnceNoRetry", op: opPutRevision, noRetry: true, toxic: once, wantNil: true},
		// Every response is lost, the read-back's too: Put fails, the
		// document is written, its payloads must stay.
		{name: "Put/AllLost", op: opPut, toxic: all},
		{name: "Create/AllLost", op: opCreate, toxic: all},
		{name: "PutRevision/AllLost", op: opPutRevision, toxic: all},
		// Deletes.
		{name: "Delete/LostOnceSDKRetry", op: opDelete, toxic: once},
		{name: "DeleteRevision/LostOnceSDKRetry", op: opDeleteRevision, toxic: once},
		{name: "Delete/LostOnceNoRetry", op: opDelete, noRetry: true, toxic: once},
		{name: "Delete/AllLost", op: opDelete, toxic: all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := e.newFaultStore(t, faultConfig{noRetry: c.noRetry, resetOnClose: true})
			part := "cut-" + strings.ToLower(strings.ReplaceAll(c.name, "/", "-"))
			const sk = "k"
			v1 := state{version: "v1", files: map[string]string{"a": payload(rng, 2000), "b": payload(rng, 70_000)}}
			old := absent
			if c.op != opCreate {
				putState(t, fs.store, part, sk, v1)
				old = v1
			}
			doc := &nfDoc{PK: part, SK: sk}
			var next state
			switch c.op {
			case opPut, opCreate:
				next = state{version: "v2", files: map[string]string{"a": payload(rng, 2000), "b": payload(rng, 70_000)}}
				doc = newDoc(part, sk, next, nil)
			case opPutRevision:
				if err := fs.store.Get(context.Background(), doc); err != nil {
					t.Fatal(err)
				}
				next = v1.with("v2", map[string]string{"a": payload(rng, 2000)})
				doc.Version, doc.A = "v2", docblob.NewBlobBytes([]byte(next.files["a"]), nil)
			case opDelete:
				next = absent
			case opDeleteRevision:
				if err := fs.store.Get(context.Background(), doc); err != nil {
					t.Fatal(err)
				}
				next = absent
			}
			name := fs.add(t, fs.ddbp, c.toxic)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var err error
			switch c.op {
			case opPut, opPutRevision:
				err = fs.store.Put(ctx, doc)
			case opCreate:
				err = fs.store.Create(ctx, doc)
			case opDelete:
				err = fs.store.Delete(ctx, &nfDoc{PK: part, SK: sk})
			case opDeleteRevision:
				err = fs.store.Delete(ctx, doc)
			}
			cancel()
			cuts := fs.ddbp.Cuts(name)
			fs.heal(t)
			got, rerr := readState(context.Background(), e.checker, part, sk)
			if rerr != nil {
				t.Fatalf("reading back: %v", rerr)
			}
			allowed := []state{next}
			switch {
			case err == nil:
			case c.wantNil:
				t.Errorf("the write is committed and the store can read it back, yet it failed: %v", err)
				allowed = append(allowed, old)
			case !ambiguous(err):
				t.Errorf("a lost response gave the definite error %v (code %v); it must be ambiguous", err, docblob.Code(err))
				allowed = append(allowed, old)
			default:
				allowed = append(allowed, old)
			}
			if got.equal(next) && err != nil && !ambiguous(err) {
				t.Errorf("the write was applied but the call reported the definite error %v", err)
			}
			if name != "" && c.toxic.Type == "docblob_cut" && cuts != 1 {
				t.Errorf("the toxic cut %d responses, want 1", cuts)
			}
			v := e.verify(t, map[string]map[string][]state{part: {sk: allowed}})
			reportProblems(t, v)
			t.Logf("%s: err=%v (code %v); document holds %s; orphans before the sweep %d, swept %d; clean-up reports %d",
				c.name, err, docblob.Code(err), label(got), v.orphans, v.swept, len(fs.cleanupReports()))
		})
	}
}

// ---------------------------------------------------------------------------
// Randomized
// ---------------------------------------------------------------------------

func netFaultRuns(t *testing.T) int {
	if v := os.Getenv(netFaultRunsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("%s=%q is not a count", netFaultRunsEnv, v)
		}
		return n
	}
	return 30
}

// nfFaultKinds are the faults of the Randomized scenario.
var nfFaultKinds = []string{"latency", "reset", "blackhole", "cut-response", "cut-request"}

// errNoWrite marks an operation that failed before it could write.
var errNoWrite = errors.New("failed before writing")

type nfStats struct {
	runs, ops, failedOps, struck  int
	opsUnderFault                 int
	faults                        map[string]int
	errs                          map[string]int
	orphans, swept, leaked, viols int
	cleanupReports                int
}

// testRandomized makes runs of random puts, replaces, creates, deletes and
// reads on two documents while a random toxic on a random service is added
// at a random moment and removed at another, and checks the invariants
// after each run.
func (e *nfEnv) testRandomized(t *testing.T) {
	runs := netFaultRuns(t)
	stats := &nfStats{faults: map[string]int{}, errs: map[string]int{}}
	start := time.Now()
	for run := range runs {
		rng := rand.New(rand.NewPCG(uint64(run), 0x5eed))
		if !e.randomRun(t, rng, run, stats) {
			stats.viols++
			if stats.viols > 3 {
				t.Fatal("too many violations; stopping")
			}
		}
	}
	t.Logf("randomized: %d runs in %v; operations %d (%d failed, %d with the toxic installed); faults %v; runs whose toxic went in before the last operation ended %d; errors by kind %v",
		stats.runs, time.Since(start).Round(time.Millisecond), stats.ops, stats.failedOps, stats.opsUnderFault, stats.faults, stats.struck, stats.errs)
	t.Logf("randomized: orphans before the sweeps %d, swept %d; unfinished multipart uploads left %d; clean-up reports %d; runs violating an invariant %d",
		stats.orphans, stats.swept, stats.leaked, stats.cleanupReports, stats.viols)
}

// randomToxic returns a random fault, the proxy it goes on, and whether
// the proxies must reset connections when they close them.
func randomToxic(rng *rand.Rand, fs *faultStore, kind string) (*toxics.Proxy, toxics.Toxic, string) {
	p, svc := fs.ddbp, "dynamodb"
	if rng.IntN(2) == 0 {
		p, svc = fs.s3p, "s3"
	}
	dir := toxics.Upstream
	if rng.IntN(2) == 0 {
		dir = toxics.Downstream
	}
	var tox toxics.Toxic
	switch kind {
	case "latency":
		lat := time.Duration(50+rng.IntN(150)) * time.Millisecond
		tox = toxics.Latency(dir, lat, lat/4)
	case "reset":
		tox = toxics.ResetPeer(dir, time.Duration(rng.IntN(100))*time.Millisecond)
	case "blackhole":
		tox = toxics.Timeout(dir, 0)
	case "cut-response":
		dir = toxics.Downstream
		tox = toxics.CutAfter(dir, int64(rng.IntN(200)), int64(1+rng.IntN(3)))
	case "cut-request":
		dir = toxics.Upstream
		tox = toxics.LimitData(dir, int64(1+rng.IntN(256<<10)))
	}
	return p, tox, kind + "/" + svc + "/" + dir
}

func (e *nfEnv) randomRun(t *testing.T, rng *rand.Rand, run int, stats *nfStats) bool {
	t.Helper()
	stats.runs++
	kind := nfFaultKinds[rng.IntN(len(nfFaultKinds))]
	fs := e.newFaultStore(t, faultConfig{noRetry: rng.IntN(4) == 0, resetOnClose: kind != "latency", inline: 64})
	defer fs.close()
	part := fmt.Sprintf("rand%03d", run)
	keys := []string{"a", "b"}
	// allowed holds what each document may hold: what the last
	// acknowledged write wrote, and what unacknowledged writes since then
	// would have. late holds what writes that failed at their deadline
	// would have: such a request may still be in the network and land
	// after later writes.
	allowed := map[string][]state{}
	late := map[string][]state{}
	for _, k := range keys {
		// Most runs start with the documents there, so that replaces
		// and deletes have something to work on.
		allowed[k] = []state{absent}
		if rng.IntN(4) != 0 {
			st := state{version: "v0", files: map[string]string{"a": payload(rng, 3000)}}
			putState(t, fs.store, part, k, st)
			allowed[k] = []state{st}
		}
	}
	proxy, tox, label := randomToxic(rng, fs, kind)
	stats.faults[label]++
	// The toxic goes in a random moment after a random operation starts,
	// and comes out a random time later.
	const ops = 6
	at := rng.IntN(ops - 1)
	delay := time.Duration(rng.IntN(40)) * time.Millisecond
	hold := time.Duration(300+rng.IntN(1200)) * time.Millisecond
	var struck, installed atomic.Bool
	stop := make(chan struct{})
	opStarted := make(chan struct{})
	toggled := make(chan struct{})
	go func() {
		defer close(toggled)
		select {
		case <-opStarted:
		case <-stop:
			return
		}
		select {
		case <-time.After(delay):
		case <-stop:
			return
		}
		name, err := proxy.Add(tox)
		if err != nil {
			t.Errorf("run %d: %v", run, err)
			return
		}
		struck.Store(true)
		installed.Store(true)
		select {
		case <-time.After(hold):
		case <-stop:
		}
		installed.Store(false)
		if err := proxy.Remove(name); err != nil {
			t.Errorf("run %d: %v", run, err)
		}
	}()
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		t.Errorf("run %d (%s %v into operation %d, for %v): %s", run, label, delay, at, hold, fmt.Sprintf(format, args...))
	}
	for i := range ops {
		if i == at {
			close(opStarted)
		}
		k := keys[rng.IntN(len(keys))]
		stats.ops++
		faulted := installed.Load()
		newState, read, err := randomOp(rng, fs.store, part, k)
		if faulted || installed.Load() {
			stats.opsUnderFault++
		}
		if err != nil {
			stats.errs[errKind(err)]++
		}
		switch {
		case read:
			if err != nil {
				stats.failedOps++
				break
			}
			if !slices.ContainsFunc(append(slices.Clone(allowed[k]), late[k]...), newState.equal) {
				fail("read %s: %v, want one of %v", k, newState, allowed[k])
			}
		case errors.Is(err, errNoWrite):
			stats.failedOps++
		case err == nil:
			allowed[k] = []state{newState}
		case ambiguous(err):
			stats.failedOps++
			allowed[k] = append(allowed[k], newState)
			if errors.Is(err, context.DeadlineExceeded) {
				late[k] = append(late[k], newState)
			}
		default:
			stats.failedOps++ // definite: nothing changed
		}
	}
	close(stop)
	<-toggled
	if struck.Load() {
		stats.struck++
	}
	fs.heal(t)
	fs.close()
	time.Sleep(nfSettle)
	for _, k := range keys {
		allowed[k] = append(allowed[k], late[k]...)
	}
	v := e.verify(t, map[string]map[string][]state{part: allowed})
	for _, p := range v.problems {
		fail("%s", p)
	}
	stats.orphans += v.orphans
	stats.swept += v.swept
	stats.leaked += v.leaked
	stats.cleanupReports += len(fs.cleanupReports())
	return ok
}

// errKind names the kind of an operation's error for the statistics.
func errKind(err error) string {
	switch {
	case errors.Is(err, errNoWrite):
		return "failed read before write"
	case err == context.DeadlineExceeded:
		return "context.DeadlineExceeded"
	case errors.Is(err, context.DeadlineExceeded):
		return "wrapped DeadlineExceeded"
	}
	return docblob.Code(err).String()
}

// randomOp applies a random operation to document k and returns the state
// a write would leave, or the state a read saw.
func randomOp(rng *rand.Rand, store *docblob.Store, part, k string) (st state, read bool, err error) {
	sizes := []int{0, 10, 64, 65, 3000, 70_000, 1 << 20}
	size := func() int {
		if rng.IntN(20) == 0 {
			return nfPartSize + 1<<20 // multipart
		}
		return sizes[rng.IntN(len(sizes))]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	version := fmt.Sprintf("v%d", rng.Uint32())
	switch op := rng.IntN(6); op {
	case 0, 1: // unconditional put of fresh attachments
		st = state{version: version, files: map[string]string{"a": payload(rng, size())}}
		if op == 1 {
			st.files["b"] = payload(rng, size())
		}
		return st, false, store.Put(ctx, newDoc(part, k, st, nil))
	case 2: // read, replace a, keep b, with the revision
		doc := &nfDoc{PK: part, SK: k}
		if err := store.Get(ctx, doc); err != nil {
			return st, false, fmt.Errorf("%w: %w", errNoWrite, err)
		}
		cur := state{files: map[string]string{}}
		if doc.B != nil {
			data, err := doc.B.ReadAll(ctx)
			if err != nil {
				return st, false, fmt.Errorf("%w: %w", errNoWrite, err)
			}
			cur.files["b"] = string(data)
		}
		st = cur.with(version, map[string]string{"a": payload(rng, size())})
		doc.Version, doc.A = version, docblob.NewBlobBytes([]byte(st.files["a"]), nil)
		return st, false, store.Put(ctx, doc)
	case 3: // create
		st = state{version: version, files: map[string]string{"a": payload(rng, size())}}
		return st, false, store.Create(ctx, newDoc(part, k, st, nil))
	case 4: // delete
		return absent, false, store.Delete(ctx, &nfDoc{PK: part, SK: k})
	default: // read
		st, err := readState(ctx, store, part, k)
		return st, true, err
	}
}

// ---------------------------------------------------------------------------
// SDK retry of an applied write, with another writer in between
// ---------------------------------------------------------------------------

// TestSDKRetryAfterConcurrentWrite: writer A's document write reaches
// DynamoDB and is applied, its response is lost (docblob_cut), and the
// SDK sends the request again; before the retry lands (held by 1 s of
// latency on A's requests), writer B, talking to DynamoDB directly,
// commits a write of its own over A's. Afterwards no document may
// reference a missing payload.
func TestSDKRetryAfterConcurrentWrite(t *testing.T) {
	e := newNFEnv(t)
	rng := rand.New(rand.NewPCG(5, 5))
	newState := func(v string) state {
		return state{version: v, files: map[string]string{"a": payload(rng, 2000)}}
	}

	// A's unconditional Put is applied twice: B's Put, which commits in
	// between and learns that it replaced A's version, deletes A's
	// payload; A's retry then writes A's version back, referencing it.
	t.Run("UnconditionalPutRewritten", func(t *testing.T) {
		const part, sk = "retry-put", "k"
		vA, vB := newState("A"), newState("B")
		fs := e.newFaultStore(t, faultConfig{resetOnClose: true})
		errA := e.retryRace(t, fs,
			func(ctx context.Context, s *docblob.Store) error { return s.Put(ctx, newDoc(part, sk, vA, nil)) },
			func(ctx context.Context, s *docblob.Store) error { return s.Put(ctx, newDoc(part, sk, vB, nil)) })
		e.reportRace(t, errA, part, sk)
	})

	// A's Put with a revision is applied; B reads A's version and writes
	// it back with another title, keeping A's attachment; A's retry fails
	// its condition against B's item, which the driver reports as a
	// definite FailedPrecondition, so Put deletes A's payload, which B's
	// committed document references.
	t.Run("RevisionPutRetryFailsCondition", func(t *testing.T) {
		const part, sk = "retry-revision", "k"
		putState(t, e.checker, part, sk, newState("v0"))
		fs := e.newFaultStore(t, faultConfig{resetOnClose: true})
		doc := &nfDoc{PK: part, SK: sk}
		if err := fs.store.Get(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
		vA := newState("A")
		doc.Version, doc.A = "A", docblob.NewBlobBytes([]byte(vA.files["a"]), nil)
		errA := e.retryRace(t, fs,
			func(ctx context.Context, s *docblob.Store) error { return s.Put(ctx, doc) },
			keepAttachment(part, sk))
		e.reportRace(t, errA, part, sk)
	})

	// The same with Create: the retry fails attribute_not_exists against
	// B's item, reported as a definite AlreadyExists.
	t.Run("CreateRetryFailsCondition", func(t *testing.T) {
		const part, sk = "retry-create", "k"
		vA := newState("A")
		fs := e.newFaultStore(t, faultConfig{resetOnClose: true})
		errA := e.retryRace(t, fs,
			func(ctx context.Context, s *docblob.Store) error { return s.Create(ctx, newDoc(part, sk, vA, nil)) },
			keepAttachment(part, sk))
		e.reportRace(t, errA, part, sk)
	})
}

// keepAttachment is writer B of RevisionPutRetryFailsCondition: it reads
// the document and writes it back with another version label, keeping its
// attachment.
func keepAttachment(part, sk string) func(context.Context, *docblob.Store) error {
	return func(ctx context.Context, s *docblob.Store) error {
		doc := &nfDoc{PK: part, SK: sk}
		if err := s.Get(ctx, doc); err != nil {
			return err
		}
		doc.Version = "B"
		return s.Put(ctx, doc)
	}
}

// retryRace runs writeA through fs, whose DynamoDB requests now take 1 s
// to arrive and whose next DynamoDB response is lost; as soon as it is
// lost (the write applied), it runs writeB through the checking store,
// which talks to the servers directly, while A's SDK retry is still in
// the network. It returns A's error.
func (e *nfEnv) retryRace(t *testing.T, fs *faultStore, writeA, writeB func(context.Context, *docblob.Store) error) error {
	t.Helper()
	fs.add(t, fs.ddbp, toxics.Latency(toxics.Upstream, time.Second, 0))
	cut := fs.add(t, fs.ddbp, toxics.CutAfter(toxics.Downstream, 0, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- writeA(ctx, fs.store) }()
	deadline := time.Now().Add(20 * time.Second)
	for fs.ddbp.Cuts(cut) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("A's first response was never cut")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := writeB(ctx, e.checker); err != nil {
		t.Fatalf("writer B: %v", err)
	}
	bDone := time.Now()
	errA := <-errc
	t.Logf("writer A returned %v after B committed: %v", time.Since(bDone).Round(time.Millisecond), errA)
	fs.heal(t)
	return errA
}

// reportRace fails the test if a document of the partition references a
// missing payload.
func (e *nfEnv) reportRace(t *testing.T, errA error, part, sk string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doc := &nfDoc{PK: part, SK: sk}
	if err := e.checker.Get(ctx, doc); err != nil {
		t.Fatalf("Get: %v", err)
	}
	t.Logf("the document holds version %s, attachment a = %q", doc.Version, doc.A.Key())
	for f, err := range e.checker.Check(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind != docblob.OrphanPayload && f.Partition == part {
			t.Errorf("after A's retried write (A returned %v): %v", errA, f)
		}
	}
}

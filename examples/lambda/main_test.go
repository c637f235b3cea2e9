package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
	"github.com/docblob/docblob/internal/testservers"
	"github.com/docblob/docblob/memtest"
)

// event builds a request as API Gateway (payload format 2.0) or a function
// URL delivers it: lower-case header names, the raw query string, a binary
// body in base64.
func event(method, query string, body []byte, binary bool, headers map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:         "2.0",
		RouteKey:        "$default",
		RawPath:         "/",
		RawQueryString:  query,
		Headers:         map[string]string{},
		IsBase64Encoded: binary,
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = "/"
	if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k, v := range q {
			req.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	for k, v := range headers {
		req.Headers[strings.ToLower(k)] = v
	}
	if binary {
		req.Body = base64.StdEncoding.EncodeToString(body)
	} else {
		req.Body = string(body)
	}
	return req
}

// call runs the handler in-process and decodes a successful response.
func call(t *testing.T, h *handler, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, fileResponse) {
	t.Helper()
	resp, err := h.handle(context.Background(), req)
	if err != nil {
		t.Fatalf("%s ?%s: the handler returned a Lambda error: %v", req.RequestContext.HTTP.Method, req.RawQueryString, err)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("%s ?%s: Content-Type %q", req.RequestContext.HTTP.Method, req.RawQueryString, ct)
	}
	var fr fileResponse
	if resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(resp.Body), &fr); err != nil {
			t.Fatalf("%s ?%s: body %q: %v", req.RequestContext.HTTP.Method, req.RawQueryString, resp.Body, err)
		}
	}
	return resp, fr
}

// mustCall is call for a request that must succeed with want.
func mustCall(t *testing.T, h *handler, req events.APIGatewayV2HTTPRequest, want int) fileResponse {
	t.Helper()
	resp, fr := call(t, h, req)
	if resp.StatusCode != want {
		t.Fatalf("%s ?%s: status %d, want %d; body %s", req.RequestContext.HTTP.Method, req.RawQueryString, resp.StatusCode, want, resp.Body)
	}
	return fr
}

// download fetches a signed link, which must point to loopback, and
// returns the body and the response's Content-Type.
func download(t *testing.T, client *http.Client, link string) ([]byte, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	if !testservers.IsLoopbackHost(u.Hostname()) {
		t.Fatalf("link %s://%s/... is not on loopback", u.Scheme, u.Host)
	}
	resp, err := client.Get(link)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET link: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET link: %s: %s", resp.Status, b)
	}
	return b, resp.Header.Get("Content-Type")
}

// loopbackClient follows no redirect, so that a link can only reach the
// host that download checked.
func loopbackClient() *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("no redirects in tests")
		},
	}
}

// crc32cOf is the checksum a default store records for b.
func crc32cOf(b []byte) string {
	return fmt.Sprintf("crc32c:%08x", crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// png returns n bytes that sniff as PNG.
func png(n int) []byte {
	b := bytes.Repeat([]byte{0xA5}, n)
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

// exercise runs the handler's whole contract against the store h holds:
// uploads whose links download the same bytes, fresh links, replacement,
// and every client error.
func exercise(t *testing.T, h *handler, client *http.Client) {
	t.Run("UploadAndDownload", func(t *testing.T) {
		data := png(100_000)
		fr := mustCall(t, h, event("POST", "owner=alice&name=photos/cat.png", data, true,
			map[string]string{"Content-Type": "image/png"}), http.StatusCreated)
		if fr.Owner != "alice" || fr.Name != "photos/cat.png" || fr.Size != int64(len(data)) ||
			fr.ContentType != "image/png" || fr.Checksum != crc32cOf(data) {
			t.Errorf("response %+v", fr)
		}
		if d := time.Until(fr.Expires); d < LinkExpiry-time.Minute || d > LinkExpiry+time.Minute {
			t.Errorf("link expires in %v, want about %v", d, LinkExpiry)
		}
		got, ct := download(t, client, fr.URL)
		if !bytes.Equal(got, data) {
			t.Errorf("the link serves %d bytes (%s), want the %d uploaded", len(got), crc32cOf(got), len(data))
		}
		if ct != "image/png" {
			t.Errorf("the link serves Content-Type %q", ct)
		}

		// GET signs a fresh link to the same bytes.
		again := mustCall(t, h, event("GET", "owner=alice&name=photos/cat.png", nil, false, nil), http.StatusOK)
		if again.Checksum != fr.Checksum || again.URL == "" {
			t.Errorf("GET: %+v", again)
		}
		if got, _ := download(t, client, again.URL); !bytes.Equal(got, data) {
			t.Errorf("the fresh link serves other bytes")
		}
	})

	t.Run("TextBodySniffed", func(t *testing.T) {
		data := []byte("plain text, sent without base64 and without a Content-Type\n")
		fr := mustCall(t, h, event("POST", "owner=alice&name=notes.txt", data, false, nil), http.StatusCreated)
		if fr.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("sniffed Content-Type %q", fr.ContentType)
		}
		if got, _ := download(t, client, fr.URL); !bytes.Equal(got, data) {
			t.Errorf("the link serves %q", got)
		}
	})

	t.Run("PathParameters", func(t *testing.T) {
		req := event("POST", "", []byte("from a route /files/{owner}/{name}"), false, nil)
		req.PathParameters = map[string]string{"owner": "bob", "name": "route.txt"}
		fr := mustCall(t, h, req, http.StatusCreated)
		if fr.Owner != "bob" || fr.Name != "route.txt" {
			t.Errorf("response %+v", fr)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		first, second := []byte("version one"), []byte("version two, longer")
		mustCall(t, h, event("POST", "owner=carol&name=doc.txt", first, true, nil), http.StatusCreated)
		mustCall(t, h, event("POST", "owner=carol&name=doc.txt", second, true, nil), http.StatusCreated)
		fr := mustCall(t, h, event("GET", "owner=carol&name=doc.txt", nil, false, nil), http.StatusOK)
		if got, _ := download(t, client, fr.URL); !bytes.Equal(got, second) {
			t.Errorf("after a replacement the link serves %q", got)
		}
	})

	t.Run("LargestFile", func(t *testing.T) {
		data := png(MaxFileBytes)
		fr := mustCall(t, h, event("POST", "owner=dave&name=big.png", data, true, nil), http.StatusCreated)
		if fr.Size != MaxFileBytes || fr.Checksum != crc32cOf(data) {
			t.Errorf("response %+v", fr)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		oversize := png(MaxFileBytes + 1)
		notBase64 := event("POST", "owner=alice&name=x", nil, true, nil)
		notBase64.Body = "this is not base64!"
		for _, tc := range []struct {
			name string
			req  events.APIGatewayV2HTTPRequest
			want int
		}{
			{"NoParameters", event("POST", "", []byte("x"), false, nil), http.StatusBadRequest},
			{"NoName", event("POST", "owner=alice", []byte("x"), false, nil), http.StatusBadRequest},
			{"NoOwner", event("GET", "name=cat.png", nil, false, nil), http.StatusBadRequest},
			{"EmptyOwner", event("GET", "owner=&name=cat.png", nil, false, nil), http.StatusBadRequest},
			{"OwnerTwice", event("POST", "owner=alice&owner=bob&name=x", []byte("x"), false, nil), http.StatusBadRequest},
			{"MalformedQuery", event("GET", "owner=%zz&name=x", nil, false, nil), http.StatusBadRequest},
			{"BadBase64", notBase64, http.StatusBadRequest},
			{"EmptyBody", event("POST", "owner=alice&name=x", nil, false, nil), http.StatusBadRequest},
			{"BadContentType", event("POST", "owner=alice&name=x", []byte("x"), false,
				map[string]string{"Content-Type": "text/plain; charset"}), http.StatusBadRequest},
			{"InvalidUTF8Owner", event("POST", "owner=%ff&name=x", []byte("x"), false, nil), http.StatusBadRequest},
			// Over DynamoDB's 2048 bytes: docblob says InvalidArgument
			// (its ErrorCode table lists keys under TooLarge too).
			{"OwnerTooLong", event("POST", "owner="+strings.Repeat("o", 3000)+"&name=x", []byte("x"), false, nil), http.StatusBadRequest},
			{"OversizeBase64", event("POST", "owner=alice&name=big", oversize, true, nil), http.StatusRequestEntityTooLarge},
			{"OversizeText", event("POST", "owner=alice&name=big", oversize, false, nil), http.StatusRequestEntityTooLarge},
			{"UnknownFile", event("GET", "owner=alice&name=never-uploaded", nil, false, nil), http.StatusNotFound},
			{"UnknownOwner", event("GET", "owner=nobody&name=cat.png", nil, false, nil), http.StatusNotFound},
			{"Delete", event("DELETE", "owner=alice&name=photos/cat.png", nil, false, nil), http.StatusMethodNotAllowed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, _ := call(t, h, tc.req)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, resp.Body)
				}
				var e errorResponse
				if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error == "" {
					t.Errorf("body %q is not an error message (%v)", resp.Body, err)
				}
				if strings.Contains(resp.Body, "docblob") {
					t.Errorf("body %q shows the store's own error", resp.Body)
				}
			})
		}
		// Nothing the errors refused was stored.
		resp, _ := call(t, h, event("GET", "owner=alice&name=big", nil, false, nil))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET of the oversize file: status %d", resp.StatusCode)
		}
	})
}

// TestHandlerMemory runs the handler on memtest's in-memory store, whose
// links a local test server serves: no servers needed.
func TestHandlerMemory(t *testing.T) {
	store := memtest.New(t)
	h := newHandler(store)
	exercise(t, h, memtest.Server(t, store).Client())
	memtest.AssertConsistent(t, store) // replaced and refused files left nothing behind

	t.Run("Requests", func(t *testing.T) {
		// An upload is one payload write and one document write; a fresh
		// link is one document read (signing needs no request).
		memtest.ResetCalls(store)
		mustCall(t, h, event("POST", "owner=erin&name=a.txt", []byte("a"), false, nil), http.StatusCreated)
		want := map[memtest.Op]int{memtest.WriteBlob: 1, memtest.PutDocument: 1}
		if got := memtest.Calls(store); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("POST made %v, want %v", got, want)
		}
		memtest.ResetCalls(store)
		mustCall(t, h, event("GET", "owner=erin&name=a.txt", nil, false, nil), http.StatusOK)
		want = map[memtest.Op]int{memtest.GetDocument: 1}
		if got := memtest.Calls(store); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GET made %v, want %v", got, want)
		}
	})

	t.Run("StoreFailures", func(t *testing.T) {
		var logged bytes.Buffer
		h := &handler{store: store, log: slog.New(slog.NewTextHandler(&logged, nil))}
		const detail = "table files-prod in 123456789012 said no"
		for _, tc := range []struct {
			name string
			op   memtest.Op
			err  error
			req  events.APIGatewayV2HTTPRequest
			want int
		}{
			{"Throttled", memtest.PutDocument, docblob.Unavailable,
				event("POST", "owner=f&name=a", []byte("a"), false, nil), http.StatusServiceUnavailable},
			{"RoleLacksPermission", memtest.WriteBlob, docblob.PermissionDenied,
				event("POST", "owner=f&name=a", []byte("a"), false, nil), http.StatusInternalServerError},
			{"Unclassified", memtest.GetDocument, errors.New(detail),
				event("GET", "owner=f&name=a", nil, false, nil), http.StatusInternalServerError},
		} {
			t.Run(tc.name, func(t *testing.T) {
				logged.Reset()
				memtest.FailNext(store, tc.op, tc.err)
				defer memtest.ClearFaults(store)
				resp, _ := call(t, h, tc.req)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, resp.Body)
				}
				if strings.Contains(resp.Body, detail) || strings.Contains(resp.Body, "docblob") {
					t.Errorf("body %q leaks the error", resp.Body)
				}
				if tc.want >= 500 && !strings.Contains(logged.String(), "request failed") {
					t.Errorf("a server-side failure was not logged: %q", logged.String())
				}
			})
		}
		// An Unavailable write may still land, so its payload stays for
		// Sweep, as in production; no document points to nothing.
		memtest.AssertNoBrokenReferences(t, store)
	})
}

// servers provisions a table and a bucket of their own on MinIO and
// DynamoDB Local (removed when the test ends) and returns the store URL the
// function would be configured with. It skips the test, naming the command
// to run, when the servers are not configured.
func servers(t *testing.T) (storeURL string, opts *s3dynamo.Options) {
	t.Helper()
	srv := testservers.Endpoints(t)
	name := fmt.Sprintf("docblob-lambda-%d", time.Now().UnixNano())
	opts = &s3dynamo.Options{
		Table: name, Bucket: name,
		S3Endpoint: srv.S3Endpoint, DynamoDBEndpoint: srv.DynamoDBEndpoint, UsePathStyle: true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s3dynamo.CreateTable(ctx, opts); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if err := s3dynamo.CreateBucket(ctx, opts); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s3dynamo.DeleteTableAndBucket(ctx, opts); err != nil {
			t.Logf("tearing down: %v", err)
		}
	})
	return s3dynamoURL(srv, name, name), opts
}

// s3dynamoURL is the DOCBLOB_STORE of a function using table and bucket on
// the test servers; on AWS it would be s3dynamo://TABLE?bucket=BUCKET.
func s3dynamoURL(srv testservers.Config, table, bucket string) string {
	q := url.Values{
		"bucket": {bucket}, "region": {srv.Region},
		"s3_endpoint": {srv.S3Endpoint}, "dynamodb_endpoint": {srv.DynamoDBEndpoint}, "path_style": {"true"},
	}
	return "s3dynamo://" + table + "?" + q.Encode()
}

// TestHandlerS3Dynamo runs the handler on MinIO and DynamoDB Local, opened
// from its URL as the function's init does.
func TestHandlerS3Dynamo(t *testing.T) {
	storeURL, _ := servers(t)
	h, err := openHandler(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer h.store.Close()
	exercise(t, h, loopbackClient())

	t.Run("MissingTable", func(t *testing.T) {
		// A function configured with a table that does not exist answers
		// 500, not 404 ("no such file"), and does not name the table.
		srv := testservers.Endpoints(t)
		u, _ := url.Parse(storeURL)
		missing := fmt.Sprintf("docblob-lambda-missing-%d", time.Now().UnixNano())
		store, err := docblob.Open(context.Background(), s3dynamoURL(srv, missing, u.Query().Get("bucket")))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		var logged bytes.Buffer
		h := &handler{store: store, log: slog.New(slog.NewTextHandler(&logged, nil))}
		for _, req := range []events.APIGatewayV2HTTPRequest{
			event("GET", "owner=alice&name=photos/cat.png", nil, false, nil),
			event("POST", "owner=alice&name=new.txt", []byte("x"), false, nil),
		} {
			resp, _ := call(t, h, req)
			if resp.StatusCode != http.StatusInternalServerError || strings.Contains(resp.Body, missing) {
				t.Errorf("%s: status %d, body %s; want 500 without the table's name", req.RequestContext.HTTP.Method, resp.StatusCode, resp.Body)
			}
		}
		if !strings.Contains(logged.String(), "ResourceNotFoundException") {
			t.Errorf("the log does not show DynamoDB's error: %q", logged.String())
		}
	})
}

// coldStoreEnv passes the store URL to the fresh process in which
// TestColdStart measures a cold start.
const coldStoreEnv = "DOCBLOB_LAMBDA_COLD_STORE"

// coldRuns is how many fresh processes TestColdStart measures, and
// warmRuns how many warm requests of each kind each of them times.
const coldRuns, warmRuns = 5, 5

// coldFigures are one fresh process's timings, in milliseconds; the warm
// ones are medians of warmRuns requests.
type coldFigures struct {
	Open, Claim, FirstPost, FirstGet, WarmPost, WarmGet float64
}

func (f coldFigures) String() string {
	return fmt.Sprintf("init %5.1f ms (Open %5.1f, ClaimNamespace %5.1f) | first POST %5.1f, GET %5.1f | warm POST %5.1f, GET %5.1f",
		f.Open+f.Claim, f.Open, f.Claim, f.FirstPost, f.FirstGet, f.WarmPost, f.WarmGet)
}

// TestColdStart measures what a cold start of the function costs on MinIO
// and DynamoDB Local, calling the handler in-process: the init (opening the
// store from its URL and claiming its namespace, as main does before
// lambda.Start), the first request (an upload of 256 KiB: the first S3 and
// DynamoDB writes, then signing), the first link request (a DynamoDB read,
// then signing), and the same requests warm.
//
// A real cold start is a new process talking to services that are already
// warm. So the test first warms the servers (DynamoDB Local is a JVM whose
// first requests are slow) and claims the namespace (as the function's
// first cold start ever did), then runs each measurement in a fresh
// process: this test binary again, running only measureColdStart. The
// process's own start and its packages' init are not included.
//
//	scripts/servers.sh run -- go test -run Cold -v ./examples/lambda/
//
// The figures are logged, not asserted (they depend on the machine and its
// load); the test fails if any request answers wrongly.
func TestColdStart(t *testing.T) {
	if storeURL := os.Getenv(coldStoreEnv); storeURL != "" {
		measureColdStart(t, storeURL)
		return
	}
	storeURL, opts := servers(t)
	ctx := context.Background()
	warm, err := openHandler(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		name := fmt.Sprintf("warm-up-%d.png", i)
		fr := mustCall(t, warm, event("POST", "owner=warm-up&name="+name, png(256<<10), true, nil), http.StatusCreated)
		mustCall(t, warm, event("GET", "owner=warm-up&name="+name, nil, false, nil), http.StatusOK)
		download(t, loopbackClient(), fr.URL)
	}
	warm.store.Close()

	t.Logf("cold starts on MinIO + DynamoDB Local (table %s), each in a fresh process:", opts.Table)
	var runs []coldFigures
	for i := range coldRuns {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestColdStart$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), coldStoreEnv+"="+storeURL)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		_, js, ok := strings.Cut(string(out), "cold figures: ")
		var f coldFigures
		if !ok || json.NewDecoder(strings.NewReader(js)).Decode(&f) != nil {
			t.Fatalf("run %d printed no figures:\n%s", i+1, out)
		}
		t.Logf("  run %d:  %v", i+1, f)
		runs = append(runs, f)
	}
	med := func(field func(coldFigures) float64) float64 {
		var v []float64
		for _, f := range runs {
			v = append(v, field(f))
		}
		return median(v)
	}
	t.Logf("  median: %v", coldFigures{
		Open:      med(func(f coldFigures) float64 { return f.Open }),
		Claim:     med(func(f coldFigures) float64 { return f.Claim }),
		FirstPost: med(func(f coldFigures) float64 { return f.FirstPost }),
		FirstGet:  med(func(f coldFigures) float64 { return f.FirstGet }),
		WarmPost:  med(func(f coldFigures) float64 { return f.WarmPost }),
		WarmGet:   med(func(f coldFigures) float64 { return f.WarmGet }),
	})
}

// measureColdStart is TestColdStart in its fresh process.
func measureColdStart(t *testing.T, storeURL string) {
	ctx := context.Background()
	data := png(256 << 10)
	post := func(name string) events.APIGatewayV2HTTPRequest {
		return event("POST", "owner=cold&name="+name, data, true, map[string]string{"Content-Type": "image/png"})
	}
	get := func(name string) events.APIGatewayV2HTTPRequest {
		return event("GET", "owner=cold&name="+name, nil, false, nil)
	}
	timed := func(f func()) float64 {
		start := time.Now()
		f()
		return ms(time.Since(start))
	}

	var f coldFigures
	var store *docblob.Store
	var err error
	f.Open = timed(func() {
		if store, err = docblob.Open(ctx, storeURL); err != nil {
			t.Fatal(err)
		}
	})
	defer store.Close()
	f.Claim = timed(func() {
		if err := store.ClaimNamespace(ctx); err != nil {
			t.Fatal(err)
		}
	})
	h := newHandler(store)
	var links []fileResponse
	f.FirstPost = timed(func() { links = append(links, mustCall(t, h, post("first.png"), http.StatusCreated)) })
	f.FirstGet = timed(func() { links = append(links, mustCall(t, h, get("first.png"), http.StatusOK)) })
	var posts, gets []float64
	for i := range warmRuns {
		name := fmt.Sprintf("warm-%d.png", i)
		posts = append(posts, timed(func() { links = append(links, mustCall(t, h, post(name), http.StatusCreated)) }))
		gets = append(gets, timed(func() { links = append(links, mustCall(t, h, get(name), http.StatusOK)) }))
	}
	f.WarmPost, f.WarmGet = median(posts), median(gets)

	for _, fr := range links {
		if fr.Checksum != crc32cOf(data) {
			t.Errorf("response %+v, want checksum %s", fr, crc32cOf(data))
		}
		if got, _ := download(t, loopbackClient(), fr.URL); !bytes.Equal(got, data) {
			t.Errorf("the link to %s serves other bytes", fr.Name)
		}
	}
	js, _ := json.Marshal(f)
	t.Logf("cold figures: %s", js)
}

func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

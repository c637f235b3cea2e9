package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// BenchmarkOverhead measures the client side alone: both contenders talk
// to an in-process fake of S3 and DynamoDB that answers at once, so the
// difference is docblob's own CPU and allocations (and the SDK code paths
// it chooses), with no server or network noise. Besides wall time it
// reports cpu-ns/op, the process's CPU time per operation, which other
// work on the machine disturbs less. No external servers are needed:
//
//	go test -run '^$' -bench Overhead -benchmem ./cmd/docblob-bench
func BenchmarkOverhead(b *testing.B) {
	for _, size := range []int64{1 << 10, 100 << 10, 10 << 20} {
		payload := prngBytes(uint64(size), size)
		srv := httptest.NewServer(newFakeAWS(payload))
		cs := fakeContenders(b, srv.URL)
		for _, op := range opNames {
			for _, c := range cs {
				b.Run(fmt.Sprintf("%s/%s/%s", op, fmtSize(size), c.name()), func(b *testing.B) {
					benchOp(b, c, op, payload)
				})
			}
		}
		srv.Close()
	}
}

func benchOp(b *testing.B, c contender, op string, payload []byte) {
	ctx := context.Background()
	it := &item{sk: "doc"}
	if op == "open" {
		if err := c.get(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		var err error
		switch op {
		case "put":
			err = c.put(ctx, &item{sk: newID()}, payload)
		case "get":
			err = c.get(ctx, &item{sk: "doc"})
		case "open":
			_, err = c.open(ctx, it)
		case "delete":
			err = c.del(ctx, &item{sk: "doc"})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	// The process's CPU time per operation, client and fake alike: on a
	// machine shared with other work, wall time also counts the time
	// spent waiting for a CPU, which this does not.
	if cpu1, ok := processCPU(); ok && cpuOK && b.N > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func fakeContenders(b *testing.B, endpoint string) []contender {
	// As in the benchmark: the default configuration (its checksum
	// settings matter), with static credentials and a plain client.
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")))
	if err != nil {
		b.Fatal(err)
	}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	fx := fixture{table: "t", bucket: "b"}
	sv := servers{s3Endpoint: endpoint, ddbEndpoint: endpoint}
	drv, err := s3dynamo.New(sv.driverOptions(fx, &cfg, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	store, err := docblob.NewStore(drv, &docblob.Options{OnCleanupError: func(err error) { b.Error(err) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctl := &sdkContender{label: "sdk-control", table: fx.table, bucket: fx.bucket, pk: "sdk-control"}
	store.As(&ctl.s3)
	store.As(&ctl.ddb)
	manual := newManualContender("sdk-manual", "sdk-manual", cfg, sv, fx)
	return []contender{&docblobContender{label: "docblob", store: store, pk: "docblob"}, manual, ctl}
}

// fakeAWS answers the S3 and DynamoDB requests of the four operations at
// once: every object holds payload, every item describes it.
type fakeAWS struct {
	payload []byte
	crc32c  []byte // docblob's default checksum of payload
	crc32   string // base64, as x-amz-checksum-crc32
}

func newFakeAWS(payload []byte) *fakeAWS {
	c := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(payload))
	cc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return &fakeAWS{payload: payload, crc32c: cc, crc32: base64.StdEncoding.EncodeToString(c)}
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		body, _ := io.ReadAll(r.Body)
		f.dynamo(w, body, target[strings.LastIndexByte(target, '.')+1:])
		return
	}
	// As S3: a PUT answers the full-object CRC32C of what it received.
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	io.Copy(h, r.Body)
	if r.Method == http.MethodPut {
		w.Header().Set("X-Amz-Checksum-Crc32c", base64.StdEncoding.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	q := r.URL.Query()
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/.docblob-owner") {
		// The owner marker of docblob's payload namespace (t.docblob/),
		// naming this store's collection.
		fmt.Fprint(w, "docblob namespace owner\ncollection: dynamodb:us-east-1:t\n")
		return
	}

	w.Header().Set("ETag", `"etag"`)
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPost:
		fmt.Fprint(w, `<CompleteMultipartUploadResult><ETag>"etag-2"</ETag></CompleteMultipartUploadResult>`)
	case r.Method == http.MethodGet:
		w.Header().Set("Content-Length", strconv.Itoa(len(f.payload)))
		if r.Header.Get("X-Amz-Checksum-Mode") == "ENABLED" {
			// As S3 and MinIO: the full-object CRC32C that docblob and
			// the control send, single-part or multipart.
			w.Header().Set("X-Amz-Checksum-Crc32c", base64.StdEncoding.EncodeToString(f.crc32c))
			w.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
			if strings.Contains(r.URL.Path, "/sdk-manual/") {
				// The manual way's objects carry the SDK's default CRC32.
				w.Header().Del("X-Amz-Checksum-Crc32c")
				w.Header().Set("X-Amz-Checksum-Crc32", f.crc32)
			}
		}
		w.Write(f.payload)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fakeAWS) dynamo(w http.ResponseWriter, body []byte, op string) {
	var req struct {
		Key struct {
			PK struct{ S string } `json:"pk"`
		}
	}
	json.Unmarshal(body, &req)
	pk := req.Key.PK.S
	// As DynamoDB: the CRC32 of the body in X-Amz-Crc32, which the SDK
	// checks as it closes the body (and, without it, logs a warning on
	// every call, which would be measured too).
	var buf bytes.Buffer
	defer func() {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(buf.Bytes())), 10))
		w.Write(buf.Bytes())
	}()
	if pk == "sdk-manual" { // the manual way's flat item
		if op == "GetItem" {
			json.NewEncoder(&buf).Encode(map[string]any{"Item": map[string]any{
				"pk": map[string]string{"S": pk}, "sk": map[string]string{"S": "doc"},
				"title":        map[string]string{"S": "benchmark document"},
				"s3key":        map[string]string{"S": pk + "/doc/payload.bin"},
				"size":         map[string]string{"N": strconv.Itoa(len(f.payload))},
				"content_type": map[string]string{"S": "application/octet-stream"},
			}})
			return
		}
		buf.WriteString("{}")
		return
	}
	item := map[string]any{
		"pk": map[string]string{"S": pk}, "sk": map[string]string{"S": "doc"},
		"title":            map[string]string{"S": "benchmark document"},
		"DocstoreRevision": map[string]string{"S": "0123456789abcdefghijklmnop"},
		"file": map[string]any{"M": map[string]any{
			"docblob":      map[string]string{"N": "1"},
			"bucket":       map[string]string{"S": "b"},
			"key":          map[string]string{"S": "t.docblob/" + pk + "/doc/file/0123456789abcdefghijklmnop"},
			"size":         map[string]string{"N": strconv.Itoa(len(f.payload))},
			"content_type": map[string]string{"S": "application/octet-stream"},
			"crc32c":       map[string]string{"S": hex.EncodeToString(f.crc32c)},
			"etag":         map[string]string{"S": `"etag"`},
			"name":         map[string]string{"S": "payload.bin"},
			"created":      map[string]string{"S": time.Now().UTC().Format(time.RFC3339Nano)},
		}},
	}
	switch op {
	case "GetItem":
		json.NewEncoder(&buf).Encode(map[string]any{"Item": item})
	case "DeleteItem":
		json.NewEncoder(&buf).Encode(map[string]any{"Attributes": item})
	default:
		buf.WriteString("{}")
	}
}

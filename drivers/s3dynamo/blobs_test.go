package s3dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func readBlob(ctx context.Context, t *testing.T, d *Driver, key string, off, n int64) []byte {
	t.Helper()
	r, err := d.OpenBlob(ctx, key, off, n, nil)
	if err != nil {
		t.Fatalf("OpenBlob(%q, %d, %d): %v", key, off, n, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func TestBlobRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	data := []byte("hello, blob store; ranged reads work")
	attrs, err := f.drv.WriteBlob(ctx, "docs/a.txt", bytes.NewReader(data),
		&driver.WriteOptions{ContentType: "text/plain; charset=utf-8", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sha(data)})
	if err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	if f.drv.Info().Container != f.opts.Bucket || attrs.ETag == "" {
		t.Errorf("attrs = %+v", attrs)
	}
	for _, c := range []struct{ off, n int64 }{{0, -1}, {0, 5}, {7, -1}, {7, 4}, {int64(len(data)) - 1, 1}, {int64(len(data)) - 1, -1}} {
		want := data[c.off:]
		if c.n >= 0 {
			want = want[:c.n]
		}
		if got := readBlob(ctx, t, f.drv, "docs/a.txt", c.off, c.n); !bytes.Equal(got, want) {
			t.Errorf("range %d+%d = %q, want %q", c.off, c.n, got, want)
		}
	}
	head, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(f.opts.Bucket), Key: aws.String("docs/a.txt"), ChecksumMode: s3types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(head.ContentType); ct != "text/plain; charset=utf-8" {
		t.Errorf("stored content type %q", ct)
	}
	if got, want := aws.ToString(head.ChecksumSHA256), base64.StdEncoding.EncodeToString(sha(data)); got != want {
		t.Errorf("stored SHA-256 checksum %q, want %q", got, want)
	}
	if got := aws.ToString(head.ETag); got != attrs.ETag {
		t.Errorf("ETag %q, HeadObject says %q", attrs.ETag, got)
	}

	if err := f.drv.DeleteBlob(ctx, "docs/a.txt"); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	_, err = f.drv.OpenBlob(ctx, "docs/a.txt", 0, -1, nil)
	wantCode(t, f.drv, err, driver.NotFound)
	if err := f.drv.DeleteBlob(ctx, "docs/a.txt"); err != nil {
		t.Errorf("DeleteBlob of a missing payload: %v", err)
	}
}

func TestEmptyBlob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.drv.WriteBlob(ctx, "empty", strings.NewReader(""), &driver.WriteOptions{ContentType: "application/octet-stream", Size: 0, Checksum: driver.SHA256, Sum: sha(nil)}); err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	page, err := f.drv.ListBlobs(ctx, "", "")
	if err != nil || len(page.Blobs) != 1 || page.Blobs[0].Size != 0 {
		t.Fatalf("ListBlobs = %+v, %v", page, err)
	}
}

// A payload the size of several parts goes up as a multipart upload, each
// part with its SHA-256 checksum.
func TestMultipartBlob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	ctx := testContext(t)
	data := payload(2*MinPartSize+12345, 1)
	// A streamed payload (a reader that cannot be read twice) of several
	// parts goes up as a multipart upload. Its whole SHA-256 may be known,
	// but a multipart upload cannot use it as the object's checksum (S3
	// checksums each part).
	attrs, err := f.drv.WriteBlob(ctx, "big", io.MultiReader(bytes.NewReader(data)), &driver.WriteOptions{ContentType: "application/octet-stream", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sha(data)})
	if err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	if !strings.Contains(attrs.ETag, "-3") {
		t.Errorf("ETag %q is not that of a 3-part upload", attrs.ETag)
	}
	if n := f.wire.count("s3", http.MethodPut); n != 3 {
		t.Errorf("%d PUT requests (UploadPart), want 3", n)
	}
	got := readBlob(ctx, t, f.drv, "big", 0, -1)
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	if got := readBlob(ctx, t, f.drv, "big", MinPartSize-2, 4); !bytes.Equal(got, data[MinPartSize-2:MinPartSize+2]) {
		t.Errorf("range across a part boundary differs")
	}
}

// abortedUpload reports whether reqs created a multipart upload and then
// aborted it.
func abortedUpload(reqs []counted) (created, aborted bool) {
	for _, r := range reqs {
		_, uploads := r.query["uploads"]
		_, id := r.query["uploadId"]
		created = created || (r.method == http.MethodPost && uploads)
		aborted = aborted || (r.method == http.MethodDelete && id)
	}
	return created, aborted
}

var errBoom = errors.New("boom: the payload reader failed")

// failingReader returns n bytes of data, then err.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

// A reader that fails mid-upload leaves nothing under the key, nor any
// unfinished multipart upload, and its error is what WriteBlob returns.
func TestWriteBlobFailingReader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 2 })
	ctx := testContext(t)
	for _, c := range []struct {
		name string
		size int
	}{
		{"small", 100},
		{"multipart", 2*MinPartSize + 100},
	} {
		data := payload(c.size+1000, 2)
		f.wire.reset()
		_, err := f.drv.WriteBlob(ctx, "fail-"+c.name, &failingReader{data: data, n: c.size, err: errBoom}, &driver.WriteOptions{ContentType: "application/pdf", Size: -1})
		sent := f.wire.requests()
		if !errors.Is(err, errBoom) {
			t.Errorf("%s: WriteBlob error %v, want the reader's", c.name, err)
		}
		if keys := f.rawKeys(ctx); len(keys) != 0 {
			t.Errorf("%s: objects left behind: %q", c.name, keys)
		}
		if ups := f.pendingUploads(ctx); len(ups) != 0 {
			t.Errorf("%s: unfinished multipart uploads left behind: %q", c.name, ups)
		}
		if c.name == "small" && len(sent) != 0 {
			t.Errorf("small: %d requests sent for a payload that failed before its end", len(sent))
		}
		if c.name == "multipart" {
			if created, aborted := abortedUpload(sent); !created || !aborted {
				t.Errorf("multipart: upload created %v, aborted %v; want both", created, aborted)
			}
		}
	}
}

// Canceling the context mid-upload aborts the upload, even though the
// abort request cannot use the canceled context.
func TestWriteBlobCanceled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize; o.UploadConcurrency = 1 })
	for _, c := range []struct {
		name string
		at   int
	}{
		{"small", 100},
		// The upload is created once two parts have been read.
		{"multipart", 2*MinPartSize + MinPartSize/2},
	} {
		ctx, cancel := context.WithCancel(testContext(t))
		data := payload(3*MinPartSize, 3)
		f.wire.reset()
		_, err := f.drv.WriteBlob(ctx, "cancel-"+c.name, &cancelAt{r: bytes.NewReader(data), left: c.at, cancel: cancel}, &driver.WriteOptions{ContentType: "application/pdf", Size: -1})
		cancel()
		if c.name == "multipart" {
			if created, aborted := abortedUpload(f.wire.requests()); !created || !aborted {
				t.Errorf("multipart: upload created %v, aborted %v; want both", created, aborted)
			}
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: WriteBlob error %v, want context.Canceled", c.name, err)
		}
		bg := testContext(t)
		if keys := f.rawKeys(bg); len(keys) != 0 {
			t.Errorf("%s: objects left behind: %q", c.name, keys)
		}
		if ups := f.pendingUploads(bg); len(ups) != 0 {
			t.Errorf("%s: unfinished multipart uploads left behind: %q", c.name, ups)
		}
	}
}

// cancelAt reads from r and calls cancel once left bytes have been read.
type cancelAt struct {
	r      io.Reader
	left   int
	cancel func()
}

func (c *cancelAt) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.cancel()
	} else if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

// S3 verifies the SHA-256 sent with a single-request upload.
func TestWriteBlobChecksumMismatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	data := []byte("the real content")
	_, err := f.drv.WriteBlob(ctx, "bad", bytes.NewReader(data), &driver.WriteOptions{ContentType: "text/plain", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sha([]byte("other content"))})
	if err == nil {
		t.Fatal("WriteBlob with a wrong SHA-256 succeeded")
	}
	t.Logf("error: %v (code %v)", err, f.drv.ErrorCode(err))
	wantCode(t, f.drv, err, driver.Corrupt)
	if keys := f.rawKeys(ctx); len(keys) != 0 {
		t.Errorf("objects left behind: %q", keys)
	}
}

func TestListBlobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.drv.listPageSize = 2
	ctx := testContext(t)
	var want []string
	for _, k := range []string{"x/1", "x/2", "x/3", "x/4", "x/5", "y/1", "y/2"} {
		if _, err := f.drv.WriteBlob(ctx, k, strings.NewReader(k+"!"), &driver.WriteOptions{ContentType: "text/plain", Size: -1}); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(k, "x/") {
			want = append(want, k)
		}
	}
	var got []string
	tok := ""
	for pages := 0; ; pages++ {
		page, err := f.drv.ListBlobs(ctx, "x/", tok)
		if err != nil {
			t.Fatalf("ListBlobs: %v", err)
		}
		if len(page.Blobs) > 2 {
			t.Errorf("page of %d", len(page.Blobs))
		}
		for _, b := range page.Blobs {
			got = append(got, b.Key)
			if b.Size != 4 || b.ModTime.IsZero() {
				t.Errorf("blob %+v", b)
			}
		}
		if tok = page.NextPageToken; tok == "" || pages > 10 {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
	_, err := f.drv.ListBlobs(ctx, "", "not base64!")
	wantCode(t, f.drv, err, driver.InvalidArgument)
}

// Keys that gocloud.dev escapes are stored, listed, read and deleted
// consistently, although DeleteBlob goes around gocloud.dev.
func TestEscapedKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	keys := []string{"ctl\x01key", "a/../b", "__0x41__", "x__0x2f__y/../z", "plain/ünï/κey"}
	for _, k := range keys {
		if _, err := f.drv.WriteBlob(ctx, k, strings.NewReader("data"), &driver.WriteOptions{ContentType: "text/plain", Size: -1}); err != nil {
			t.Fatalf("WriteBlob(%q): %v", k, err)
		}
		raw := f.rawKeys(ctx)
		if len(raw) != 1 || raw[0] != escapeKey(k) {
			t.Errorf("key %q stored as %q, escapeKey says %q", k, raw, escapeKey(k))
		}
		if got := readBlob(ctx, t, f.drv, k, 0, -1); string(got) != "data" {
			t.Errorf("read %q: %q", k, got)
		}
		page, err := f.drv.ListBlobs(ctx, "", "")
		if err != nil || len(page.Blobs) != 1 || page.Blobs[0].Key != k {
			t.Errorf("ListBlobs = %+v, %v; want key %q", page, err, k)
		}
		if err := f.drv.DeleteBlob(ctx, k); err != nil {
			t.Fatalf("DeleteBlob(%q): %v", k, err)
		}
		if raw := f.rawKeys(ctx); len(raw) != 0 {
			t.Errorf("DeleteBlob(%q) left %q", k, raw)
		}
	}
}

func TestSignedURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	data := []byte("%PDF-1.4 not really")
	if _, err := f.drv.WriteBlob(ctx, "inv.pdf", bytes.NewReader(data), &driver.WriteOptions{ContentType: "application/pdf", Size: -1}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: f.wire}

	u, err := f.drv.SignedURL(ctx, "inv.pdf", &driver.SignedURLOptions{Method: http.MethodGet, Expiry: 60e9,
		ContentType: "application/x-download", ContentDisposition: `attachment; filename="march.pdf"`})
	if err != nil {
		t.Fatalf("SignedURL GET: %v", err)
	}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET signed URL: %s %q", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-download" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="march.pdf"` {
		t.Errorf("Content-Disposition %q", cd)
	}

	u, err = f.drv.SignedURL(ctx, "upload.png", &driver.SignedURLOptions{Method: http.MethodPut, Expiry: 60e9, ContentType: "image/png", Size: -1})
	if err != nil {
		t.Fatalf("SignedURL PUT: %v", err)
	}
	put := func(ct string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, strings.NewReader("png bytes"))
		req.Header.Set("Content-Type", ct)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put("text/plain"); code != http.StatusForbidden {
		t.Errorf("PUT with another content type: status %d, want 403", code)
	}
	if code := put("image/png"); code != http.StatusOK {
		t.Fatalf("PUT with the signed content type: status %d", code)
	}
	if got := readBlob(ctx, t, f.drv, "upload.png", 0, -1); string(got) != "png bytes" {
		t.Errorf("uploaded %q", got)
	}

	for _, bad := range []*driver.SignedURLOptions{
		{Method: http.MethodGet}, {Method: http.MethodDelete, Expiry: 60e9}, {Method: http.MethodGet, Expiry: 8 * 24 * 3600e9},
	} {
		_, err := f.drv.SignedURL(ctx, "inv.pdf", bad)
		wantCode(t, f.drv, err, driver.InvalidArgument)
	}
}

// The encryption headers go out with every upload. (MinIO without a KMS
// cannot encrypt, so only the request is checked.)
func TestServerSideEncryptionHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.ServerSideEncryption = SSEKMS; o.KMSKeyID = "alias/docblob-test" })
	ctx := testContext(t)
	_, err := f.drv.WriteBlob(ctx, "enc", strings.NewReader("secret"), &driver.WriteOptions{ContentType: "text/plain", Size: -1})
	t.Logf("WriteBlob with SSE-KMS on MinIO without KMS: %v", err)
	var seen bool
	for _, r := range f.wire.requests() {
		if r.service == "s3" && r.method == http.MethodPut {
			seen = true
			if r.header.Get("X-Amz-Server-Side-Encryption") != SSEKMS || r.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "alias/docblob-test" {
				t.Errorf("PUT headers lack SSE-KMS: %v", r.header)
			}
		}
	}
	if !seen {
		t.Error("no PUT request seen")
	}
}

// Without a SHA-256 given in advance, the SDK computes a CRC32C per
// request and S3 verifies and keeps it.
func TestChecksumComputedWhenUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize })
	ctx := testContext(t)
	for _, c := range []struct {
		name string
		size int
	}{
		{"single", 100},
		{"multipart", MinPartSize + 100},
	} {
		data := payload(c.size, 7)
		f.wire.reset()
		if _, err := f.drv.WriteBlob(ctx, c.name, io.MultiReader(bytes.NewReader(data)), &driver.WriteOptions{ContentType: "text/plain", Size: -1}); err != nil {
			t.Fatal(err)
		}
		puts := 0
		for _, r := range f.wire.requests() {
			if r.method != http.MethodPut {
				continue
			}
			puts++
			if r.header.Get("X-Amz-Checksum-Crc32c") == "" && !strings.Contains(strings.ToLower(r.header.Get("X-Amz-Trailer")), "x-amz-checksum-crc32c") {
				t.Errorf("%s: a PUT carried no CRC32C checksum", c.name)
			}
			// The CRC32C protects the body; the SDK does not hash it a
			// second time for the signature.
			if got := r.header.Get("X-Amz-Content-Sha256"); got != unsignedPayload {
				t.Errorf("%s: payload hash %q, want %s", c.name, got, unsignedPayload)
			}
		}
		if puts == 0 {
			t.Errorf("%s: no PUT seen", c.name)
		}
		if c.name != "single" {
			continue
		}
		head, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.opts.Bucket), Key: aws.String(c.name), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		sum := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
		if got, want := aws.ToString(head.ChecksumCRC32C), base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum)); got != want {
			t.Errorf("stored CRC32C %q, want %q", got, want)
		}
	}
}

// A payload of known size and SHA-256 from a source that can be read twice
// goes up with one PutObject that carries the whole payload's checksum,
// even when it is larger than a part.
func TestSinglePutWithChecksum(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PartSize = MinPartSize })
	ctx := testContext(t)
	data := payload(MinPartSize+777, 2)
	if _, err := f.drv.WriteBlob(ctx, "one", bytes.NewReader(data), &driver.WriteOptions{ContentType: "application/octet-stream", Size: int64(len(data)), Checksum: driver.SHA256, Sum: sha(data)}); err != nil {
		t.Fatalf("WriteBlob: %v", err)
	}
	reqs := f.wire.requests()
	if len(reqs) != 1 || reqs[0].method != http.MethodPut {
		t.Fatalf("%d requests, want one PUT", len(reqs))
	}
	if got := reqs[0].header.Get("X-Amz-Checksum-Sha256"); got != base64.StdEncoding.EncodeToString(sha(data)) {
		t.Errorf("checksum header %q, want the payload's SHA-256", got)
	}
	// The signature covers the payload through the SHA-256 already known,
	// without the SDK hashing the body again.
	if got := reqs[0].header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sha(data)) {
		t.Errorf("payload hash %q, want the payload's SHA-256", got)
	}
	if got := readBlob(ctx, t, f.drv, "one", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	// A wrong checksum is rejected by the server and leaves nothing.
	bad := sha([]byte("other"))
	_, err := f.drv.WriteBlob(ctx, "bad", bytes.NewReader(data), &driver.WriteOptions{Size: int64(len(data)), Checksum: driver.SHA256, Sum: bad})
	if err == nil {
		t.Fatal("a payload with a wrong checksum was stored")
	}
	if _, err := f.drv.OpenBlob(ctx, "bad", 0, -1, nil); errorCode(err) != driver.NotFound {
		t.Errorf("after a rejected upload: %v, want NotFound", err)
	}
}

package s3dynamo

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

func TestFullObjectSHA256(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	for _, c := range []struct {
		name     string
		checksum *string
		typ      s3types.ChecksumType
		want     []byte
	}{
		{"full object", aws.String(b64), s3types.ChecksumTypeFullObject, sum[:]},
		{"no type", aws.String(b64), "", sum[:]},
		{"none", nil, "", nil},
		{"composite type", aws.String(b64), s3types.ChecksumTypeComposite, nil},
		{"multipart composite", aws.String(b64 + "-3"), "", nil},
		{"multipart composite, full-object type", aws.String(b64 + "-3"), s3types.ChecksumTypeFullObject, nil},
		{"short", aws.String(base64.StdEncoding.EncodeToString(sum[:31])), "", nil},
		{"long", aws.String(base64.StdEncoding.EncodeToString(append(sum[:], 0))), "", nil},
		{"base64url", aws.String(base64.URLEncoding.EncodeToString(sum[:])), "", nil},
		{"unpadded", aws.String(strings.TrimRight(b64, "=")), "", nil},
		{"empty", aws.String(""), "", nil},
	} {
		got := (&s3Checksums{sha256: c.checksum, typ: c.typ}).fullObject(driver.SHA256)
		if !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("%s: %x, want %x", c.name, got, c.want)
		}
	}
}

// TestStatBlob checks StatBlob against S3: size, time and content type,
// a SHA-256 exactly when S3 verified a full-object one, and NotFound for
// a missing payload (a 404 without an error body).
func TestStatBlob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	small := bytes.Repeat([]byte("small payload "), 100)
	large := bytes.Repeat([]byte("a payload of several parts "), (6<<20)/27+1) // over PartSize
	smallSum, largeSum := sha256.Sum256(small), sha256.Sum256(large)
	cases := []struct {
		name   string
		data   []byte
		stream bool
		opts   *driver.WriteOptions
		want   driver.Checksum
	}{
		// One PutObject carrying x-amz-checksum-sha256: S3 verified it.
		{"known SHA-256", small, false, &driver.WriteOptions{Size: int64(len(small)), Checksum: driver.SHA256, Sum: smallSum[:], ContentType: "text/plain"}, shaChecksum(smallSum[:])},
		// Streamed, within one part, with the SHA-256 given: one
		// PutObject with it too.
		{"known SHA-256, streamed", small, true, &driver.WriteOptions{Size: int64(len(small)), Checksum: driver.SHA256, Sum: smallSum[:]}, shaChecksum(smallSum[:])},
		// The default, a CRC32C, which the driver computed and S3
		// verified.
		{"CRC32C", small, true, &driver.WriteOptions{Size: -1}, driver.Checksum{Algorithm: driver.CRC32C, Sum: driver.CRC32C.Sum(small)}},
		{"CRC64NVME", small, true, &driver.WriteOptions{Size: -1, Checksum: driver.CRC64NVME}, driver.Checksum{Algorithm: driver.CRC64NVME, Sum: driver.CRC64NVME.Sum(small)}},
		// A streamed SHA-256 within one part: the driver computes it
		// from the part buffer and sends it.
		{"streamed SHA-256", small, true, &driver.WriteOptions{Size: -1, Checksum: driver.SHA256}, shaChecksum(smallSum[:])},
		// A multipart upload has a full-object CRC, and a composite
		// checksum at best with SHA-256.
		{"multipart, CRC32C", large, true, &driver.WriteOptions{Size: -1}, driver.Checksum{Algorithm: driver.CRC32C, Sum: driver.CRC32C.Sum(large)}},
		{"multipart, CRC64NVME", large, true, &driver.WriteOptions{Size: -1, Checksum: driver.CRC64NVME}, driver.Checksum{Algorithm: driver.CRC64NVME, Sum: driver.CRC64NVME.Sum(large)}},
		{"multipart, known SHA-256", large, true, &driver.WriteOptions{Size: int64(len(large)), Checksum: driver.SHA256, Sum: largeSum[:]}, driver.Checksum{}},
		{"multipart, SHA-256", large, true, &driver.WriteOptions{Size: -1, Checksum: driver.SHA256}, driver.Checksum{}},
	}
	for i, c := range cases {
		key := "stat/" + strings.ReplaceAll(c.name, " ", "-")
		var r io.Reader = bytes.NewReader(c.data)
		if c.stream {
			r = io.MultiReader(r)
		}
		before := time.Now().Add(-2 * time.Second) // S3 keeps whole seconds
		if _, err := f.drv.WriteBlob(ctx, key, r, c.opts); err != nil {
			t.Fatalf("%s: WriteBlob: %v", c.name, err)
		}
		f.wire.reset()
		info, err := f.drv.StatBlob(ctx, key)
		if err != nil {
			t.Fatalf("%s: StatBlob: %v", c.name, err)
		}
		if n := f.wire.count("s3", ""); n != 1 || f.wire.count("s3", http.MethodHead) != 1 {
			t.Errorf("%s: %d S3 requests, want one HEAD", c.name, n)
		}
		if info.Key != key || info.Size != int64(len(c.data)) || info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(2*time.Second)) {
			t.Errorf("%s: StatBlob = key %q, size %d, time %v", c.name, info.Key, info.Size, info.ModTime)
		}
		if info.Checksum.Algorithm != c.want.Algorithm || !bytes.Equal(info.Checksum.Sum, c.want.Sum) {
			t.Errorf("%s: Checksum %s, want %s", c.name, info.Checksum, c.want)
		}
		wantType := "application/octet-stream"
		if c.opts.ContentType != "" {
			wantType = c.opts.ContentType
		}
		if info.ContentType != wantType {
			t.Errorf("%s: ContentType %q, want %q", c.name, info.ContentType, wantType)
		}
		_ = i
	}
	// The HEAD asked for the checksums.
	f.wire.reset()
	if _, err := f.drv.StatBlob(ctx, "stat/known-SHA-256"); err != nil {
		t.Fatal(err)
	}
	if reqs := f.wire.requests(); len(reqs) != 1 || reqs[0].header.Get("X-Amz-Checksum-Mode") != "ENABLED" {
		t.Errorf("HEAD without x-amz-checksum-mode: ENABLED")
	}

	_, err := f.drv.StatBlob(ctx, "stat/missing")
	wantCode(t, f.drv, err, driver.NotFound)
	if err := f.drv.DeleteBlob(ctx, "stat/no-SHA-256"); err != nil {
		t.Fatal(err)
	}
	_, err = f.drv.StatBlob(ctx, "stat/no-SHA-256")
	wantCode(t, f.drv, err, driver.NotFound)
	_, err = f.drv.StatBlob(ctx, "stat/\xff")
	wantCode(t, f.drv, err, driver.InvalidArgument)
	// An escaped key is found where WriteBlob put it.
	odd := "stat/../a__0x41__\x01"
	if _, err := f.drv.WriteBlob(ctx, odd, strings.NewReader("odd"), nil); err != nil {
		t.Fatal(err)
	}
	if info, err := f.drv.StatBlob(ctx, odd); err != nil || info.Key != odd || info.Size != 3 {
		t.Errorf("StatBlob of an escaped key: %+v, %v", info, err)
	}
}

// TestSignedURLPutChecksum checks a PUT URL that binds a SHA-256 against
// the server: x-amz-checksum-sha256 is a signed header, so a request
// without it (or with another value) does not match the signature; the
// server refuses a body with other bytes; and StatBlob reports the
// checksum of an upload it accepted.
func TestSignedURLPutChecksum(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := testContext(t)
	client := &http.Client{Transport: f.wire}
	data := []byte("bytes whose SHA-256 the client computed")
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("other"))
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	sign := func(key string) string {
		t.Helper()
		u, err := f.drv.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodPut, Expiry: time.Minute,
			ContentType: "text/plain", Size: -1, SHA256: sum[:], CreateOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	header := func(checksum string) map[string]string {
		h := map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}
		if checksum != "" {
			h["X-Amz-Checksum-Sha256"] = checksum
		}
		return h
	}
	for _, c := range []struct {
		name     string
		body     []byte
		checksum string
	}{
		{"wrong bytes", []byte("bytes the client did not announce"), b64},
		{"no checksum header", data, ""},
		{"other checksum", data, base64.StdEncoding.EncodeToString(other[:])},
	} {
		key := "signed-checksum/" + strings.ReplaceAll(c.name, " ", "-")
		code := sendPut(ctx, t, client, sign(key), c.body, false, header(c.checksum))
		t.Logf("%s: status %d", c.name, code)
		if code < 400 {
			t.Errorf("%s: status %d, want a refusal", c.name, code)
		}
		if _, err := f.drv.StatBlob(ctx, key); f.drv.ErrorCode(err) != driver.NotFound {
			t.Errorf("%s: something was stored: %v", c.name, err)
		}
	}
	key := "signed-checksum/right"
	if code := sendPut(ctx, t, client, sign(key), data, false, header(b64)); code != http.StatusOK {
		t.Fatalf("the right bytes: status %d", code)
	}
	info, err := f.drv.StatBlob(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.Checksum.Sum, sum[:]) || info.Size != int64(len(data)) || info.ContentType != "text/plain" {
		t.Errorf("StatBlob: SHA256 %x (want %x), size %d, type %q", info.Checksum.Sum, sum, info.Size, info.ContentType)
	}
	if got := readBlob(ctx, t, f.drv, key, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("stored %q", got)
	}
}

// shaChecksum returns a SHA-256 checksum.
func shaChecksum(sum []byte) driver.Checksum {
	return driver.Checksum{Algorithm: driver.SHA256, Sum: sum}
}

package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// testStatBlob checks the driver's StatBlob directly: it describes a
// written payload (its key, size, and a modification time near the write),
// reports a missing one as NotFound through the driver's ErrorCode, and
// never reports a SHA-256 that differs from the payload's bytes, whether
// the payload was written with RecordSHA256, with a SHA-256 given in
// advance, or with neither. Whether a driver reports a SHA-256 at all is
// its own business (drivers test that themselves): nil is always allowed.
func testStatBlob(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	raw := e.rawDriver()
	// Payload keys in the store's namespace, as the store makes them; each
	// is deleted when its subtest ends, so that the storage check finds no
	// orphan.
	n := 0
	newKey := func(t *testing.T) string {
		n++
		key := e.store.Namespace() + fmt.Sprintf("statblob/%d/file/%d", n, time.Now().UnixNano())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), time.Minute)
			defer cancel()
			if err := raw.DeleteBlob(ctx, key); err != nil {
				t.Errorf("DeleteBlob(%q): %v", key, err)
			}
		})
		return key
	}
	// write stores data under a fresh key, from a reader that is not an
	// io.Seeker if stream is set (a payload of unknown origin), and
	// returns the key and the time just before the write.
	write := func(t *testing.T, data []byte, stream bool, opts *driver.WriteOptions) (string, time.Time) {
		t.Helper()
		key := newKey(t)
		var r io.Reader = bytes.NewReader(data)
		if stream {
			r = io.MultiReader(r)
		}
		before := time.Now()
		if _, err := raw.WriteBlob(e.ctx, key, r, opts); err != nil {
			t.Fatalf("WriteBlob(%q): %v", key, err)
		}
		return key, before
	}
	// stat returns StatBlob's description of key, checking what every
	// driver must report for a payload of data written since before.
	stat := func(t *testing.T, key string, data []byte, before time.Time) *driver.BlobInfo {
		t.Helper()
		info, err := raw.StatBlob(e.ctx, key)
		if err != nil {
			t.Fatalf("StatBlob(%q): %v (code %v)", key, err, raw.ErrorCode(err))
		}
		if info == nil {
			t.Fatalf("StatBlob(%q) returned nil and no error", key)
		}
		if info.Key != key {
			t.Errorf("StatBlob(%q).Key = %q", key, info.Key)
		}
		if info.Size != int64(len(data)) {
			t.Errorf("StatBlob(%q).Size = %d, want %d", key, info.Size, len(data))
		}
		// Backends keep times to the second (S3) and servers' clocks
		// drift a little from ours.
		if lo, hi := before.Add(-time.Minute), time.Now().Add(time.Minute); info.ModTime.Before(lo) || info.ModTime.After(hi) {
			t.Errorf("StatBlob(%q).ModTime = %v, want a time near %v", key, info.ModTime, before)
		}
		if sum := sha256.Sum256(data); info.SHA256 != nil && !bytes.Equal(info.SHA256, sum[:]) {
			t.Errorf("StatBlob(%q).SHA256 = %x, but the payload's SHA-256 is %x: a driver must never report a checksum other than the bytes'", key, info.SHA256, sum)
		}
		return info
	}
	sizes := []struct {
		name string
		size int64
	}{
		{"Empty", 0},
		{"OneByte", 1},
		{"Small", 1000},
		{"Large", 6<<20 + 17}, // more than one part of a multipart upload on S3
	}

	t.Run("SizeAndModTime", func(t *testing.T) {
		for _, sz := range sizes {
			t.Run(sz.name, func(t *testing.T) {
				data := patternBytes(uint64(sz.size), sz.size)
				key, before := write(t, data, true, &driver.WriteOptions{Size: -1})
				stat(t, key, data, before)
			})
		}
	})
	t.Run("Missing", func(t *testing.T) {
		key := e.store.Namespace() + "statblob/missing/file/never-written"
		_, err := raw.StatBlob(e.ctx, key)
		if err == nil || raw.ErrorCode(err) != driver.NotFound {
			t.Errorf("StatBlob of a key never written: %v (code %v), want NotFound", err, raw.ErrorCode(err))
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		data := []byte("soon gone")
		key, before := write(t, data, false, &driver.WriteOptions{Size: int64(len(data))})
		stat(t, key, data, before)
		must(t, raw.DeleteBlob(e.ctx, key), "DeleteBlob")
		_, err := raw.StatBlob(e.ctx, key)
		if err == nil || raw.ErrorCode(err) != driver.NotFound {
			t.Errorf("StatBlob of a deleted payload: %v (code %v), want NotFound", err, raw.ErrorCode(err))
		}
	})
	t.Run("RecordSHA256", func(t *testing.T) {
		// A driver that keeps the checksum reports the right one; one
		// whose backend cannot reports none.
		for _, sz := range sizes {
			t.Run(sz.name, func(t *testing.T) {
				data := patternBytes(uint64(sz.size)+1, sz.size)
				key, before := write(t, data, true, &driver.WriteOptions{Size: -1, RecordSHA256: true})
				stat(t, key, data, before)
			})
		}
	})
	t.Run("KnownSHA256", func(t *testing.T) {
		// A payload written with its SHA-256 given in advance, which the
		// backend may verify and keep.
		for _, sz := range sizes {
			t.Run(sz.name, func(t *testing.T) {
				data := patternBytes(uint64(sz.size)+2, sz.size)
				sum := sha256.Sum256(data)
				key, before := write(t, data, false, &driver.WriteOptions{Size: int64(len(data)), SHA256: sum[:]})
				stat(t, key, data, before)
				key, before = write(t, data, true, &driver.WriteOptions{Size: -1, SHA256: sum[:], RecordSHA256: true})
				stat(t, key, data, before)
			})
		}
	})
	t.Run("ContentType", func(t *testing.T) {
		// A driver reports the content type the payload was stored with,
		// or none.
		data := []byte("plain text")
		key, before := write(t, data, false, &driver.WriteOptions{Size: int64(len(data)), ContentType: "text/plain; charset=utf-8"})
		if info := stat(t, key, data, before); info.ContentType != "" && info.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("StatBlob(%q).ContentType = %q, want the stored type or none", key, info.ContentType)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		data := []byte("x")
		key, _ := write(t, data, false, &driver.WriteOptions{Size: 1})
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if info, err := raw.StatBlob(ctx, key); err == nil {
			t.Errorf("StatBlob with a canceled context returned %+v and no error", info)
		}
	})
}

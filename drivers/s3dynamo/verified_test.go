package s3dynamo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// wireTamper is an http.RoundTripper over the fixture's counter that can
// strip the checksum headers from PutObject responses (a server that
// does not return the checksum it verified) and flip a byte of GetObject
// response bodies (bytes damaged on the way, after S3 sent its checksum).
type wireTamper struct {
	base http.RoundTripper

	stripPut atomic.Bool
	flipGet  atomic.Bool
	putsDone atomic.Int32 // PutObject responses stripped

	mu        sync.Mutex
	stripped  []string // the checksum headers stripped
	afterPuts func()   // called after a stripped response, if set
}

func (w *wireTamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	putObject := r.Method == http.MethodPut && !r.URL.Query().Has("uploadId") && !r.URL.Query().Has("partNumber")
	switch {
	case putObject && w.stripPut.Load():
		w.mu.Lock()
		for name := range resp.Header {
			if strings.HasPrefix(strings.ToLower(name), "x-amz-checksum-") {
				w.stripped = append(w.stripped, name)
				resp.Header.Del(name)
			}
		}
		after := w.afterPuts
		w.mu.Unlock()
		w.putsDone.Add(1)
		if after != nil {
			after()
		}
	case r.Method == http.MethodGet && w.flipGet.Load() && resp.StatusCode == http.StatusOK && !r.URL.Query().Has("list-type"):
		data, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		if len(data) > 0 {
			data[len(data)/2] ^= 0x01
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
	}
	return resp, nil
}

func (w *wireTamper) setAfterPuts(f func()) {
	w.mu.Lock()
	w.afterPuts = f
	w.mu.Unlock()
}

// newTamperFixture returns a fixture whose S3 and DynamoDB traffic goes
// through a wireTamper (off until set), with 5 MiB parts.
func newTamperFixture(t *testing.T) (*fixture, *wireTamper) {
	t.Helper()
	w := &wireTamper{}
	f := newFixture(t, func(o *Options) {
		o.PartSize = MinPartSize
		o.UploadConcurrency = 2
		w.base = o.AWS.HTTPClient.(*http.Client).Transport
		cfg := o.AWS.Copy()
		cfg.HTTPClient = &http.Client{Transport: w}
		o.AWS = &cfg
	})
	return f, w
}

// TestOpenBlobVerified checks that a whole read with the recorded
// checksum is Verified exactly when S3 holds a full-object checksum of
// that algorithm equal to it: every CRC32C and CRC64NVME payload
// WriteBlob stores (one request or multipart), and a SHA-256 one sent in
// one request, but not a SHA-256 multipart upload (a composite CRC32C),
// nor a read without a checksum, nor a range.
func TestOpenBlobVerified(t *testing.T) {
	t.Parallel()
	f, _ := newTamperFixture(t)
	ctx := testContext(t)
	small := payload(100<<10, 11)
	large := payload(2*MinPartSize+1000, 12)
	for _, tc := range []struct {
		name     string
		alg      driver.ChecksumAlgorithm
		data     []byte
		stream   bool // a plain reader, else a *bytes.Reader of known size
		sum      bool // the checksum given in advance
		verified bool
	}{
		{"CRC32C/Single", driver.CRC32C, small, false, false, true},
		{"CRC32C/SingleSum", driver.CRC32C, small, false, true, true},
		{"CRC32C/OnePart", driver.CRC32C, small, true, false, true},
		{"CRC32C/Multipart", driver.CRC32C, large, true, false, true},
		{"CRC64NVME/Single", driver.CRC64NVME, small, false, false, true},
		{"CRC64NVME/OnePart", driver.CRC64NVME, small, true, false, true},
		{"CRC64NVME/Multipart", driver.CRC64NVME, large, true, false, true},
		{"SHA256/SingleSum", driver.SHA256, small, false, true, true},
		{"SHA256/Multipart", driver.SHA256, large, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "verified/" + tc.name
			var r io.Reader = bytes.NewReader(tc.data)
			opts := &driver.WriteOptions{Checksum: tc.alg, Size: int64(len(tc.data))}
			if tc.stream {
				r, opts.Size = io.MultiReader(r), -1
			}
			if tc.sum {
				opts.Sum = tc.alg.Sum(tc.data)
			}
			attrs, err := f.drv.WriteBlob(ctx, key, r, opts)
			if err != nil {
				t.Fatalf("WriteBlob: %v", err)
			}
			want := driver.Checksum{Algorithm: tc.alg, Sum: tc.alg.Sum(tc.data)}
			if attrs.Checksum.String() != want.String() {
				t.Fatalf("WriteBlob reports the checksum %v, want %v", attrs.Checksum, want)
			}
			br, err := f.drv.OpenBlob(ctx, key, 0, -1, &driver.OpenOptions{Checksum: want})
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			got, err := io.ReadAll(br)
			br.Close()
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("whole read: %d bytes, %v; want the %d written", len(got), err, len(tc.data))
			}
			if br.Verified != tc.verified {
				t.Errorf("whole read with the recorded checksum: Verified = %v, want %v", br.Verified, tc.verified)
			}
			for _, o := range []struct {
				name        string
				off, length int64
				opts        *driver.OpenOptions
			}{{"no checksum", 0, -1, nil}, {"range", 0, 10, &driver.OpenOptions{}}} {
				br, err := f.drv.OpenBlob(ctx, key, o.off, o.length, o.opts)
				if err != nil {
					t.Fatalf("OpenBlob (%s): %v", o.name, err)
				}
				_, err = io.Copy(io.Discard, br)
				br.Close()
				if err != nil || br.Verified {
					t.Errorf("read (%s): Verified = %v, %v; want false, nil", o.name, br.Verified, err)
				}
			}
		})
	}
}

// TestOpenBlobVerifiedRefuses checks the two ways a Verified read refuses
// bytes other than those recorded: before the first byte, when S3 holds
// another checksum of the recorded algorithm, and at the end, when the
// bytes differ from the checksum S3 sent (flipped on the way here), with
// an error of code Corrupt. A payload uploaded with the plain SDK and no
// checksum is not Verified, and the portable layer verifies it.
func TestOpenBlobVerifiedRefuses(t *testing.T) {
	t.Parallel()
	f, w := newTamperFixture(t)
	ctx := testContext(t)
	data := payload(70<<10, 13)
	for _, alg := range []driver.ChecksumAlgorithm{driver.CRC32C, driver.CRC64NVME} {
		t.Run(string(alg), func(t *testing.T) {
			key := "refuses/" + string(alg)
			attrs, err := f.drv.WriteBlob(ctx, key, bytes.NewReader(data), &driver.WriteOptions{Checksum: alg, Size: int64(len(data))})
			if err != nil {
				t.Fatalf("WriteBlob: %v", err)
			}
			other := driver.Checksum{Algorithm: alg, Sum: bytes.Clone(attrs.Checksum.Sum)}
			other.Sum[0] ^= 0xff
			_, err = f.drv.OpenBlob(ctx, key, 0, -1, &driver.OpenOptions{Checksum: other})
			if c := f.drv.ErrorCode(err); c != driver.Corrupt {
				t.Errorf("OpenBlob with another recorded checksum: %v (code %v), want code Corrupt", err, c)
			}

			w.flipGet.Store(true)
			defer w.flipGet.Store(false)
			br, err := f.drv.OpenBlob(ctx, key, 0, -1, &driver.OpenOptions{Checksum: attrs.Checksum})
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			_, err = io.Copy(io.Discard, br)
			br.Close()
			if !br.Verified {
				t.Fatal("the read is not Verified")
			}
			if c := f.drv.ErrorCode(err); c != driver.Corrupt || errors.Is(err, io.EOF) {
				t.Errorf("a Verified read of damaged bytes ended with %v (code %v), want code Corrupt", err, c)
			}
		})
	}
	t.Run("PlainSDK", func(t *testing.T) {
		key := "refuses/plain"
		_, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.opts.Bucket), Key: aws.String(key), Body: bytes.NewReader(data)},
			func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		br, err := f.drv.OpenBlob(ctx, key, 0, -1, &driver.OpenOptions{Checksum: driver.Checksum{Algorithm: driver.CRC32C, Sum: driver.CRC32C.Sum(data)}})
		if err != nil {
			t.Fatalf("OpenBlob: %v", err)
		}
		got, err := io.ReadAll(br)
		br.Close()
		if err != nil || !bytes.Equal(got, data) || br.Verified {
			t.Errorf("read of a payload stored without a checksum: %d bytes, %v, Verified %v; want the payload, not Verified", len(got), err, br.Verified)
		}
	})
}

// openRecorder records whether the driver's whole reads are Verified.
type openRecorder struct {
	driver.Driver
	mu       sync.Mutex
	verified []bool
}

func (r *openRecorder) OpenBlob(ctx context.Context, key string, off, n int64, opts *driver.OpenOptions) (*driver.BlobReader, error) {
	br, err := r.Driver.OpenBlob(ctx, key, off, n, opts)
	if err == nil && opts != nil && opts.Checksum.Valid() {
		r.mu.Lock()
		r.verified = append(r.verified, br.Verified)
		r.mu.Unlock()
	}
	return br, err
}

// TestStoreReadsVerifiedByS3 checks, through a Store, that whole reads of
// CRC32C and CRC64NVME payloads are vouched for by S3 (the driver's
// reader is Verified, so the Store does not hash them: see the root
// package's TestVerifiedReadNotHashed), small and multipart, and that
// they still fail with Corrupt on damaged bytes.
func TestStoreReadsVerifiedByS3(t *testing.T) {
	t.Parallel()
	f, w := newTamperFixture(t)
	ctx := testContext(t)
	for _, alg := range []docblob.Checksum{docblob.ChecksumCRC32C, docblob.ChecksumCRC64NVME} {
		t.Run(string(alg), func(t *testing.T) {
			drv, err := New(&f.opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := &openRecorder{Driver: drv}
			store, err := docblob.NewStore(rec, &docblob.Options{Checksum: alg})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for _, size := range []int{1000, 2*MinPartSize + 7} {
				data := payload(size, uint64(size))
				doc := map[string]any{"pk": "verified", "sk": string(alg), "file": docblob.NewBlob(io.MultiReader(bytes.NewReader(data)), nil)}
				if err := store.Put(ctx, doc); err != nil {
					t.Fatalf("Put: %v", err)
				}
				got := map[string]any{"pk": "verified", "sk": string(alg)}
				if err := store.Get(ctx, got); err != nil {
					t.Fatalf("Get: %v", err)
				}
				b := got["file"].(*docblob.Blob)
				rec.verified = nil
				read, err := b.ReadAll(ctx)
				if err != nil || !bytes.Equal(read, data) {
					t.Fatalf("ReadAll of %d bytes: %d bytes, %v", size, len(read), err)
				}
				if len(rec.verified) != 1 || !rec.verified[0] {
					t.Errorf("whole read of %d bytes: the driver's readers were Verified %v, want [true]", size, rec.verified)
				}
				w.flipGet.Store(true)
				_, err = b.ReadAll(ctx)
				w.flipGet.Store(false)
				if docblob.Code(err) != docblob.Corrupt {
					t.Errorf("ReadAll of damaged bytes: %v, want code Corrupt", err)
				}
			}
		})
	}
}

// seekFailer is a payload source whose Seek fails once fail is set.
type seekFailer struct {
	*bytes.Reader
	fail atomic.Bool
}

func (s *seekFailer) Seek(off int64, whence int) (int64, error) {
	if s.fail.Load() {
		return 0, errors.New("seek refused by the test")
	}
	return s.Reader.Seek(off, whence)
}

// TestPutObjectChecksumFallback checks WriteBlob's single PutObject when
// the response lacks the checksum S3 verified: it computes the checksum
// from its source, rewound to where the payload began (not necessarily
// its start), with no further request; and if the source cannot be
// rewound it fails and deletes the object it stored.
func TestPutObjectChecksumFallback(t *testing.T) {
	t.Parallel()
	f, w := newTamperFixture(t)
	ctx := testContext(t)
	w.stripPut.Store(true)
	data := payload(50<<10, 14)
	for _, alg := range []driver.ChecksumAlgorithm{driver.CRC32C, driver.CRC64NVME} {
		t.Run(string(alg), func(t *testing.T) {
			const skip = 100 // the payload begins after these bytes of its source
			src := bytes.NewReader(data)
			if _, err := src.Seek(skip, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			key := "fallback/" + string(alg)
			before, puts := w.putsDone.Load(), f.wire.count("s3", http.MethodPut)
			attrs, err := f.drv.WriteBlob(ctx, key, src, &driver.WriteOptions{Checksum: alg, Size: int64(len(data) - skip)})
			if err != nil {
				t.Fatalf("WriteBlob: %v", err)
			}
			if w.putsDone.Load() != before+1 || f.wire.count("s3", http.MethodPut) != puts+1 {
				t.Fatalf("WriteBlob sent %d PutObjects (%d stripped), want 1", f.wire.count("s3", http.MethodPut)-puts, w.putsDone.Load()-before)
			}
			w.mu.Lock()
			stripped := len(w.stripped)
			w.mu.Unlock()
			if stripped == 0 {
				t.Fatal("the PutObject response carried no checksum to strip: the test tests nothing")
			}
			want := driver.Checksum{Algorithm: alg, Sum: alg.Sum(data[skip:])}
			if attrs.Checksum.String() != want.String() {
				t.Errorf("WriteBlob reports %v, want %v", attrs.Checksum, want)
			}
			if got := readBlob(ctx, t, f.drv, key, 0, -1); !bytes.Equal(got, data[skip:]) {
				t.Errorf("stored %d bytes, want the %d after the source's offset", len(got), len(data)-skip)
			}
		})
	}
	t.Run("SourceNotRewound", func(t *testing.T) {
		src := &seekFailer{Reader: bytes.NewReader(data)}
		w.setAfterPuts(func() { src.fail.Store(true) })
		defer w.setAfterPuts(nil)
		key := "fallback/unrewound"
		_, err := f.drv.WriteBlob(ctx, key, src, &driver.WriteOptions{Checksum: driver.CRC32C, Size: int64(len(data))})
		if err == nil {
			t.Fatal("WriteBlob succeeded without a checksum")
		}
		if _, err := f.drv.StatBlob(ctx, key); f.drv.ErrorCode(err) != driver.NotFound {
			t.Errorf("after the failed WriteBlob, StatBlob: %v, want code NotFound (the object deleted)", err)
		}
	})
}

package conformance

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/docblob/docblob"
)

func testReads(t *testing.T, newHarness HarnessMaker) {
	t.Run("Ranges", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		const size = 10000
		data := patternBytes(7, size)
		in := &record{PK: "p", SK: "ranges", File: docblob.NewBlobBytes(data, nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		got := &record{PK: "p", SK: "ranges"}
		must(t, e.store.Get(e.ctx, got), "Get")
		for _, tc := range []struct {
			name           string
			offset, length int64
			want           []byte
		}{
			{"FirstByte", 0, 1, data[:1]},
			{"LastByte", size - 1, 1, data[size-1:]},
			{"LastByteToEnd", size - 1, -1, data[size-1:]},
			{"Middle", 1234, 4321, data[1234 : 1234+4321]},
			{"ToEnd", 9000, -1, data[9000:]},
			{"PastEnd", 9000, 5000, data[9000:]},
			{"AtEnd", size, -1, nil},
			{"ZeroLength", 10, 0, nil},
			{"Whole", 0, size, data},
			{"WholeNegative", 0, -1, data},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := got.File.NewRangeReader(e.ctx, tc.offset, tc.length)
				must(t, err, "NewRangeReader")
				defer r.Close()
				b, err := io.ReadAll(r)
				must(t, err, "reading")
				if !bytes.Equal(b, tc.want) {
					t.Errorf("read %d bytes, want %d", len(b), len(tc.want))
				}
			})
		}
		t.Run("BeyondEnd", func(t *testing.T) {
			_, err := got.File.NewRangeReader(e.ctx, size+1, 1)
			wantCode(t, err, docblob.InvalidArgument, "range beyond the end")
			_, err = got.File.NewRangeReader(e.ctx, -1, 1)
			wantCode(t, err, docblob.InvalidArgument, "negative offset")
		})
	})
	t.Run("Corruption", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		data := patternBytes(8, 4096)
		in := &record{PK: "p", SK: "corrupt", File: docblob.NewBlobBytes(data, nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		must(t, e.h.CorruptBlob(e.ctx, in.File.Key()), "CorruptBlob")
		got := &record{PK: "p", SK: "corrupt"}
		must(t, e.store.Get(e.ctx, got), "Get")
		_, err := got.File.ReadAll(e.ctx)
		wantCode(t, err, docblob.Corrupt, "reading a corrupted payload")

		r, err := got.File.Open(e.ctx)
		must(t, err, "Open")
		_, err = io.Copy(io.Discard, r)
		r.Close()
		wantCode(t, err, docblob.Corrupt, "streaming a corrupted payload")
		if errors.Is(err, io.EOF) {
			t.Error("a corrupted stream ended with io.EOF")
		}
		_, err = got.File.CopyTo(e.ctx, io.Discard)
		wantCode(t, err, docblob.Corrupt, "CopyTo of a corrupted payload")
	})
	t.Run("CloseDuringRead", func(t *testing.T) {
		testCloseDuringRead(t, newHarness)
	})
	t.Run("NotStored", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		_, err := docblob.NewBlobBytes([]byte("x"), nil).Open(e.ctx)
		wantCode(t, err, docblob.InvalidArgument, "Open of a new blob")
	})
	t.Run("SignedURL", func(t *testing.T) {
		e := newEnv(t, newHarness, nil)
		in := &record{PK: "p", SK: "signed", File: docblob.NewBlobBytes([]byte("signed"), nil)}
		must(t, e.store.Put(e.ctx, in), "Put")
		u, err := in.File.SignedURL(e.ctx, nil)
		switch {
		case docblob.Code(err) == docblob.Unimplemented:
			t.Logf("the driver cannot sign URLs: %v", err)
		case err != nil:
			t.Fatalf("SignedURL: %v", err)
		case u == "":
			t.Error("SignedURL returned an empty URL")
		}
	})
}

func testContentType(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	png := append([]byte("\x89PNG\x0D\x0A\x1A\x0A"), make([]byte, 100)...)
	for _, tc := range []struct {
		name string
		data []byte
		opts *docblob.BlobOptions
		want string
	}{
		{"SniffPDF", []byte("%PDF-1.7\n..."), nil, "application/pdf"},
		{"SniffPNG", png, nil, "image/png"},
		{"SniffText", []byte("plain words"), nil, "text/plain; charset=utf-8"},
		{"SniffHTML", []byte("<!DOCTYPE html><html></html>"), nil, "text/html; charset=utf-8"},
		{"SniffBinary", []byte{0, 1, 2, 3, 0xfe}, nil, "application/octet-stream"},
		{"Explicit", []byte("%PDF-1.7"), &docblob.BlobOptions{ContentType: "application/x-custom"}, "application/x-custom"},
		{"FromName", []byte{0, 1, 2, 3, 0xfe}, &docblob.BlobOptions{Name: "data.json"}, "application/json"},
		{"Empty", nil, nil, "text/plain; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &record{PK: "ct", SK: tc.name, File: docblob.NewBlob(bytes.NewReader(tc.data), tc.opts)}
			must(t, e.store.Put(e.ctx, in), "Put")
			got := &record{PK: "ct", SK: tc.name}
			must(t, e.store.Get(e.ctx, got), "Get")
			if got.File.ContentType() != tc.want {
				t.Errorf("ContentType = %q, want %q", got.File.ContentType(), tc.want)
			}
		})
	}
}

// testCloseDuringRead closes a payload's reader from another goroutine
// while a Read is in progress, at a different moment each round, as a
// server does when its client goes away: the Read returns, a Read after
// Close fails with FailedPrecondition (or io.EOF, if the read had ended
// before), whatever error the driver's reader gave, and the store still
// writes and reads payloads byte for byte (a driver that released a buffer twice would hand it to two
// readers or writers at once). Run it with -race.
func testCloseDuringRead(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	data := patternBytes(11, 3<<20+17)
	in := &record{PK: "p", SK: "close-during-read", File: docblob.NewBlobBytes(data, nil)}
	must(t, e.store.Put(e.ctx, in), "Put")
	got := &record{PK: "p", SK: "close-during-read"}
	must(t, e.store.Get(e.ctx, got), "Get")
	for i := range 6 {
		r, err := got.File.Open(e.ctx)
		must(t, err, "Open")
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			buf := make([]byte, 32<<10)
			for {
				if _, err := r.Read(buf); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i) * time.Millisecond)
		if err := r.Close(); err != nil {
			t.Errorf("round %d: Close during a Read: %v", i, err)
		}
		select {
		case <-readDone:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: Read did not return after Close", i)
		}
		if n, err := r.Read(make([]byte, 1)); n != 0 || (err != io.EOF && docblob.Code(err) != docblob.FailedPrecondition) {
			t.Errorf("round %d: Read after Close = %d, %v; want 0 and io.EOF (the read had ended) or code FailedPrecondition", i, n, err)
		}
	}
	after := patternBytes(12, 3<<20+29)
	in2 := &record{PK: "p", SK: "after-closes", File: docblob.NewBlobBytes(after, nil)}
	must(t, e.store.Put(e.ctx, in2), "Put after the closed reads")
	for _, tc := range []struct {
		sk   string
		want []byte
	}{{"close-during-read", data}, {"after-closes", after}} {
		doc := &record{PK: "p", SK: tc.sk}
		must(t, e.store.Get(e.ctx, doc), "Get")
		b, err := doc.File.ReadAll(e.ctx)
		must(t, err, "ReadAll")
		if !bytes.Equal(b, tc.want) {
			t.Errorf("%s: read back %d bytes that differ from the %d stored", tc.sk, len(b), len(tc.want))
		}
	}
}

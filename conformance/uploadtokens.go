package conformance

import (
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
)

// tokenSecret is the Options.Secret of the stores of testUploadTokens.
var tokenSecret = []byte("conformance upload token secret, 32+ bytes")

// testUploadTokens checks direct uploads committed by another Store than
// the one that signed them, as the instances of a web service do: the
// commit works from the token alone, reads nothing when the URL bound a
// checksum, and refuses tokens it must not honour.
func testUploadTokens(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, &docblob.Options{Secret: tokenSecret})
	payload := []byte("\x89PNG\r\n\x1a\n uploaded through a signed URL")
	sum := sha256.Sum256(payload)
	up, err := e.store.NewUpload(e.ctx, &record{PK: "tok", SK: "1"}, "file",
		&docblob.UploadOptions{ContentType: "image/png", SHA256: sum[:], Size: int64(len(payload))})
	if docblob.Code(err) == docblob.Unimplemented {
		t.Skipf("the driver does not sign URLs: %v", err)
	}
	must(t, err, "NewUpload")
	if up.Token == "" {
		t.Fatal("NewUpload returned no token")
	}
	if got := up.Header.Get("X-Amz-Checksum-Sha256"); got == "" {
		t.Fatal("an upload with a SHA256 does not tell the client to send it")
	}
	// The other instance: another driver and Store over the same storage.
	other := func(t *testing.T, opts *docblob.Options) (*docblob.Store, *spy.Driver) {
		t.Helper()
		drv, err := e.h.MakeDriver(e.ctx)
		must(t, err, "MakeDriver")
		sp := spy.New(drv)
		s, err := docblob.NewStore(sp, opts)
		if err != nil {
			drv.Close()
			t.Fatalf("NewStore: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		must(t, s.ClaimNamespace(e.ctx), "ClaimNamespace")
		sp.Reset()
		return s, sp
	}

	t.Run("WrongBytesRefused", func(t *testing.T) {
		if status, body, _ := fetch(t, up.Method, up.URL, up.Header, []byte("\x89PNG\r\n\x1a\n other bytes of the same kind")); status/100 == 2 {
			t.Fatalf("bytes that do not match the signed SHA-256 were accepted: %d %q", status, body)
		}
	})
	t.Run("CommitElsewhere", func(t *testing.T) {
		if status, body, _ := fetch(t, up.Method, up.URL, up.Header, payload); status/100 != 2 {
			t.Fatalf("upload: %d %q", status, body)
		}
		s, sp := other(t, &docblob.Options{Secret: tokenSecret})
		blob, err := s.BlobFromUpload(up.Token)
		must(t, err, "BlobFromUpload")
		must(t, s.Put(e.ctx, &record{PK: "tok", SK: "1", File: blob}), "Put")
		if n := sp.Counts()[spy.OpenBlob]; n != 0 {
			t.Errorf("the commit read the payload %d times, though the URL bound its SHA-256 and the backend vouched for it", n)
		}
		got := &record{PK: "tok", SK: "1"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != string(payload) || got.File.Size() != int64(len(payload)) || got.File.ContentType() != "image/png" {
			t.Errorf("committed attachment: %d bytes, %q", got.File.Size(), got.File.ContentType())
		}
	})
	t.Run("Refused", func(t *testing.T) {
		later, _ := other(t, &docblob.Options{Secret: tokenSecret, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		otherSecret, _ := other(t, &docblob.Options{Secret: []byte("another secret of at least 32 bytes")})
		forged := []byte(up.Token)
		// Another base64url character in the claims: well-formed, unsigned.
		if i := len(forged) / 2; forged[i] == 'A' {
			forged[i] = 'B'
		} else {
			forged[i] = 'A'
		}
		for _, tc := range []struct {
			name  string
			store *docblob.Store
			token string
			code  docblob.ErrorCode
		}{
			{"Altered", e.store, string(forged), docblob.PermissionDenied},
			{"OtherSecret", otherSecret, up.Token, docblob.PermissionDenied},
			{"Expired", later, up.Token, docblob.FailedPrecondition},
			{"Garbage", e.store, "not a token", docblob.InvalidArgument},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if b, err := tc.store.BlobFromUpload(tc.token); docblob.Code(err) != tc.code || b != nil {
					t.Fatalf("BlobFromUpload: %v, want code %v", err, tc.code)
				}
			})
		}
		t.Run("OtherDocument", func(t *testing.T) {
			blob, err := e.store.BlobFromUpload(up.Token)
			must(t, err, "BlobFromUpload")
			wantCode(t, e.store.Put(e.ctx, &record{PK: "tok", SK: "2", File: blob}), docblob.InvalidArgument, "Put into another document")
			if err := e.store.Get(e.ctx, &record{PK: "tok", SK: "2"}); docblob.Code(err) != docblob.NotFound {
				t.Errorf("the other document was written: %v", err)
			}
		})
	})
	t.Run("StaleURLCannotWrite", func(t *testing.T) {
		// A committed upload's URL must never write its key again, even
		// after the document moved on or was deleted (the payload is
		// kept until the URL expires, then left to Sweep).
		up, err := e.store.NewUpload(e.ctx, &record{PK: "tok", SK: "stale"}, "file", nil)
		must(t, err, "NewUpload")
		if status, body, _ := fetch(t, up.Method, up.URL, up.Header, payload); status/100 != 2 {
			t.Fatalf("upload: %d %q", status, body)
		}
		blob, err := e.store.BlobFromUpload(up.Token)
		must(t, err, "BlobFromUpload")
		must(t, e.store.Put(e.ctx, &record{PK: "tok", SK: "stale", File: blob}), "commit")
		must(t, e.store.Put(e.ctx, &record{PK: "tok", SK: "stale", File: docblob.NewBlobBytes([]byte("newer"), nil)}), "replace")
		if status, _, _ := fetch(t, up.Method, up.URL, up.Header, []byte("attacker")); status/100 == 2 {
			t.Errorf("the used URL wrote again after the document was replaced (%d)", status)
		}
		must(t, e.store.Delete(e.ctx, &record{PK: "tok", SK: "stale"}), "Delete")
		if status, _, _ := fetch(t, up.Method, up.URL, up.Header, []byte("attacker")); status/100 == 2 {
			t.Errorf("the used URL wrote again after the document was deleted (%d)", status)
		}
		sweepAged(t, e, 1) // the kept upload, which Sweep removes once the URL has expired
	})
	t.Run("NoClientChecksum", func(t *testing.T) {
		up, err := e.store.NewUpload(e.ctx, &record{PK: "tok", SK: "3"}, "file", nil)
		must(t, err, "NewUpload")
		if status, body, _ := fetch(t, up.Method, up.URL, http.Header{"If-None-Match": {"*"}}, payload); status/100 != 2 {
			t.Fatalf("upload: %d %q", status, body)
		}
		s, _ := other(t, &docblob.Options{Secret: tokenSecret})
		blob, err := s.BlobFromUpload(up.Token)
		must(t, err, "BlobFromUpload")
		must(t, s.Put(e.ctx, &record{PK: "tok", SK: "3", File: blob}), "Put")
		got := &record{PK: "tok", SK: "3"}
		must(t, e.store.Get(e.ctx, got), "Get")
		if string(readAll(e, got.File)) != string(payload) || got.File.ContentType() != "image/png" {
			t.Errorf("committed attachment: %q, type %q (sniffed)", readAll(e, got.File), got.File.ContentType())
		}
	})
}

package docblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/filestore"
	"github.com/docblob/docblob/internal/signtest"
	"github.com/docblob/docblob/localsign"
)

// receipt is the document of a receipts-style web service.
type receipt struct {
	User     string        `docstore:"pk"`
	ID       string        `docstore:"sk"`
	Scan     *docblob.Blob `docstore:"scan"`
	Revision any           `docstore:"DocstoreRevision"`
}

const testSecret = "0123456789abcdef0123456789abcdef-test-only"

// signingStores opens two stores from one file:// URL with signing, as two
// processes of a web service would, and serves the first one's signed
// URLs on 127.0.0.1.
func signingStores(t *testing.T) (dir string, a, b *docblob.Store) {
	t.Helper()
	t.Setenv("DOCBLOB_TEST_SECRET", testSecret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	u := "file://" + dir + "?secret_env=DOCBLOB_TEST_SECRET&sign_url=" + url.QueryEscape("http://"+ln.Addr().String()+"/blobs")
	ctx := context.Background()
	if a, err = docblob.Open(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	var signer *localsign.Signer
	if !a.As(&signer) {
		t.Fatal("a store opened with sign_url has no *localsign.Signer")
	}
	srv := &http.Server{Handler: signer.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if b, err = docblob.Open(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return dir, a, b
}

// browserPut sends a payload to an upload URL as a browser would.
func browserPut(t *testing.T, up *docblob.Upload, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = up.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestUploadTokenAcrossStores(t *testing.T) {
	ctx := context.Background()
	dir, signing, committing := signingStores(t)
	scan := []byte("\x89PNG\r\n\x1a\n a scanned receipt")
	sum := sha256.Sum256(scan)
	newUpload := func(t *testing.T, id string, opts *docblob.UploadOptions) *docblob.Upload {
		t.Helper()
		up, err := signing.NewUpload(ctx, &receipt{User: "ann", ID: id}, "scan", opts)
		if err != nil {
			t.Fatal(err)
		}
		return up
	}

	t.Run("Commit", func(t *testing.T) {
		up := newUpload(t, "r1", &docblob.UploadOptions{ContentType: "image/png", Name: "r1.png", SHA256: sum[:], Size: int64(len(scan))})
		if st := browserPut(t, up, scan); st != http.StatusOK {
			t.Fatalf("PUT answered %d, want 200 as S3 does", st)
		}
		blob, err := committing.BlobFromUpload(up.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := committing.Put(ctx, &receipt{User: "ann", ID: "r1", Scan: blob}); err != nil {
			t.Fatal(err)
		}
		got := &receipt{User: "ann", ID: "r1"}
		if err := committing.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		data, err := got.Scan.ReadAll(ctx)
		if err != nil || !bytes.Equal(data, scan) {
			t.Fatalf("read back %q, %v", data, err)
		}
		if got.Scan.ContentType() != "image/png" || got.Scan.Name() != "r1.png" || got.Scan.SHA256() != hex.EncodeToString(sum[:]) {
			t.Errorf("recorded %q %q %x", got.Scan.ContentType(), got.Scan.Name(), got.Scan.SHA256())
		}
	})
	t.Run("CommitTwiceIsIdempotent", func(t *testing.T) {
		up := newUpload(t, "r2", nil)
		browserPut(t, up, scan)
		for i := 0; i < 2; i++ {
			blob, err := committing.BlobFromUpload(up.Token)
			if err != nil {
				t.Fatal(err)
			}
			if err := committing.Put(ctx, &receipt{User: "ann", ID: "r2", Scan: blob}); err != nil {
				t.Fatalf("commit %d: %v", i+1, err)
			}
		}
		got := &receipt{User: "ann", ID: "r2"}
		if err := committing.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		if data, err := got.Scan.ReadAll(ctx); err != nil || !bytes.Equal(data, scan) {
			t.Fatalf("after two commits: %q, %v", data, err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		up := newUpload(t, "r3", nil)
		browserPut(t, up, scan)
		body, sig, _ := strings.Cut(strings.TrimPrefix(up.Token, "u1."), ".")
		claims, _ := base64.RawURLEncoding.DecodeString(body)
		forgedClaims := bytes.Replace(claims, []byte(`"s":"r3"`), []byte(`"s":"r9"`), 1)
		if bytes.Equal(forgedClaims, claims) {
			t.Fatalf("claims %s do not name the sort key as expected", claims)
		}
		forged := "u1." + base64.RawURLEncoding.EncodeToString(forgedClaims) + "." + sig

		otherSecret, err := docblob.NewStore(mustFilestore(t, dir), &docblob.Options{Secret: []byte(strings.Repeat("x", 32))})
		if err != nil {
			t.Fatal(err)
		}
		defer otherSecret.Close()
		later, err := docblob.NewStore(mustFilestore(t, dir), &docblob.Options{Secret: []byte(testSecret),
			Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		defer later.Close()
		otherColl, err := filestore.New(&filestore.Options{Dir: dir, Collection: "other"})
		if err != nil {
			t.Fatal(err)
		}
		otherStore, err := docblob.NewStore(otherColl, &docblob.Options{Secret: []byte(testSecret)})
		if err != nil {
			t.Fatal(err)
		}
		defer otherStore.Close()
		for _, tc := range []struct {
			name  string
			store *docblob.Store
			token string
			code  docblob.ErrorCode
		}{
			{"Forged", committing, forged, docblob.PermissionDenied},
			{"BadSignature", committing, up.Token[:len(up.Token)-2] + "AA", docblob.PermissionDenied},
			{"OtherSecret", otherSecret, up.Token, docblob.PermissionDenied},
			{"Expired", later, up.Token, docblob.FailedPrecondition},
			{"OtherStore", otherStore, up.Token, docblob.InvalidArgument},
			{"Truncated", committing, up.Token[:10], docblob.InvalidArgument},
			{"Empty", committing, "", docblob.InvalidArgument},
		} {
			t.Run(tc.name, func(t *testing.T) {
				blob, err := tc.store.BlobFromUpload(tc.token)
				if docblob.Code(err) != tc.code || blob != nil {
					t.Fatalf("BlobFromUpload: %v, want code %v", err, tc.code)
				}
			})
		}
		t.Run("OtherDocument", func(t *testing.T) {
			blob, err := committing.BlobFromUpload(up.Token)
			if err != nil {
				t.Fatal(err)
			}
			err = committing.Put(ctx, &receipt{User: "ann", ID: "r4", Scan: blob})
			if docblob.Code(err) != docblob.InvalidArgument {
				t.Fatalf("Put into another document: %v, want InvalidArgument", err)
			}
			if err := committing.Get(ctx, &receipt{User: "ann", ID: "r4"}); docblob.Code(err) != docblob.NotFound {
				t.Fatalf("the other document was written: %v", err)
			}
		})
	})
	t.Run("WrongChecksumRefusedAtUpload", func(t *testing.T) {
		up := newUpload(t, "r5", &docblob.UploadOptions{SHA256: sum[:]})
		if st := browserPut(t, up, []byte("other bytes")); st/100 == 2 {
			t.Fatalf("PUT of bytes that do not match the signed checksum answered %d", st)
		}
		blob, err := committing.BlobFromUpload(up.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := committing.Put(ctx, &receipt{User: "ann", ID: "r5", Scan: blob}); docblob.Code(err) != docblob.NotFound {
			t.Fatalf("commit after a refused upload: %v, want NotFound", err)
		}
	})
}

func mustFilestore(t *testing.T, dir string) driver.Driver {
	t.Helper()
	d, err := filestore.New(&filestore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOpenSigningParameters(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DOCBLOB_TEST_SECRET", testSecret)
	t.Setenv("DOCBLOB_SHORT_SECRET", "short")
	for _, tc := range []struct {
		name, url string
		code      docblob.ErrorCode
	}{
		{"Signing", "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=http://127.0.0.1:1/blobs", docblob.OK},
		{"SecretOnly", "mem://?secret_env=DOCBLOB_TEST_SECRET", docblob.OK},
		{"SignWithoutSecret", "mem://?sign_url=http://127.0.0.1:1/blobs", docblob.InvalidArgument},
		{"UnsetSecret", "mem://?secret_env=DOCBLOB_NO_SUCH_VARIABLE", docblob.InvalidArgument},
		{"ShortSecret", "mem://?secret_env=DOCBLOB_SHORT_SECRET", docblob.InvalidArgument},
		{"RelativeSignURL", "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=/blobs", docblob.InvalidArgument},
		{"SignURLWithCredentials", "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=" + url.QueryEscape("http://user:pass@127.0.0.1:1/b"), docblob.InvalidArgument},
		{"SignURLWithQuery", "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=" + url.QueryEscape("http://127.0.0.1:1/b?x=1"), docblob.InvalidArgument},
		{"DuplicateSignURL", "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=http://127.0.0.1:1/a&sign_url=http://127.0.0.1:1/b", docblob.InvalidArgument},
		{"DuplicatePrefix", "mem://?prefix=a/&prefix=b/", docblob.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := docblob.Open(ctx, tc.url)
			if docblob.Code(err) != tc.code {
				t.Fatalf("Open: %v, want code %v", err, tc.code)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("the error shows the secret: %v", err)
			}
			if s != nil {
				s.Close()
			}
		})
	}
	s, err := docblob.Open(ctx, "mem://?secret_env=DOCBLOB_TEST_SECRET&sign_url=http://127.0.0.1:1/blobs")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := &receipt{User: "u", ID: "1", Scan: docblob.NewBlobBytes([]byte("x"), nil)}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	u, err := doc.Scan.SignedURL(ctx, nil)
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:1/blobs?") {
		t.Fatalf("SignedURL on a mem:// store with sign_url: %q, %v", u, err)
	}
}

func TestSecretTooShort(t *testing.T) {
	drv, err := filestore.New(&filestore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if _, err := docblob.NewStore(drv, &docblob.Options{Secret: []byte("short")}); docblob.Code(err) != docblob.InvalidArgument {
		t.Fatalf("NewStore with a 5-byte secret: %v", err)
	}
}

// TestStaleUploadLinks: an upload URL and token that were used once cannot
// put other bytes into the document later, after it was replaced or
// deleted; a replayed token can only bring back the very bytes uploaded,
// and a revision condition refuses even that.
func TestStaleUploadLinks(t *testing.T) {
	ctx := context.Background()
	_, s, other := signingStores(t)
	up, err := s.NewUpload(ctx, &receipt{User: "ann", ID: "r"}, "scan", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := browserPut(t, up, []byte("original scan")); st != http.StatusOK {
		t.Fatalf("upload: %d", st)
	}
	commit := func(doc *receipt) error {
		blob, err := other.BlobFromUpload(up.Token)
		if err != nil {
			return err
		}
		doc.Scan = blob
		return other.Put(ctx, doc)
	}
	doc := &receipt{User: "ann", ID: "r"}
	if err := commit(doc); err != nil {
		t.Fatal(err)
	}
	seen := doc.Revision
	// The owner replaces the scan; the old URL must not be able to write.
	if err := s.Put(ctx, &receipt{User: "ann", ID: "r", Scan: docblob.NewBlobBytes([]byte("newer scan"), nil)}); err != nil {
		t.Fatal(err)
	}
	if st := browserPut(t, up, []byte("attacker")); st != http.StatusPreconditionFailed {
		t.Fatalf("PUT to a used upload URL after the document moved on: %d, want 412", st)
	}
	// A replay with the revision the client last saw is refused.
	if err := commit(&receipt{User: "ann", ID: "r", Revision: seen}); docblob.Code(err) != docblob.FailedPrecondition {
		t.Fatalf("replay with a stale revision: %v, want FailedPrecondition", err)
	}
	// The owner deletes the document: the URL still cannot write.
	if err := s.Delete(ctx, &receipt{User: "ann", ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if st := browserPut(t, up, []byte("attacker")); st != http.StatusPreconditionFailed {
		t.Fatalf("PUT to a used upload URL after the document was deleted: %d, want 412", st)
	}
	// A bare replay brings back only the original bytes.
	if err := commit(&receipt{User: "ann", ID: "r"}); err != nil {
		t.Fatal(err)
	}
	got := &receipt{User: "ann", ID: "r"}
	if err := s.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	if data, err := got.Scan.ReadAll(ctx); err != nil || string(data) != "original scan" {
		t.Fatalf("after the replay: %q, %v", data, err)
	}
}

// TestCommitAfterDeadline: an upload committed after its commit deadline
// fails with FailedPrecondition (retrying cannot help; upload again), not
// Unavailable.
func TestCommitAfterDeadline(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	drv, stop := signtest.Wrap(newMem(t))
	defer stop()
	s, err := docblob.NewStore(drv, &docblob.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up, err := s.NewUpload(ctx, &receipt{User: "ann", ID: "late"}, "scan", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := browserPut(t, up, []byte("payload")); st != http.StatusOK {
		t.Fatalf("upload: %d", st)
	}
	mu.Lock()
	now = now.Add(3 * time.Hour)
	mu.Unlock()
	err = s.Put(ctx, &receipt{User: "ann", ID: "late", Scan: up.Blob})
	if docblob.Code(err) != docblob.FailedPrecondition {
		t.Fatalf("commit 3 hours after signing: %v, want FailedPrecondition", err)
	}
	if _, err := s.BlobFromUpload(up.Token); docblob.Code(err) != docblob.FailedPrecondition {
		t.Fatalf("BlobFromUpload 3 hours after signing: %v, want FailedPrecondition", err)
	}
}

// TestNewUploadRefusesWhatCannotBeCommitted: NewUpload refuses, before the
// client uploads anything, what Put would refuse at the commit.
func TestNewUploadRefusesWhatCannotBeCommitted(t *testing.T) {
	ctx := context.Background()
	drv, stop := signtest.Wrap(newMem(t))
	defer stop()
	s, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type withTitle struct {
		User  string        `docstore:"pk"`
		ID    string        `docstore:"sk"`
		Title string        `docstore:"title"`
		Scan  *docblob.Blob `docstore:"scan"`
	}
	doc := &withTitle{User: "ann", ID: "1"}
	for _, tc := range []struct {
		name  string
		doc   any
		field string
		opts  *docblob.UploadOptions
	}{
		{"NoSuchField", doc, "nope", nil},
		{"NotABlob", doc, "title", nil},
		{"GoName", doc, "Scan", nil},
		{"PartitionKey", doc, "pk", nil},
		{"Revision", map[string]any{"pk": "ann", "sk": "1"}, "DocstoreRevision", nil},
		{"Empty", doc, "", nil},
		{"EmptyMetadataName", doc, "scan", &docblob.UploadOptions{Metadata: map[string]string{"": "x"}}},
		{"HugeMetadata", doc, "scan", &docblob.UploadOptions{Metadata: map[string]string{"note": strings.Repeat("x", 10<<10)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.NewUpload(ctx, tc.doc, tc.field, tc.opts); docblob.Code(err) != docblob.InvalidArgument {
				t.Fatalf("NewUpload: %v, want InvalidArgument", err)
			}
		})
	}
	if _, err := s.NewUpload(ctx, doc, "scan", nil); err != nil {
		t.Fatalf("NewUpload of the *Blob field: %v", err)
	}
	if _, err := s.NewUpload(ctx, map[string]any{"pk": "ann", "sk": "1"}, "anything", nil); err != nil {
		t.Fatalf("NewUpload of a map document's field: %v", err)
	}
}

func TestSignedURLExpiry(t *testing.T) {
	ctx := context.Background()
	drv, stop := signtest.Wrap(newMem(t))
	defer stop()
	s, err := docblob.NewStore(drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := &receipt{User: "ann", ID: "1", Scan: docblob.NewBlobBytes([]byte("x"), nil)}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		expiry time.Duration
		code   docblob.ErrorCode
	}{
		{"Default", 0, docblob.OK},
		{"Millisecond", time.Millisecond, docblob.OK},
		{"Week", docblob.MaxSignedURLExpiry, docblob.OK},
		{"Negative", -time.Minute, docblob.InvalidArgument},
		{"OverAWeek", docblob.MaxSignedURLExpiry + time.Second, docblob.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := doc.Scan.SignedURL(ctx, &docblob.SignedURLOptions{Expiry: tc.expiry})
			if docblob.Code(err) != tc.code {
				t.Fatalf("SignedURL: %v, want code %v", err, tc.code)
			}
			if err != nil {
				return
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET of a fresh URL: %d", resp.StatusCode)
			}
		})
	}
}

// TestSignedURLsBoundToTheirStore: two file:// stores that share a secret
// (two tenants' directories) never accept each other's upload URLs.
func TestSignedURLsBoundToTheirStore(t *testing.T) {
	ctx := context.Background()
	_, a, _ := signingStores(t)
	_, b, _ := signingStores(t)
	up, err := a.NewUpload(ctx, &receipt{User: "ann", ID: "1"}, "scan", nil)
	if err != nil {
		t.Fatal(err)
	}
	upB, err := b.NewUpload(ctx, &receipt{User: "ann", ID: "1"}, "scan", nil)
	if err != nil {
		t.Fatal(err)
	}
	ua, _ := url.Parse(up.URL)
	ub, _ := url.Parse(upB.URL)
	ua.Host = ub.Host // A's URL sent to B's handler
	rehosted := *up
	rehosted.URL = ua.String()
	if st := browserPut(t, &rehosted, []byte("x")); st != http.StatusForbidden {
		t.Fatalf("A's upload URL at B's handler: %d, want 403", st)
	}
}

package docblob_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/spy"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, url string
		code      docblob.ErrorCode
	}{
		{"Mem", "mem://", docblob.OK},
		{"MemParams", "mem://?partition_key=id&sort_key=&prefix=x/&inline_threshold=100", docblob.OK},
		{"UnknownScheme", "nosuch://x", docblob.InvalidArgument},
		{"BadURL", "::", docblob.InvalidArgument},
		{"UnknownParam", "mem://?colour=blue", docblob.InvalidArgument},
		{"BadThreshold", "mem://?inline_threshold=-1", docblob.InvalidArgument},
		{"ThresholdOverDocumentLimit", "mem://?inline_threshold=999999", docblob.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := docblob.Open(ctx, tc.url)
			if docblob.Code(err) != tc.code {
				t.Fatalf("Open(%q): %v, want code %v", tc.url, err, tc.code)
			}
			if s != nil {
				s.Close()
			}
		})
	}
	if !strings.Contains(strings.Join(docblob.Schemes(), ","), "mem") {
		t.Errorf("Schemes() = %v", docblob.Schemes())
	}
}

func TestOpenAppliesParameters(t *testing.T) {
	ctx := context.Background()
	s, err := docblob.Open(ctx, "mem://?partition_key=id&sort_key=&prefix=tenant/")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := map[string]any{"id": "x", "file": docblob.NewBlobBytes([]byte("data"), nil)}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if k := doc["file"].(*docblob.Blob).Key(); !strings.HasPrefix(k, "tenant/mem.docblob/x/file/") {
		t.Errorf("payload key %q ignores the prefix or the key layout", k)
	}
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s, _ := docblob.Open(ctx, "mem://")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &Invoice{Customer: "a", ID: "b"}); docblob.Code(err) != docblob.FailedPrecondition {
		t.Errorf("Put after Close: %v", err)
	}
	if err := s.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

// unsettled reports that writes may land after an error, like a network
// backend.
type unsettled struct{ *spy.Driver }

func (u unsettled) Info() driver.Info {
	i := u.Driver.Info()
	i.SettledOnReturn = false
	return i
}

func TestAmbiguousFailureKeepsPayloads(t *testing.T) {
	// On a backend where a failed write may still be applied later, an
	// ambiguous failure must not delete the payloads the write references.
	ctx := context.Background()
	sp := spy.New(newMem(t))
	var reported []error
	s, err := docblob.NewStore(unsettled{sp}, &docblob.Options{OnCleanupError: func(err error) { reported = append(reported, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sp.FailNext(spy.PutDocument, 1, spy.Fault{Err: errors.New("connection reset")})
	err = s.Put(ctx, &Invoice{Customer: "a", ID: "1", PDF: docblob.NewBlobBytes([]byte("x"), nil)})
	if err == nil || docblob.Code(err) != docblob.Unknown {
		t.Fatalf("Put: %v, want the ambiguous error", err)
	}
	if n := sp.Counts()[spy.DeleteBlob]; n != 0 {
		t.Errorf("ambiguous failure deleted %d payloads", n)
	}
	if sp.Counts()[spy.GetDocument] != 1 {
		t.Error("ambiguous failure did not read the document back")
	}
	if len(reported) != 1 {
		t.Errorf("left payloads were reported %d times", len(reported))
	}

	// A definite failure cleans up at once.
	sp.Reset()
	sp.FailNext(spy.PutDocument, 1, spy.Fault{Err: docblob.PermissionDenied})
	err = s.Put(ctx, &Invoice{Customer: "a", ID: "2", PDF: docblob.NewBlobBytes([]byte("x"), nil)})
	if docblob.Code(err) != docblob.PermissionDenied || sp.Counts()[spy.DeleteBlob] != 1 {
		t.Errorf("definite failure: %v, %v", err, sp.Counts())
	}
}

func TestErrorAs(t *testing.T) {
	ctx := context.Background()
	s, _ := docblob.Open(ctx, "mem://")
	defer s.Close()
	err := s.Get(ctx, &Invoice{Customer: "a", ID: "missing"})
	var e *docblob.Error
	if !errors.As(err, &e) || e.Op != "get" || e.Key != (docblob.Key{Partition: "a", Sort: "missing"}) || e.Code != docblob.NotFound {
		t.Fatalf("error %#v", err)
	}
	var target error
	if !s.ErrorAs(err, &target) || target == nil {
		t.Error("ErrorAs did not reach the driver's error")
	}
}

func TestSeekableBlobRetries(t *testing.T) {
	ctx := context.Background()
	s, sp := spyStore(t, nil)
	// A reader that is not an io.Seeker cannot be read twice.
	b := docblob.NewBlob(strings.NewReader("once"), nil)
	doc := &Invoice{Customer: "a", ID: "1", PDF: docblob.NewBlob(io.MultiReader(strings.NewReader("once")), nil)}
	sp.FailNext(spy.PutDocument, 1, spy.Fault{Err: docblob.PermissionDenied})
	if err := s.Put(ctx, doc); docblob.Code(err) != docblob.PermissionDenied {
		t.Fatal(err)
	}
	if err := s.Put(ctx, doc); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("retry with a consumed reader: %v, want InvalidArgument", err)
	}
	doc.PDF = b
	sp.FailNext(spy.PutDocument, 1, spy.Fault{Err: docblob.PermissionDenied})
	if err := s.Put(ctx, doc); docblob.Code(err) != docblob.PermissionDenied {
		t.Fatal(err)
	}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatalf("retry with a rewound reader: %v", err)
	}
	// Create finds a taken key before it reads a payload of unknown size,
	// so even a plain reader survives for another try.
	once := &Invoice{Customer: "a", ID: "1", PDF: docblob.NewBlob(io.MultiReader(strings.NewReader("new")), nil)}
	if err := s.Create(ctx, once); docblob.Code(err) != docblob.AlreadyExists {
		t.Fatal(err)
	}
	once.ID = "2"
	if err := s.Create(ctx, once); err != nil {
		t.Fatalf("Create of a free key after AlreadyExists: %v", err)
	}
}

type pointerRevision struct {
	Customer string  `docstore:"pk"`
	ID       string  `docstore:"sk"`
	Revision *string `docstore:"DocstoreRevision"`
}

func TestRevisionFieldTypeCheckedBeforeWriting(t *testing.T) {
	// A revision field that cannot hold the new revision is refused before
	// anything is written, not after the commit.
	ctx := context.Background()
	s, _ := docblob.Open(ctx, "mem://")
	defer s.Close()
	err := s.Put(ctx, &pointerRevision{Customer: "a", ID: "1"})
	if docblob.Code(err) != docblob.InvalidArgument {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Get(ctx, &Invoice{Customer: "a", ID: "1"}); docblob.Code(err) != docblob.NotFound {
		t.Errorf("the refused Put wrote a document: %v", err)
	}
}

// TestErrorAsBadTarget checks that Store.ErrorAs refuses a target that
// errors.As cannot fill with a clear panic, whatever the driver and error.
func TestErrorAsBadTarget(t *testing.T) {
	ctx := context.Background()
	s, _ := docblob.Open(ctx, "mem://")
	defer s.Close()
	err := s.Get(ctx, &Invoice{Customer: "a", ID: "missing"})
	var notPointer error
	var nilPointer *error
	var notError int
	for _, tc := range []struct {
		name   string
		err    error
		target any
	}{
		{"Nil", err, nil},
		{"NotPointer", err, notPointer},
		{"NilPointer", err, nilPointer},
		{"PointerToNonError", err, &notError},
		{"NilError", nil, &notError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, "docblob: Store.ErrorAs target") {
					t.Errorf("panic %v, want one naming Store.ErrorAs's target", r)
				}
			}()
			s.ErrorAs(tc.err, tc.target)
		})
	}
	var target error
	if s.ErrorAs(nil, &target) {
		t.Error("ErrorAs(nil) reported true")
	}
}

// codedDriver returns a *driver.Error from GetDocument and counts the
// ErrorCode calls, which must classify raw errors only.
type codedDriver struct {
	driver.Driver
	codeCalls int
}

var errCodedCause = errors.New("the driver's own reason")

func (d *codedDriver) GetDocument(ctx context.Context, k driver.Key) (*driver.Document, error) {
	if k.Sort == "coded" {
		return nil, &driver.Error{Code: driver.PermissionDenied, Err: errCodedCause}
	}
	return d.Driver.GetDocument(ctx, k)
}

func (d *codedDriver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

func (d *codedDriver) ErrorCode(err error) driver.ErrorCode {
	d.codeCalls++
	return d.Driver.ErrorCode(err)
}

// TestDriverErrorHonoured checks that the Store takes the code of a
// *driver.Error without asking the driver's ErrorCode, and keeps the
// error's cause reachable.
func TestDriverErrorHonoured(t *testing.T) {
	ctx := context.Background()
	d := &codedDriver{Driver: newMem(t)}
	s, err := docblob.NewStore(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Get(ctx, &Invoice{Customer: "a", ID: "coded"})
	if docblob.Code(err) != docblob.PermissionDenied || !errors.Is(err, errCodedCause) || d.codeCalls != 0 {
		t.Errorf("Get: %v (code %v) after %d ErrorCode calls", err, docblob.Code(err), d.codeCalls)
	}
	if !strings.Contains(err.Error(), "permission denied: the driver's own reason") {
		t.Errorf("message %q", err)
	}
	var de *driver.Error
	if !s.ErrorAs(err, &de) || de.Err != errCodedCause {
		t.Errorf("ErrorAs did not reach the *driver.Error: %v", de)
	}
}

// TestUnsignedDriver checks that a driver that cannot sign URLs answers
// Unimplemented, and that NewUpload finds out from Info before any work.
func TestUnsignedDriver(t *testing.T) {
	ctx := context.Background()
	sp := spy.New(newMem(t))
	s, err := docblob.NewStore(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inv := &Invoice{Customer: "a", ID: "1", PDF: docblob.NewBlobBytes([]byte("%PDF-1.7"), nil)}
	if err := s.Put(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.PDF.SignedURL(ctx, nil); docblob.Code(err) != docblob.Unimplemented {
		t.Errorf("SignedURL: %v, want Unimplemented", err)
	}
	sp.Reset()
	if _, err := s.NewUpload(ctx, &Invoice{Customer: "a", ID: "2"}, "pdf", nil); docblob.Code(err) != docblob.Unimplemented {
		t.Errorf("NewUpload: %v, want Unimplemented", err)
	}
	if n := sp.Counts(); len(n) != 0 {
		t.Errorf("NewUpload on a driver that cannot sign made driver calls: %v", n)
	}
}

// selfSigner is a driver that signs its own URLs.
type selfSigner struct{ driver.Driver }

func (s selfSigner) Info() driver.Info {
	i := s.Driver.Info()
	i.SignsURLs = true
	return i
}

func init() {
	docblob.Register("selfsigning", docblob.DriverOpenerFunc(func(context.Context, *url.URL) (driver.Driver, error) {
		mem, err := memstore.New(nil)
		if err != nil {
			return nil, err
		}
		return selfSigner{mem}, nil
	}))
}

// TestOpenSignURL checks that sign_url gives localsign's URLs to a driver
// that cannot sign, by its Info, and refuses one that can.
func TestOpenSignURL(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DOCBLOB_SIGN_TEST_SECRET", strings.Repeat("s", 32))
	const params = "?secret_env=DOCBLOB_SIGN_TEST_SECRET&sign_url=http://127.0.0.1:1/blobs"
	s, err := docblob.Open(ctx, "mem://"+params)
	if err != nil {
		t.Fatal(err)
	}
	var d driver.Driver
	if !s.As(&d) || !d.Info().SignsURLs {
		t.Error("sign_url did not give the driver signed URLs")
	}
	s.Close()
	if _, err := docblob.Open(ctx, "selfsigning://"+params); docblob.Code(err) != docblob.InvalidArgument || !strings.Contains(err.Error(), "signs its own URLs") {
		t.Errorf("sign_url on a driver that signs: %v", err)
	}
}

// revKeyDriver stores revisions under another attribute name.
type revKeyDriver struct {
	driver.Driver
	key string
}

func (d revKeyDriver) Info() driver.Info {
	i := d.Driver.Info()
	i.RevisionKey = d.key
	return i
}

// TestRevisionKeyFromInfo checks that the revision field's default name is
// the driver's revision attribute, and that a driver whose revision
// attribute is a key attribute is refused.
func TestRevisionKeyFromInfo(t *testing.T) {
	ctx := context.Background()
	s, err := docblob.NewStore(revKeyDriver{newMem(t), "ver"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := map[string]any{"pk": "a", "sk": "1", "ver": nil}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if rev, _ := doc["ver"].(string); rev == "" {
		t.Errorf("the revision field named after Info.RevisionKey was not set: %v", doc)
	}
	if _, err := docblob.NewStore(revKeyDriver{newMem(t), "sk"}, nil); docblob.Code(err) != docblob.InvalidArgument {
		t.Errorf("NewStore with a revision attribute named like the sort key: %v", err)
	}
}

package docblob_test

import (
	"context"
	"errors"
	"io"
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
	sp := spy.New(memstore.New(nil))
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

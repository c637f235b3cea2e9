package docblob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
)

// Store saves, reads and deletes documents with attached blobs, over a
// driver. It owns the write protocol (see the package documentation), so
// every driver behaves the same. A Store is safe for concurrent use.
type Store struct {
	drv   driver.Driver
	info  driver.Info
	opts  Options
	life  lifecycle
	plans sync.Map                 // reflect.Type of a struct to its *structPlan (see structplan.go)
	ns    string                   // the payload namespace (see namespace.go)
	alg   driver.ChecksumAlgorithm // Options.Checksum: of new payloads
	owner ownerState               // whether the namespace's owner marker was checked
	// tokenKey authenticates upload tokens (see uploadtoken.go).
	tokenKey []byte
	// driverName and attrSets label spans and metrics (see telemetry.go).
	driverName string
	attrSets   sync.Map // [2]string{method, code} to metric.MeasurementOption
}

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// BlobPrefix places the store's payload namespace under a prefix of
	// the blob store, for example "tenants/acme/". It is "" or ends in
	// "/", and no segment of it may end in ".docblob". The namespace is
	// BlobPrefix + the driver's collection name + ".docblob/" (see the
	// package documentation, Ownership).
	BlobPrefix string

	// InlineThreshold, if positive, keeps payloads of at most this many
	// bytes inside the document instead of the blob store: one request
	// instead of two, at the cost of document size (DynamoDB items are
	// limited to 400 KB). Zero disables inlining.
	InlineThreshold int64

	// Checksum is the algorithm of the checksum recorded for each new
	// payload and verified on every read of the whole payload: "" (the
	// default, DefaultChecksum: ChecksumCRC32C), ChecksumCRC32C,
	// ChecksumCRC64NVME or ChecksumSHA256. It applies to payloads written
	// from now on; a payload keeps the checksum it was recorded with, so a
	// store reads payloads of every algorithm. See the package
	// documentation, Checksums.
	Checksum Checksum

	// RevisionField is the name of the document field that holds the
	// revision, for optimistic locking. Default: the attribute name under
	// which the driver stores revisions (driver.Info.RevisionKey),
	// "DocstoreRevision" on every driver of this module, as in
	// gocloud.dev/docstore.
	RevisionField string

	// CleanupTimeout bounds the clean-up work that follows a write (deleting
	// superseded or failed payloads, reading a document back after an
	// ambiguous failure), which runs even if the caller's context is done.
	// Default 30 seconds.
	CleanupTimeout time.Duration

	// CommitDeadline bounds the time from the start of a Put's first
	// payload upload to the start of its document write: a Put that
	// exceeds it deletes its payloads and fails with code Unavailable
	// rather than commit a payload that Sweep may consider orphaned.
	// Default 1 hour; raise it for very large payloads on slow links (and
	// Sweep's grace period with it).
	CommitDeadline time.Duration

	// WriteTimeout bounds a Put's document write, after its payloads are
	// stored. Default 1 minute.
	WriteTimeout time.Duration

	// Secret authenticates the tokens of direct uploads (Upload.Token),
	// so that any process whose store has the same Secret (and
	// collection) can commit an upload another one signed: at least 32
	// bytes of randomness, kept secret, the same in every process of the
	// service. If nil, the store makes a random one, and its tokens are
	// good in this Store only. Open reads it from the environment
	// variable named by the secret_env parameter.
	Secret []byte

	// Now is the store's clock: it dates payloads and uploads, times the
	// commit deadline and gives Sweep the present. Default time.Now. Tests
	// replace it (see memtest.Clock) to run Sweep past its grace period
	// without waiting; a driver that dates payloads itself (ModTime) must
	// use the same clock.
	Now func() time.Time

	// OnCleanupError is called when a payload that should be deleted after
	// a write could not be: the write itself succeeded (or failed for
	// another reason, which is returned), and the payload is left as an
	// orphan for Sweep. The error is an *Error whose Key is the document's
	// and, when it concerns one payload, whose Payload is that payload's
	// storage key. Default: log at Warn level with log/slog's default
	// logger, with the message "docblob: clean-up failed; Sweep will
	// remove the payload" and the attributes op, key (the document key as
	// Key.String prints it), payload, code and err (the error's message,
	// which holds no credentials nor signed URLs).
	OnCleanupError func(err error)
}

// NewStore returns a Store over a driver. It is for driver authors and for
// users who build a driver by hand; most users call Open. opts may be nil.
// The Store closes the driver when it is closed.
func NewStore(drv driver.Driver, opts *Options) (*Store, error) {
	if drv == nil {
		return nil, errorf(InvalidArgument, "open", noKey, "nil driver")
	}
	s := &Store{drv: drv, info: drv.Info(), driverName: driverName(drv)}
	s.life.init()
	if opts != nil {
		s.opts = *opts
	}
	if err := secretError(s.opts.Secret); err != nil {
		return nil, newError(InvalidArgument, "open", noKey, err)
	}
	secret := s.opts.Secret
	if secret == nil {
		secret = randomSecret()
	}
	s.tokenKey = deriveKey(secret, "upload token")
	s.opts.Secret = nil // not kept beyond what it derived
	alg, err := s.opts.Checksum.algorithm()
	if err != nil {
		return nil, newError(InvalidArgument, "open", noKey, err)
	}
	s.alg = alg
	if s.opts.InlineThreshold < 0 {
		return nil, errorf(InvalidArgument, "open", noKey, "negative InlineThreshold")
	}
	if max := s.info.MaxDocumentBytes; max > 0 && s.opts.InlineThreshold > int64(max) {
		return nil, errorf(InvalidArgument, "open", noKey, "InlineThreshold %d exceeds the backend's document limit of %d bytes", s.opts.InlineThreshold, max)
	}
	if s.info.PartitionKey == "" {
		return nil, errorf(InvalidArgument, "open", noKey, "driver reports no partition key attribute")
	}
	if s.info.RevisionKey == "" {
		s.info.RevisionKey = driver.DefaultRevisionKey
	}
	if s.info.RevisionKey == s.info.PartitionKey || s.info.RevisionKey == s.info.SortKey {
		return nil, errorf(InvalidArgument, "open", noKey, "driver stores revisions under its key attribute %q", s.info.RevisionKey)
	}
	ns, err := storeNamespace(s.opts.BlobPrefix, s.info)
	if err != nil {
		return nil, newError(InvalidArgument, "open", noKey, err)
	}
	s.ns = ns
	if s.opts.RevisionField == "" {
		s.opts.RevisionField = s.info.RevisionKey
	}
	if s.opts.CleanupTimeout <= 0 {
		s.opts.CleanupTimeout = 30 * time.Second
	}
	if s.opts.CommitDeadline <= 0 {
		s.opts.CommitDeadline = time.Hour
	}
	if s.opts.WriteTimeout <= 0 {
		s.opts.WriteTimeout = time.Minute
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.OnCleanupError == nil {
		s.opts.OnCleanupError = logCleanupError
	}
	return s, nil
}

// As exposes the driver's underlying clients; see the driver's
// documentation for the types it supports (for example **s3.Client). It
// reports whether i was set. A *driver.Driver is set to the store's
// driver itself, for tools and test helpers that inspect storage
// directly: writing through it bypasses every guarantee of the store.
func (s *Store) As(i any) bool {
	if p, ok := i.(*driver.Driver); ok {
		*p = s.drv
		return true
	}
	return s.drv.As(i)
}

// ErrorAs sets i to the driver's underlying error in err, if it has one of
// i's type, and reports whether it did. It works on errors returned by this
// store; see the driver's documentation for the error types it supports.
// Like errors.As, it panics if i is not a non-nil pointer to an interface
// type or to a type that implements error.
func (s *Store) ErrorAs(err error, i any) bool {
	checkErrorAsTarget(i)
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) && e.Err != nil {
		err = e.Err
	}
	return s.drv.ErrorAs(err, i) || errors.As(err, i)
}

var errorType = reflect.TypeFor[error]()

// checkErrorAsTarget panics, with a message naming Store.ErrorAs, if i is
// not a target that errors.As accepts: so drivers' ErrorAs methods are
// only ever given good ones, as in gocloud.dev's gcerr.ErrorAs.
func checkErrorAsTarget(i any) {
	if i == nil {
		panic("docblob: Store.ErrorAs target is nil; want a non-nil pointer, such as &apiErr")
	}
	v := reflect.ValueOf(i)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("docblob: Store.ErrorAs target must be a non-nil pointer, not %T", i))
	}
	if t := v.Type().Elem(); t.Kind() != reflect.Interface && !t.Implements(errorType) {
		panic(fmt.Sprintf("docblob: Store.ErrorAs target must point to an interface or to a type that implements error, not %T", i))
	}
}

// errorCode classifies an error returned by the driver (driver.Classify):
// the code of a *driver.Error in its chain, else the driver's ErrorCode.
func (s *Store) errorCode(err error) ErrorCode {
	return driver.Classify(s.drv, err)
}

// wrap wraps a driver error once, with the operation and document key.
// Context errors pass through unwrapped.
func (s *Store) wrap(op string, key Key, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code := s.errorCode(err)
	if c := contextErr(err); c != nil && (code == Unknown || code == Unavailable) {
		return c
	}
	return newError(code, op, key, err)
}

// cleanupContext returns a context for clean-up work, which must run to
// completion even if the caller's context is done.
func (s *Store) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
}

// deletePayloads deletes payloads after a write, reporting failures.
func (s *Store) deletePayloads(ctx context.Context, op string, docKey Key, keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := s.cleanupContext(ctx)
	defer cancel()
	for _, k := range keys {
		if err := s.drv.DeleteBlob(ctx, k); err != nil {
			s.reportCleanup(ctx, s.cleanupError(op, docKey, k, err))
		}
	}
}

// cleanupError is the error reported to Options.OnCleanupError for a
// payload that could not be deleted: an *Error naming the document and
// the payload, with the driver's code (a context error, such as the
// clean-up timeout, has code Unavailable and is wrapped, so errors.Is
// still finds it).
func (s *Store) cleanupError(op string, docKey Key, payload string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Payload == "" {
			c.Payload = payload
		}
		return &c
	}
	code := s.errorCode(err)
	if code == Unknown && isContextErr(err) {
		code = Unavailable
	}
	return &Error{Code: code, Op: op, Key: docKey, Payload: payload, Err: err}
}

// logCleanupError is the default Options.OnCleanupError: a Warn record
// of log/slog's default logger, with the document key, the payload key
// and the code as attributes.
func logCleanupError(err error) {
	attrs := make([]slog.Attr, 0, 5)
	var e *Error
	if errors.As(err, &e) {
		attrs = append(attrs, slog.String("op", e.Op))
		if e.Key != noKey {
			attrs = append(attrs, slog.String("key", e.Key.String()))
		}
		if e.Payload != "" {
			attrs = append(attrs, slog.String("payload", e.Payload))
		}
	}
	attrs = append(attrs, slog.String("code", Code(err).String()), slog.String("err", err.Error()))
	slog.Default().LogAttrs(context.Background(), slog.LevelWarn, "docblob: clean-up failed; Sweep will remove the payload", attrs...)
}

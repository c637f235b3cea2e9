// Package spy wraps a driver to count its calls and inject faults. The
// conformance suite counts requests with it; memtest exposes its faults to
// users.
//
// Calls made with a context from Bypass pass through uncounted and
// unfaulted, so that test helpers can inspect storage through the wrapper
// without disturbing what a test measures or arranges. A wrapper made with
// Options.Unsettled reports Info.SettledOnReturn false, so that the
// portable layer treats an injected failure as it would a network
// backend's: maybe applied later.
package spy

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/docblob/docblob/driver"
)

// Op names a driver primitive.
type Op string

// The driver primitives.
const (
	GetDocument    Op = "GetDocument"
	PutDocument    Op = "PutDocument"
	DeleteDocument Op = "DeleteDocument"
	QueryDocuments Op = "QueryDocuments"
	WriteBlob      Op = "WriteBlob"
	OpenBlob       Op = "OpenBlob"
	DeleteBlob     Op = "DeleteBlob"
	ListBlobs      Op = "ListBlobs"
	StatBlob       Op = "StatBlob"
	GetDocuments   Op = "GetDocuments"
	DeleteBlobs    Op = "DeleteBlobs"
)

// Ops lists every primitive.
var Ops = []Op{GetDocument, PutDocument, DeleteDocument, QueryDocuments, WriteBlob, OpenBlob, DeleteBlob, ListBlobs, StatBlob, GetDocuments, DeleteBlobs}

// Fault is what happens to one call.
type Fault struct {
	// Err is returned by the call.
	Err error
	// Applied makes the call reach the wrapped driver first, then return
	// Err anyway: an ambiguous failure, as when a response is lost.
	Applied bool
	// Then, with Applied, is called after the wrapped driver returned and
	// before the call returns Err: what happens between a write that was
	// applied and its caller learning of the failure (another writer's
	// write, say).
	Then func()
	// Hang blocks the call until its context is done, then returns the
	// context's error (without reaching the wrapped driver).
	Hang bool
	// HangFor, with Hang, ends the hang after this long at the latest,
	// returning context.DeadlineExceeded as if the caller's deadline had
	// passed: a hang of bounded length whatever the caller's deadline.
	HangFor time.Duration
	// Crash stops the calling goroutine's whole operation, as if the
	// process died at this call: the call panics with ErrCrash, after
	// reaching the wrapped driver if Applied is set, before otherwise.
	// Callers recover it with Recover.
	Crash bool
}

// ErrCrash is the value a Crash fault panics with.
var ErrCrash = errors.New("spy: simulated crash")

// Recover, deferred, turns a simulated crash into *err = ErrCrash and lets
// other panics through.
func Recover(err *error) {
	if r := recover(); r != nil {
		if r != ErrCrash {
			panic(r)
		}
		*err = ErrCrash
	}
}

// Driver wraps a driver.Driver. It is safe for concurrent use.
type Driver struct {
	driver.Driver

	unsettled bool

	mu     sync.Mutex
	counts map[Op]int
	faults map[Op][]Fault
	hook   func(Op) *Fault

	keys    map[Op]int
	keyHook func(Op, string) error
}

// Options configure NewWithOptions.
type Options struct {
	// Unsettled makes Info report SettledOnReturn false whatever the
	// wrapped driver reports: a document write or delete that returned an
	// error may still be applied later, as behind a network. The portable
	// layer then leaves the payloads of an ambiguously failed write to
	// Sweep instead of deleting them at once.
	Unsettled bool
}

// New wraps d.
func New(d driver.Driver) *Driver {
	return NewWithOptions(d, nil)
}

// NewWithOptions wraps d with options; opts may be nil.
func NewWithOptions(d driver.Driver, opts *Options) *Driver {
	s := &Driver{Driver: d, counts: map[Op]int{}, faults: map[Op][]Fault{}}
	if opts != nil {
		s.unsettled = opts.Unsettled
	}
	return s
}

// Info implements driver.Driver: the wrapped driver's, with
// SettledOnReturn false if the wrapper was made with Options.Unsettled.
func (s *Driver) Info() driver.Info {
	i := s.Driver.Info()
	if s.unsettled {
		i.SettledOnReturn = false
	}
	return i
}

// bypassKey marks a context whose calls the spy neither counts nor faults.
type bypassKey struct{}

// Bypass returns a context derived from ctx whose calls pass through every
// spy uncounted and unfaulted: queued faults and the hook are left for
// other calls.
func Bypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

// bypassed reports whether ctx came from Bypass.
func bypassed(ctx context.Context) bool {
	b, _ := ctx.Value(bypassKey{}).(bool)
	return b
}

// Counts returns the number of calls of each primitive since the last
// Reset, faulted calls included.
func (s *Driver) Counts() map[Op]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Op]int, len(s.counts))
	for k, v := range s.counts {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// Reset zeroes the counts.
func (s *Driver) Reset() {
	s.mu.Lock()
	clear(s.counts)
	clear(s.keys)
	s.mu.Unlock()
}

// FailNext makes the next n calls of op (after those already queued) meet
// fault f.
func (s *Driver) FailNext(op Op, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], f)
	}
}

// SetHook installs a function consulted on every call that has no queued
// fault; it returns the fault for the call, or nil. nil removes the hook.
func (s *Driver) SetHook(h func(Op) *Fault) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// ClearFaults drops queued faults and the hook.
func (s *Driver) ClearFaults() {
	s.mu.Lock()
	clear(s.faults)
	s.hook = nil
	s.keyHook = nil
	s.mu.Unlock()
}

// call counts a call and returns its fault, if any. Calls with a context
// from Bypass are not counted and meet no fault.
func (s *Driver) call(ctx context.Context, op Op) *Fault {
	if bypassed(ctx) {
		return nil
	}
	s.mu.Lock()
	s.counts[op]++
	if q := s.faults[op]; len(q) > 0 {
		f := q[0]
		s.faults[op] = q[1:]
		s.mu.Unlock()
		return &f
	}
	h := s.hook
	s.mu.Unlock()
	if h != nil {
		return h(op)
	}
	return nil
}

// injected returns the error of a fault: a *driver.Error, so that the
// portable layer classifies it without asking the wrapped driver. Its code
// is the driver.ErrorCode that err is or wraps, and otherwise Unknown, an
// ambiguous failure.
func injected(err error) error {
	code := driver.Unknown
	errors.As(err, &code)
	return &driver.Error{Code: code, Err: err}
}

// before handles a fault before the call reaches the wrapped driver. It
// returns done=true with the error to return if the call must not proceed.
func before(ctx context.Context, f *Fault) (bool, error) {
	switch {
	case f == nil || f.Applied:
		return false, nil
	case f.Crash:
		panic(ErrCrash)
	case f.Hang && f.HangFor > 0:
		t := time.NewTimer(f.HangFor)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-t.C:
			return true, context.DeadlineExceeded
		}
	case f.Hang:
		<-ctx.Done()
		return true, ctx.Err()
	}
	return true, injected(f.Err)
}

// after returns the error a call returns once the wrapped driver returned
// err.
func after(f *Fault, err error) error {
	if f != nil && f.Applied && f.Crash {
		panic(ErrCrash)
	}
	if f != nil && f.Applied && f.Then != nil {
		f.Then()
	}
	if f != nil && f.Applied && err == nil {
		return injected(f.Err)
	}
	return err
}

// GetDocument implements driver.Driver.
func (s *Driver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	f := s.call(ctx, GetDocument)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	doc, err := s.Driver.GetDocument(ctx, key)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return doc, nil
}

// PutDocument implements driver.Driver.
func (s *Driver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	f := s.call(ctx, PutDocument)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	prev, err := s.Driver.PutDocument(ctx, doc, cond)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return prev, nil
}

// DeleteDocument implements driver.Driver.
func (s *Driver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	f := s.call(ctx, DeleteDocument)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	prev, err := s.Driver.DeleteDocument(ctx, key, cond)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return prev, nil
}

// QueryDocuments implements driver.Driver.
func (s *Driver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	f := s.call(ctx, QueryDocuments)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	page, err := s.Driver.QueryDocuments(ctx, q)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return page, nil
}

// WriteBlob implements driver.Driver.
func (s *Driver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	f := s.call(ctx, WriteBlob)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	attrs, err := s.Driver.WriteBlob(ctx, key, r, opts)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return attrs, nil
}

// OpenBlob implements driver.Driver.
func (s *Driver) OpenBlob(ctx context.Context, key string, offset, length int64, opts *driver.OpenOptions) (*driver.BlobReader, error) {
	f := s.call(ctx, OpenBlob)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	rc, err := s.Driver.OpenBlob(ctx, key, offset, length, opts)
	if err == nil && f != nil && f.Applied {
		rc.Close()
	}
	if err = after(f, err); err != nil {
		return nil, err
	}
	return rc, nil
}

// DeleteBlob implements driver.Driver.
func (s *Driver) DeleteBlob(ctx context.Context, key string) error {
	f := s.call(ctx, DeleteBlob)
	if done, err := before(ctx, f); done {
		return err
	}
	return after(f, s.Driver.DeleteBlob(ctx, key))
}

// GetDocuments implements driver.Driver. One call counts once, whatever
// the number of keys; a fault applies to the whole call (every key meets
// its error). Keys meets a per-key fault: see KeyHook.
func (s *Driver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	f := s.call(ctx, GetDocuments)
	s.countKeys(ctx, GetDocuments, len(keys))
	if done, err := before(ctx, f); done {
		return make([]*driver.Document, len(keys)), fill(len(keys), err)
	}
	docs, errs := s.Driver.GetDocuments(ctx, keys)
	for i := range keys {
		err := after(f, errs[i])
		if err == nil {
			err = s.keyFault(ctx, GetDocuments, keys[i].Partition+"\x00"+keys[i].Sort)
		}
		if err != nil {
			docs[i], errs[i] = nil, err
		}
	}
	return docs, errs
}

// DeleteBlobs implements driver.Driver, counted and faulted as
// GetDocuments is. A per-key fault (KeyHook) is met before the key reaches
// the wrapped driver, so that its payload stays.
func (s *Driver) DeleteBlobs(ctx context.Context, keys []string) []error {
	f := s.call(ctx, DeleteBlobs)
	s.countKeys(ctx, DeleteBlobs, len(keys))
	if done, err := before(ctx, f); done {
		return fill(len(keys), err)
	}
	errs := make([]error, len(keys))
	pass := make([]string, 0, len(keys))
	var at []int
	for i, k := range keys {
		if err := s.keyFault(ctx, DeleteBlobs, k); err != nil {
			errs[i] = err
			continue
		}
		pass = append(pass, k)
		at = append(at, i)
	}
	if len(pass) > 0 {
		for j, err := range s.Driver.DeleteBlobs(ctx, pass) {
			errs[at[j]] = err
		}
	}
	for i := range errs {
		if errs[i] == nil && f != nil {
			errs[i] = after(f, nil)
		}
	}
	return errs
}

// fill returns n copies of err.
func fill(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// Keys returns the number of keys given to calls of op (GetDocuments,
// DeleteBlobs) since the last Reset.
func (s *Driver) Keys(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[op]
}

func (s *Driver) countKeys(ctx context.Context, op Op, n int) {
	if bypassed(ctx) {
		return
	}
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[Op]int{}
	}
	s.keys[op] += n
	s.mu.Unlock()
}

// SetKeyHook installs a function consulted for every key of a
// GetDocuments or DeleteBlobs call (a document key as partition, NUL,
// sort): a non-nil error fails that key alone, as a backend may fail some
// keys of a batch. nil removes the hook.
func (s *Driver) SetKeyHook(h func(op Op, key string) error) {
	s.mu.Lock()
	s.keyHook = h
	s.mu.Unlock()
}

func (s *Driver) keyFault(ctx context.Context, op Op, key string) error {
	if bypassed(ctx) {
		return nil
	}
	s.mu.Lock()
	h := s.keyHook
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	if err := h(op, key); err != nil {
		return injected(err)
	}
	return nil
}

// ListBlobs implements driver.Driver.
func (s *Driver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	f := s.call(ctx, ListBlobs)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	page, err := s.Driver.ListBlobs(ctx, prefix, pageToken)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return page, nil
}

// StatBlob implements driver.Driver.
func (s *Driver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	f := s.call(ctx, StatBlob)
	if done, err := before(ctx, f); done {
		return nil, err
	}
	info, err := s.Driver.StatBlob(ctx, key)
	if err = after(f, err); err != nil {
		return nil, err
	}
	return info, nil
}

// As sets **Driver to s, and passes other targets to the wrapped driver.
// (SignedURL and ErrorAs are the wrapped driver's, neither counted nor
// faulted.)
func (s *Driver) As(i any) bool {
	if p, ok := i.(**Driver); ok {
		*p = s
		return true
	}
	return s.Driver.As(i)
}

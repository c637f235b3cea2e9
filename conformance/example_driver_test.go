package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
)

// mapDriver is a complete docblob driver, written from the documentation
// of packages driver and conformance alone: documents and payloads in
// maps, guarded by one mutex. It passes TestDriver and Run.
type mapDriver struct {
	driver.Unsupported // SignedURL answers Unimplemented; As and ErrorAs report false

	st     *mapStorage
	docs   map[driver.Key]*driver.Document // the collection's documents, in st
	info   driver.Info
	closed atomic.Bool
}

// mapStorage is what the drivers of one storage share: payloads, and the
// documents of each collection.
type mapStorage struct {
	mu          sync.Mutex
	blobs       map[string]*mapBlob
	collections map[string]map[driver.Key]*driver.Document
}

type mapBlob struct {
	data        []byte
	contentType string
	sum         driver.Checksum // computed as it was written
	modTime     time.Time
}

func newMapStorage() *mapStorage {
	return &mapStorage{blobs: map[string]*mapBlob{}, collections: map[string]map[driver.Key]*driver.Document{}}
}

// driver returns a driver over collection name of the storage, keyed by
// the attribute names pk and sk (sk "" for a partition key only).
func (st *mapStorage) driver(name, pk, sk string) *mapDriver {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.collections[name] == nil {
		st.collections[name] = map[driver.Key]*driver.Document{}
	}
	return &mapDriver{st: st, docs: st.collections[name], info: driver.Info{
		PartitionKey: pk, SortKey: sk, Collection: name,
		MaxPartitionKeyBytes: 2048, MaxSortKeyBytes: 1024, MaxDocumentBytes: 400 << 10, MaxBlobKeyBytes: 1024,
		DynamoDBValues: true, SettledOnReturn: true,
	}}
}

// The driver's errors carry their codes.
var (
	errNotFound = &driver.Error{Code: driver.NotFound, Err: errors.New("mapdriver: not found")}
	errExists   = &driver.Error{Code: driver.AlreadyExists, Err: errors.New("mapdriver: document exists")}
	errRevision = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("mapdriver: revision does not match")}
	errTooLarge = &driver.Error{Code: driver.TooLarge, Err: errors.New("mapdriver: document too large")}
	errClosed   = &driver.Error{Code: driver.FailedPrecondition, Err: errors.New("mapdriver: closed")}
	errToken    = &driver.Error{Code: driver.InvalidArgument, Err: errors.New("mapdriver: bad page token")}
)

// begin starts every method: a closed driver and a done context refuse.
func (d *mapDriver) begin(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

func (d *mapDriver) Info() driver.Info { return d.info }
func (d *mapDriver) Close() error      { d.closed.Store(true); return nil }

// ErrorCode classifies the driver's errors that are not a *driver.Error:
// those of driver.CheckDynamoDBValues, which wrap an ErrorCode.
func (d *mapDriver) ErrorCode(err error) driver.ErrorCode {
	var c driver.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return driver.Unknown
}

func (d *mapDriver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	doc, ok := d.docs[key]
	if !ok {
		return nil, errNotFound
	}
	return doc.Clone(), nil
}

// holds reports whether cond holds for the current document cur (nil if
// none), and the error to return if not.
func holds(cur *driver.Document, cond driver.Condition) error {
	switch {
	case cond.Kind == driver.MustNotExist && cur != nil:
		return errExists
	case cond.Kind == driver.MustMatchRevision && (cur == nil || cur.Revision != cond.Revision):
		return errRevision
	}
	return nil
}

func (d *mapDriver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	if err := driver.CheckDynamoDBValues(doc.Fields); err != nil {
		return nil, err // it wraps InvalidArgument, an ErrorCode
	}
	if driver.DocumentSize(doc, d.info) > d.info.MaxDocumentBytes {
		return nil, errTooLarge
	}
	stored := &driver.Document{Key: doc.Key, Revision: doc.Revision, Fields: driver.CanonicalFields(doc.Fields)}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	cur := d.docs[doc.Key]
	if err := holds(cur, cond); err != nil {
		return nil, err
	}
	d.docs[doc.Key] = stored
	if cur == nil {
		return nil, nil
	}
	return cur.Clone(), nil
}

func (d *mapDriver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	cur := d.docs[key]
	if err := holds(cur, cond); err != nil {
		return nil, err
	}
	delete(d.docs, key)
	return cur, nil // no longer stored: the caller may have it
}

// QueryDocuments sorts the selected documents (in a scan, those of the
// partitions that driver.ScanSegment puts in q's segment) and returns
// those after the page token, which is the index of the next one in the scan order or the
// sort key of the last one returned (prefixed with "k") in a partition.
func (d *mapDriver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.CheckSegments(); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	var docs []*driver.Document
	for k, doc := range d.docs {
		if (q.Partition == "" && q.InSegment(k.Partition)) || (k.Partition == q.Partition && q.SelectsSort(k.Sort)) {
			docs = append(docs, doc.Clone())
		}
	}
	d.st.mu.Unlock()
	slices.SortFunc(docs, func(a, b *driver.Document) int {
		c := cmpKeys(a.Key, b.Key)
		if q.Descending {
			c = -c
		}
		return c
	})
	after, scanFrom := q.StartAfter, 0
	switch {
	case q.PageToken == "":
	case q.Partition != "" && strings.HasPrefix(q.PageToken, "k"):
		after = q.PageToken[1:]
	case q.Partition == "":
		n, err := strconv.Atoi(q.PageToken)
		if err != nil || n < 0 {
			return nil, errToken
		}
		scanFrom = n
	default:
		return nil, errToken
	}
	if q.Partition != "" && after != "" {
		docs = slices.DeleteFunc(docs, func(doc *driver.Document) bool {
			return (!q.Descending && doc.Key.Sort <= after) || (q.Descending && doc.Key.Sort >= after)
		})
	}
	docs = docs[min(scanFrom, len(docs)):]
	page := &driver.QueryPage{Documents: docs}
	if q.Limit > 0 && len(docs) > q.Limit {
		page.Documents = docs[:q.Limit]
		if q.Partition == "" {
			page.NextPageToken = strconv.Itoa(scanFrom + q.Limit)
		} else {
			page.NextPageToken = "k" + docs[q.Limit-1].Key.Sort
		}
	}
	return page, nil
}

func cmpKeys(a, b driver.Key) int {
	if c := strings.Compare(a.Partition, b.Partition); c != 0 {
		return c
	}
	return strings.Compare(a.Sort, b.Sort)
}

// WriteBlob reads the payload whole, then stores it: nothing is visible
// before it is complete.
func (d *mapDriver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(&ctxReader{ctx, r})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &mapBlob{data: data, modTime: time.Now()}
	if opts != nil {
		b.contentType = opts.ContentType
	}
	alg := opts.Algorithm()
	b.sum = driver.Checksum{Algorithm: alg, Sum: alg.Sum(data)}
	if opts != nil && opts.Sum != nil && !bytes.Equal(opts.Sum, b.sum.Sum) {
		return nil, &driver.Error{Code: driver.Corrupt, Err: errors.New("the payload does not match its announced checksum")}
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	d.st.blobs[key] = b
	return &driver.BlobAttrs{Checksum: b.sum}, nil
}

// ctxReader makes reads observe a context.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (d *mapDriver) blob(ctx context.Context, key string) (*mapBlob, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	b, ok := d.st.blobs[key]
	if !ok {
		return nil, errNotFound
	}
	return b, nil
}

func (d *mapDriver) OpenBlob(ctx context.Context, key string, offset, length int64, _ *driver.OpenOptions) (*driver.BlobReader, error) {
	b, err := d.blob(ctx, key)
	if err != nil {
		return nil, err
	}
	data := b.data[min(offset, int64(len(b.data))):]
	if length >= 0 {
		data = data[:min(length, int64(len(data)))]
	}
	return &driver.BlobReader{ReadCloser: io.NopCloser(&ctxReader{ctx, bytes.NewReader(data)})}, nil
}

func (d *mapDriver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	b, err := d.blob(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.BlobInfo{Key: key, Size: int64(len(b.data)), ModTime: b.modTime, Checksum: b.sum, ContentType: b.contentType}, nil
}

func (d *mapDriver) DeleteBlob(ctx context.Context, key string) error {
	if err := d.begin(ctx); err != nil {
		return err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	delete(d.st.blobs, key)
	return nil
}

// GetDocuments and DeleteBlobs loop over the single-key primitives.
func (d *mapDriver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

func (d *mapDriver) DeleteBlobs(ctx context.Context, keys []string) []error {
	return driver.DeleteEach(ctx, d, keys)
}

// ListBlobs returns every payload under prefix in one page.
func (d *mapDriver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	page := &driver.BlobPage{}
	for key, b := range d.st.blobs {
		if strings.HasPrefix(key, prefix) {
			page.Blobs = append(page.Blobs, driver.BlobInfo{Key: key, Size: int64(len(b.data)), ModTime: b.modTime})
		}
	}
	slices.SortFunc(page.Blobs, func(a, b driver.BlobInfo) int { return strings.Compare(a.Key, b.Key) })
	return page, nil
}

// mapHarness gives Run a fresh mapStorage per test (see TestMapDriver).
type mapHarness struct{ st *mapStorage }

func (h *mapHarness) MakeDriver(context.Context) (driver.Driver, error) {
	return h.st.driver("default", "pk", "sk"), nil
}

func (h *mapHarness) MakeCollectionDriver(_ context.Context, c conformance.Collection) (driver.Driver, error) {
	pk, sk := c.Keys()
	return h.st.driver(c.Name, pk, sk), nil
}

func (h *mapHarness) CorruptBlob(_ context.Context, key string) error {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	b, ok := h.st.blobs[key]
	if !ok {
		return errNotFound
	}
	data := bytes.Clone(b.data) // readers opened before keep the old bytes
	data[0] ^= 0xff
	b.data = data
	return nil
}

func (h *mapHarness) Close() {}

// A complete driver, a map in memory, written from the documentation of
// packages driver and conformance alone, and its harness. Its author
// checks its primitives first with TestDriver, which names the method,
// the input and the expectation of every deviation; then runs the whole
// suite with the harness:
//
//	func TestMapDriver(t *testing.T) {
//		conformance.Run(t, func(context.Context, *testing.T) (conformance.Harness, error) {
//			return &mapHarness{st: newMapStorage()}, nil
//		})
//	}
func Example_driver() {
	drv := newMapStorage().driver("example", "pk", "sk")
	defer drv.Close()
	if err := conformance.TestDriver(context.Background(), drv); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("the driver passes")
	// Output: the driver passes
}

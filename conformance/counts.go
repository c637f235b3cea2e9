package conformance

import (
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
	"github.com/stretchr/testify/assert"
)

// testRequestCounts checks the design's minimum number of driver calls per
// operation. (Drivers make one request per call; the s3dynamo tests count
// on the wire as well.)
func testRequestCounts(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	want := func(name string, counts map[spy.Op]int) {
		t.Helper()
		assert.Equal(t, counts, e.spy.Counts(), "%s made these driver calls", name)
		e.spy.Reset()
	}
	// Claiming the namespace is once per Store, not per Put.
	must(t, e.store.ClaimNamespace(e.ctx), "ClaimNamespace")
	e.spy.Reset()
	must(t, e.store.ClaimNamespace(e.ctx), "ClaimNamespace again")
	want("ClaimNamespace after the first", map[spy.Op]int{})
	doc := &multi{PK: "n", SK: "1", A: docblob.NewBlobBytes([]byte("small"), nil)}
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put of a new document with one attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1})

	doc.A = docblob.NewBlobBytes([]byte("replacement"), nil)
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put replacing the attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1, spy.DeleteBlob: 1})

	doc.Count++
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put keeping the attachment", map[spy.Op]int{spy.PutDocument: 1})

	got := &multi{PK: "n", SK: "1"}
	must(t, e.store.Get(e.ctx, got), "Get")
	want("Get", map[spy.Op]int{spy.GetDocument: 1})

	r, err := got.A.Open(e.ctx)
	must(t, err, "Open")
	io.Copy(io.Discard, r)
	r.Close()
	want("Open and read", map[spy.Op]int{spy.OpenBlob: 1})

	got.B = docblob.NewBlobBytes([]byte("second"), nil)
	must(t, e.store.Put(e.ctx, got), "Put")
	e.spy.Reset()
	must(t, e.store.Delete(e.ctx, &multi{PK: "n", SK: "1"}), "Delete")
	want("Delete of a document with two attachments", map[spy.Op]int{spy.DeleteDocument: 1, spy.DeleteBlob: 2})

	must(t, e.store.Create(e.ctx, &multi{PK: "n", SK: "2"}), "Create")
	e.spy.Reset()
	wantCode(t, e.store.Create(e.ctx, &multi{PK: "n", SK: "2", A: docblob.NewBlobBytes([]byte("x"), nil)}), docblob.AlreadyExists, "Create")
	want("failed Create with one attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1, spy.DeleteBlob: 1})
}

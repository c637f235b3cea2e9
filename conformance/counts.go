package conformance

import (
	"io"
	"testing"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/internal/spy"
	"github.com/stretchr/testify/assert"
)

// testRequestCounts checks the design's minimum number of driver calls per
// operation and, through a harness's Wire, the requests they send on the
// wire: one per driver call, but for a PutDocument (other than a create)
// or DeleteDocument of a driver that says in Info that they cost more
// (Info.PutDocumentRequests and DeleteDocumentRequests).
func testRequestCounts(t *testing.T, newHarness HarnessMaker) {
	e := newEnv(t, newHarness, nil)
	wire, onWire := e.h.(Wire)
	info := e.spy.Info()
	extraPut, extraDelete := max(info.PutDocumentRequests-1, 0), max(info.DeleteDocumentRequests-1, 0)
	sent := 0
	if onWire {
		sent = wire.WireRequests()
	}
	// want checks the driver calls of the operation named name and, on
	// the wire, as many requests plus those of its updates (PutDocument
	// calls other than creates) and DeleteDocument calls.
	want := func(name string, counts map[spy.Op]int, updates int) {
		t.Helper()
		assert.Equal(t, counts, e.spy.Counts(), "%s made these driver calls", name)
		e.spy.Reset()
		if !onWire {
			return
		}
		n := wire.WireRequests()
		calls := updates*extraPut + counts[spy.DeleteDocument]*extraDelete
		for _, c := range counts {
			calls += c
		}
		assert.Equal(t, calls, n-sent, "%s sent this many requests on the wire (driver calls %v, %d of them PutDocument updates costing %d more each, and DeleteDocument costing %d more each)", name, counts, updates, extraPut, extraDelete)
		sent = n
	}
	// skip forgets the calls and requests of operations not measured.
	skip := func() {
		e.spy.Reset()
		if onWire {
			sent = wire.WireRequests()
		}
	}
	// Claiming the namespace is once per Store, not per Put.
	must(t, e.store.ClaimNamespace(e.ctx), "ClaimNamespace")
	skip()
	must(t, e.store.ClaimNamespace(e.ctx), "ClaimNamespace again")
	want("ClaimNamespace after the first", map[spy.Op]int{}, 0)
	doc := &multi{PK: "n", SK: "1", A: docblob.NewBlobBytes([]byte("small"), nil)}
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put of a new document with one attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1}, 1)

	doc.A = docblob.NewBlobBytes([]byte("replacement"), nil)
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put replacing the attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1, spy.DeleteBlob: 1}, 1)

	doc.Count++
	must(t, e.store.Put(e.ctx, doc), "Put")
	want("Put keeping the attachment", map[spy.Op]int{spy.PutDocument: 1}, 1)

	got := &multi{PK: "n", SK: "1"}
	must(t, e.store.Get(e.ctx, got), "Get")
	want("Get", map[spy.Op]int{spy.GetDocument: 1}, 0)

	r, err := got.A.Open(e.ctx)
	must(t, err, "Open")
	io.Copy(io.Discard, r)
	r.Close()
	want("Open and read", map[spy.Op]int{spy.OpenBlob: 1}, 0)

	got.B = docblob.NewBlobBytes([]byte("second"), nil)
	must(t, e.store.Put(e.ctx, got), "Put")
	skip()
	must(t, e.store.Delete(e.ctx, &multi{PK: "n", SK: "1"}), "Delete")
	want("Delete of a document with two attachments", map[spy.Op]int{spy.DeleteDocument: 1, spy.DeleteBlob: 2}, 0)

	must(t, e.store.Create(e.ctx, &multi{PK: "n", SK: "2"}), "Create")
	skip()
	wantCode(t, e.store.Create(e.ctx, &multi{PK: "n", SK: "2", A: docblob.NewBlobBytes([]byte("x"), nil)}), docblob.AlreadyExists, "Create")
	want("failed Create with one attachment", map[spy.Op]int{spy.WriteBlob: 1, spy.PutDocument: 1, spy.DeleteBlob: 1}, 0)
}

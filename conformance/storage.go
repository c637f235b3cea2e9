package conformance

import (
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// documents returns every stored document, read through the driver.
func (e *env) documents() []*driver.Document {
	e.t.Helper()
	d := e.rawDriver()
	var docs []*driver.Document
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(e.ctx, q)
		if err != nil {
			e.t.Fatalf("scanning documents: %v", err)
		}
		docs = append(docs, page.Documents...)
		if page.NextPageToken == "" {
			return docs
		}
		q.PageToken = page.NextPageToken
	}
}

// payloads returns the size of every stored payload, by key.
func (e *env) payloads() map[string]int64 {
	e.t.Helper()
	d := e.rawDriver()
	out := map[string]int64{}
	token := ""
	for {
		page, err := d.ListBlobs(e.ctx, "", token)
		if err != nil {
			e.t.Fatalf("listing payloads: %v", err)
		}
		for _, b := range page.Blobs {
			out[b.Key] = b.Size
		}
		if page.NextPageToken == "" {
			return out
		}
		token = page.NextPageToken
	}
}

// checkStorage checks that every payload a document references exists with
// its recorded size, and that no payload is unreferenced.
func (e *env) checkStorage() {
	e.t.Helper()
	payloads := e.payloads()
	referenced := map[string]bool{}
	for _, doc := range e.documents() {
		for field, v := range doc.Fields {
			if !attach.Is(v) {
				continue
			}
			ref, err := attach.Decode(v)
			if err != nil {
				e.t.Errorf("document %v field %q: malformed attachment: %v", doc.Key, field, err)
				continue
			}
			if ref.IsInline {
				continue
			}
			referenced[ref.Key] = true
			size, ok := payloads[ref.Key]
			switch {
			case !ok:
				e.t.Errorf("document %v field %q references missing payload %q", doc.Key, field, ref.Key)
			case size != ref.Size:
				e.t.Errorf("document %v field %q: payload %q has %d bytes, %d recorded", doc.Key, field, ref.Key, size, ref.Size)
			}
		}
	}
	for key := range payloads {
		if !referenced[key] {
			e.t.Errorf("orphan payload %q: no document references it", key)
		}
	}
}

// wantPayloads fails the test unless exactly n payloads are stored.
func (e *env) wantPayloads(n int) {
	e.t.Helper()
	if got := e.payloads(); len(got) != n {
		e.t.Errorf("%d payloads stored, want %d: %v", len(got), n, got)
	}
}

// wantDocuments fails the test unless exactly n documents are stored.
func (e *env) wantDocuments(n int) {
	e.t.Helper()
	if got := e.documents(); len(got) != n {
		e.t.Errorf("%d documents stored, want %d", len(got), n)
	}
}

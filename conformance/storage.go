package conformance

import (
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/check"
)

// documents returns every stored document, read through the driver.
func (e *env) documents() []*driver.Document {
	e.t.Helper()
	docs, err := check.Documents(e.ctx, e.rawDriver())
	if err != nil {
		e.t.Fatal(err)
	}
	return docs
}

// payloads returns the size of every stored payload, by key.
func (e *env) payloads() map[string]int64 {
	e.t.Helper()
	p, err := check.Payloads(e.ctx, e.rawDriver())
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// checkStorage checks that every payload a document references exists with
// its recorded size, and that no payload is unreferenced.
func (e *env) checkStorage() {
	e.t.Helper()
	for _, p := range check.Problems(e.documents(), e.payloads()) {
		e.t.Error(p)
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

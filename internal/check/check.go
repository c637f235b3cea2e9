// Package check lists what a driver stores and finds broken references:
// documents pointing at missing or wrongly sized payloads, and payloads no
// document references. The conformance suite and memtest share it.
package check

import (
	"context"
	"fmt"
	"sort"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// Documents returns every stored document.
func Documents(ctx context.Context, d driver.Driver) ([]*driver.Document, error) {
	var docs []*driver.Document
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("scanning documents: %w", err)
		}
		docs = append(docs, page.Documents...)
		if page.NextPageToken == "" {
			return docs, nil
		}
		q.PageToken = page.NextPageToken
	}
}

// Payloads returns the size of every stored payload, by key.
func Payloads(ctx context.Context, d driver.Driver) (map[string]int64, error) {
	out := map[string]int64{}
	token := ""
	for {
		page, err := d.ListBlobs(ctx, "", token)
		if err != nil {
			return nil, fmt.Errorf("listing payloads: %w", err)
		}
		for _, b := range page.Blobs {
			if !attach.IsOwnerMarker(b.Key) {
				out[b.Key] = b.Size
			}
		}
		if page.NextPageToken == "" {
			return out, nil
		}
		token = page.NextPageToken
	}
}

// Problems returns a description of each broken reference: a document
// field referencing a missing payload or one of another size, a malformed
// attachment, and a payload that no document references. It returns nil if
// the storage is consistent.
func Problems(docs []*driver.Document, payloads map[string]int64) []string {
	var problems []string
	referenced := map[string]bool{}
	for _, doc := range docs {
		for field, v := range doc.Fields {
			if !attach.Is(v) {
				continue
			}
			ref, err := attach.Decode(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("document %q/%q field %q: malformed attachment: %v", doc.Key.Partition, doc.Key.Sort, field, err))
				continue
			}
			if ref.IsInline {
				continue
			}
			referenced[ref.Key] = true
			size, ok := payloads[ref.Key]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("document %q/%q field %q references missing payload %q", doc.Key.Partition, doc.Key.Sort, field, ref.Key))
			case size != ref.Size:
				problems = append(problems, fmt.Sprintf("document %q/%q field %q: payload %q has %d bytes, %d recorded", doc.Key.Partition, doc.Key.Sort, field, ref.Key, size, ref.Size))
			}
		}
	}
	var orphans []string
	for key := range payloads {
		if !referenced[key] {
			orphans = append(orphans, key)
		}
	}
	sort.Strings(orphans)
	for _, key := range orphans {
		problems = append(problems, fmt.Sprintf("orphan payload %q: no document references it", key))
	}
	return problems
}

// Storage scans a driver's storage and returns its problems.
func Storage(ctx context.Context, d driver.Driver) ([]string, error) {
	docs, err := Documents(ctx, d)
	if err != nil {
		return nil, err
	}
	payloads, err := Payloads(ctx, d)
	if err != nil {
		return nil, err
	}
	return Problems(docs, payloads), nil
}

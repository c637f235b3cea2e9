package gocloud

import (
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"
)

// MemCollection opens an empty memdocstore collection keyed by the fields
// partitionKey and sortKey ("" for a collection keyed by the partition
// key alone), with DefaultCASField as its revision field: what New needs,
// which memdocstore's URLs cannot say (they name one key field). Give
// the driver Options{Retries: RetriesNone, SettledOnReturn: true}:
// memdocstore never re-sends a write and applies it in the caller's
// goroutine.
func MemCollection(partitionKey, sortKey string) (*docstore.Collection, error) {
	opts := &memdocstore.Options{RevisionField: DefaultCASField}
	if sortKey == "" {
		return memdocstore.OpenCollection(partitionKey, opts)
	}
	return memdocstore.OpenCollectionWithKeyFunc(func(doc docstore.Document) any {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		p, _ := m[partitionKey].(string)
		s, _ := m[sortKey].(string)
		if p == "" || s == "" {
			return nil
		}
		return [2]string{p, s}
	}, opts)
}

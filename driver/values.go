package driver

import (
	"fmt"
	"maps"
	"time"
)

// Clone returns a deep copy of doc, sharing no mutable memory with it.
// Drivers that keep documents in memory use it on the way in and out.
func (doc *Document) Clone() *Document {
	if doc == nil {
		return nil
	}
	return &Document{Key: doc.Key, Revision: doc.Revision, Fields: CloneFields(doc.Fields)}
}

// CloneFields returns a deep copy of a Fields map.
func CloneFields(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = CloneValue(v)
	}
	return out
}

// CloneValue returns a deep copy of a field value (see Document.Fields for
// the value types).
func CloneValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if x == nil {
			return []byte(nil)
		}
		return append(make([]byte, 0, len(x)), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = CloneValue(e)
		}
		return out
	case map[string]any:
		return CloneFields(x)
	default:
		return v
	}
}

// DocumentSize returns the size of doc as DynamoDB counts it: the UTF-8
// length of every attribute name plus the size of every value, the key and
// revision attributes included. Drivers may use it to enforce
// Info.MaxDocumentBytes; the portable layer checks it before writing.
func DocumentSize(doc *Document, info Info) int {
	n := len(info.PartitionKey) + len(doc.Key.Partition)
	if info.SortKey != "" {
		n += len(info.SortKey) + len(doc.Key.Sort)
	}
	n += len("DocstoreRevision") + len(doc.Revision)
	for k, v := range doc.Fields {
		n += FieldSize(k, v)
	}
	return n
}

// FieldSize returns the size that DocumentSize counts for one field of
// Document.Fields.
func FieldSize(name string, value any) int {
	return len(name) + valueSize(value)
}

func valueSize(v any) int {
	switch x := v.(type) {
	case nil, bool:
		return 1
	case string:
		return len(x)
	case []byte:
		return len(x)
	case int64, float64:
		return 21 // DynamoDB: up to 38 significant digits, 1 byte per two
	case time.Time:
		return len(time.RFC3339Nano)
	case []any:
		n := 3
		for _, e := range x {
			n += 1 + valueSize(e)
		}
		return n
	case map[string]any:
		n := 3
		for k, e := range x {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	default:
		panic(fmt.Sprintf("docblob/driver: unsupported field value type %T", v))
	}
}

// EqualFields reports whether two Fields maps hold equal values. It is meant
// for tests.
func EqualFields(a, b map[string]any) bool {
	return maps.EqualFunc(a, b, equalValue)
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && EqualFields(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	default:
		return a == b
	}
}

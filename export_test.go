package docblob

import "reflect"

// GeneralPathOnly makes s read documents of doc's type (a struct pointer)
// through the general codec, without a struct plan.
func GeneralPathOnly(s *Store, doc any) {
	s.plans.Store(reflect.TypeOf(doc).Elem(), (*structPlan)(nil))
}

// CopyBufferSize is the size of the buffer a blob reader's WriteTo reads
// into, for tests of payloads around it.
const CopyBufferSize = copyBufferSize

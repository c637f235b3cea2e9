package driver

import (
	"fmt"
	"hash/fnv"
)

// MaxScanSegments is the largest Query.TotalSegments, DynamoDB's limit
// for a parallel Scan.
const MaxScanSegments = 1_000_000

// CheckSegments returns an *Error of code InvalidArgument if q's Segment
// and TotalSegments are not valid (see Query.TotalSegments), and nil
// otherwise.
func (q *Query) CheckSegments() error {
	switch {
	case q.TotalSegments < 0 || q.TotalSegments > MaxScanSegments:
		return &Error{Code: InvalidArgument, Err: fmt.Errorf("total segments %d out of range [0, %d]", q.TotalSegments, MaxScanSegments)}
	case q.TotalSegments > 1 && q.Partition != "":
		return &Error{Code: InvalidArgument, Err: fmt.Errorf("a query of one partition takes no scan segments")}
	case q.Segment < 0 || q.Segment >= max(q.TotalSegments, 1):
		return &Error{Code: InvalidArgument, Err: fmt.Errorf("segment %d out of range [0, %d)", q.Segment, max(q.TotalSegments, 1))}
	}
	return nil
}

// ScanSegment returns the segment, in [0, total), of the documents of the
// partition in a scan split into total segments: the 64-bit FNV-1a hash of
// the partition key modulo total (0 when total <= 1). Drivers whose
// backend has no parallel scan of its own use it, so that a partition's
// documents all lie in one segment and a segment's scan can skip whole
// partitions.
func ScanSegment(partition string, total int) int {
	if total <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(partition))
	return int(h.Sum64() % uint64(total))
}

// InSegment reports whether the documents of the partition belong to
// q's segment: always when q.TotalSegments <= 1.
func (q *Query) InSegment(partition string) bool {
	return q.TotalSegments <= 1 || ScanSegment(partition, q.TotalSegments) == q.Segment
}

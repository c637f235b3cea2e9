//go:build !linux || race

package s3dynamo

// mapBuffer maps nothing here: part buffers come from the Go heap, on
// systems other than Linux and in builds with the race detector, which
// only watches the Go heap (see partPool).
func mapBuffer(int64) []byte { return nil }

// releasePages is never called here: nothing is mapped.
func releasePages([]byte) {}

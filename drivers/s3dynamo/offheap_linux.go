//go:build linux && !race

package s3dynamo

import "syscall"

// mapBuffer returns a buffer of size bytes mapped outside the Go heap
// (anonymous, private, read and write), or nil if the system refuses.
// Its pages are only resident once touched.
func mapBuffer(size int64) []byte {
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// releasePages gives the pages of a mapped buffer back to the system; the
// buffer stays mapped and reads as zeros until written again.
func releasePages(b []byte) {
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
}

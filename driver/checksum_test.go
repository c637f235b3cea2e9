package driver_test

import (
	"testing"

	"github.com/docblob/docblob/driver"
)

// BenchmarkChecksum measures each checksum algorithm over 1 MiB, side by
// side (MB/s): the figures that docblob's package documentation cites.
//
//	go test -run '^$' -bench Checksum ./driver/
func BenchmarkChecksum(b *testing.B) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, alg := range driver.ChecksumAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			h := alg.New()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h.Reset()
				h.Write(data)
				h.Sum(nil)
			}
		})
	}
}

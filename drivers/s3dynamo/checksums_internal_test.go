package s3dynamo

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/docblob/docblob/driver"
)

// TestCombineSums checks the full-object CRC of a multipart upload,
// combined from its parts' CRCs, against the CRC of the whole.
func TestCombineSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, alg := range []driver.ChecksumAlgorithm{driver.CRC32C, driver.CRC64NVME} {
		for _, cuts := range [][]int{{0}, {1}, {1000, 1001}, {1 << 20, 2 << 20}, {len(data) - 1}, {len(data)}} {
			sum := alg.Sum(data[:cuts[0]])
			prev := cuts[0]
			for _, c := range append(cuts[1:], len(data)) {
				sum = combineSums(alg, sum, alg.Sum(data[prev:c]), int64(c-prev))
				prev = c
			}
			if want := alg.Sum(data); !bytes.Equal(sum, want) {
				t.Errorf("%s with cuts %v: combined %x, want %x", alg, cuts, sum, want)
			}
		}
	}
}

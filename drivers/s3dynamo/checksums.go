package s3dynamo

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

// s3Algorithm returns S3's name of a checksum algorithm.
func s3Algorithm(a driver.ChecksumAlgorithm) s3types.ChecksumAlgorithm {
	switch a {
	case driver.CRC32C:
		return s3types.ChecksumAlgorithmCrc32c
	case driver.CRC64NVME:
		return s3types.ChecksumAlgorithmCrc64nvme
	}
	return s3types.ChecksumAlgorithmSha256
}

// s3Checksums are the x-amz-checksum-* values of a request or response,
// in the fields of the SDK's inputs and outputs that carry them.
type s3Checksums struct {
	sha256, crc32c, crc64nvme *string
	typ                       s3types.ChecksumType
}

// field returns the field of c that holds algorithm a's value.
func (c *s3Checksums) field(a driver.ChecksumAlgorithm) **string {
	switch a {
	case driver.CRC32C:
		return &c.crc32c
	case driver.CRC64NVME:
		return &c.crc64nvme
	}
	return &c.sha256
}

// set sets the value of sum's algorithm to its base64.
func (c *s3Checksums) set(sum driver.Checksum) {
	*c.field(sum.Algorithm) = aws.String(base64.StdEncoding.EncodeToString(sum.Sum))
}

// fullObject returns the checksum of the whole object of algorithm a
// that c reports, or nil if it reports none: no value, a composite one
// (a multipart upload's "<base64>-<parts>", or a type of COMPOSITE), or
// anything that is not the standard base64 of a sum of a's size.
func (c *s3Checksums) fullObject(a driver.ChecksumAlgorithm) []byte {
	v := *c.field(a)
	if v == nil || c.typ == s3types.ChecksumTypeComposite {
		return nil
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(*v)
	if err != nil || len(sum) != a.Size() {
		return nil
	}
	return sum
}

// any returns a full-object checksum that c reports, preferring SHA-256,
// or the zero Checksum.
func (c *s3Checksums) any() driver.Checksum {
	for _, a := range driver.ChecksumAlgorithms {
		if sum := c.fullObject(a); sum != nil {
			return driver.Checksum{Algorithm: a, Sum: sum}
		}
	}
	return driver.Checksum{}
}

// crcCombine returns the CRC of the concatenation of two byte strings
// from their CRCs crc1 and crc2 and the length len2 of the second, for a
// reflected CRC of width bits (32 or 64) with the reversed polynomial
// poly, initial value and final XOR all ones (CRC-32C and CRC-64/NVME):
// zlib's crc32_combine, in GF(2), in O(log len2) steps. It lets a
// multipart upload compute its full-object CRC from the CRCs of its
// parts, computed concurrently, with one pass over the bytes.
func crcCombine(crc1, crc2 uint64, len2 int64, poly uint64, width int) uint64 {
	if len2 <= 0 {
		return crc1
	}
	var even, odd [64]uint64
	odd[0] = poly // the operator for one zero bit
	row := uint64(1)
	for n := 1; n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even[:width], odd[:width]) // two zero bits
	gf2Square(odd[:width], even[:width]) // four zero bits
	for {
		gf2Square(even[:width], odd[:width])
		if len2&1 != 0 {
			crc1 = gf2Times(even[:width], crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(odd[:width], even[:width])
		if len2&1 != 0 {
			crc1 = gf2Times(odd[:width], crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

// combineSums returns the checksum of algorithm a (CRC32C or CRC64NVME)
// of the concatenation of two byte strings from their sums and the
// length of the second.
func combineSums(a driver.ChecksumAlgorithm, sum1, sum2 []byte, len2 int64) []byte {
	if a == driver.CRC32C {
		c := crcCombine(uint64(binary.BigEndian.Uint32(sum1)), uint64(binary.BigEndian.Uint32(sum2)), len2, crc32.Castagnoli, 32)
		return binary.BigEndian.AppendUint32(nil, uint32(c))
	}
	c := crcCombine(binary.BigEndian.Uint64(sum1), binary.BigEndian.Uint64(sum2), len2, crc64NVMEPoly, 64)
	return binary.BigEndian.AppendUint64(nil, c)
}

// crc64NVMEPoly is the reversed polynomial of CRC-64/NVME.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

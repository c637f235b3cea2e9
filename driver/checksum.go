package driver

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"sync"
)

// ChecksumAlgorithm names a payload checksum algorithm. The portable layer
// records one checksum per payload, of the algorithm the store's options
// choose, and verifies it on every read of the whole payload.
type ChecksumAlgorithm string

// The checksum algorithms. Their names are also the names of the
// attachment attributes that record them, and their sums are in the byte
// order of S3's checksum headers (big-endian for the CRCs, as hash/crc32
// and hash/crc64 give them).
const (
	// SHA256 is SHA-256: 32 bytes.
	SHA256 ChecksumAlgorithm = "sha256"
	// CRC32C is the CRC-32 with the Castagnoli polynomial (hash/crc32's
	// Castagnoli table): 4 bytes.
	CRC32C ChecksumAlgorithm = "crc32c"
	// CRC64NVME is the CRC-64/NVME (hash/crc64 with the table of
	// 0x9a6c9329ac4bc9b5, S3's and the AWS SDK's CRC64NVME): 8 bytes.
	CRC64NVME ChecksumAlgorithm = "crc64nvme"
)

// ChecksumAlgorithms lists the algorithms, in a fixed order.
var ChecksumAlgorithms = []ChecksumAlgorithm{SHA256, CRC32C, CRC64NVME}

// The CRC tables are made on first use, not when the package is
// initialized: together 0.3 ms of every process's start (a cold start on
// AWS Lambda), which a process that only reads documents never needs.
var (
	crc32cTable    = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })
	crc64nvmeTable = sync.OnceValue(func() *crc64.Table { return crc64.MakeTable(0x9a6c9329ac4bc9b5) })
)

// Size returns the length in bytes of a's sums, or 0 if a is not one of
// the algorithms above.
func (a ChecksumAlgorithm) Size() int {
	switch a {
	case SHA256:
		return sha256.Size
	case CRC32C:
		return crc32.Size
	case CRC64NVME:
		return crc64.Size
	}
	return 0
}

// Valid reports whether a is one of the algorithms above.
func (a ChecksumAlgorithm) Valid() bool { return a.Size() > 0 }

// New returns a new hash computing a's sums, or nil if a is not valid.
func (a ChecksumAlgorithm) New() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	case CRC32C:
		return crc32.New(crc32cTable())
	case CRC64NVME:
		return crc64.New(crc64nvmeTable())
	}
	return nil
}

// Sum returns a's sum of data, or nil if a is not valid.
func (a ChecksumAlgorithm) Sum(data []byte) []byte {
	switch a {
	case SHA256:
		s := sha256.Sum256(data)
		return s[:]
	case CRC32C:
		return binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32cTable()))
	case CRC64NVME:
		return binary.BigEndian.AppendUint64(nil, crc64.Checksum(data, crc64nvmeTable()))
	}
	return nil
}

// Checksum is one checksum of a payload: its algorithm and its sum.
type Checksum struct {
	Algorithm ChecksumAlgorithm
	Sum       []byte
}

// Valid reports whether c has a known algorithm and a sum of its length.
func (c Checksum) Valid() bool {
	return c.Algorithm.Valid() && len(c.Sum) == c.Algorithm.Size()
}

// String returns the algorithm and the hex sum, "crc32c:1a2b3c4d", or ""
// for the zero Checksum.
func (c Checksum) String() string {
	if c.Algorithm == "" && c.Sum == nil {
		return ""
	}
	return string(c.Algorithm) + ":" + hex.EncodeToString(c.Sum)
}

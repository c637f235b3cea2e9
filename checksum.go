package docblob

import (
	"encoding/hex"
	"fmt"

	"github.com/docblob/docblob/driver"
)

// Checksum names the algorithm of the checksum that a store records for
// each new payload (Options.Checksum) and verifies on every read of the
// whole payload. Each attachment records exactly one checksum, of the
// algorithm that was the store's when its payload was written, so that
// documents written under another choice stay readable and verified.
//
// The speeds below are of hash.Hash over 1 MiB buffers in Go 1.26 on an
// AMD EPYC, measured with
//
//	go test -run '^$' -bench Checksum ./driver/
//
// (see the package documentation, Checksums, for what they mean in reads
// and writes).
type Checksum string

// The checksum algorithms.
const (
	// ChecksumCRC32C is the CRC-32 with the Castagnoli polynomial,
	// recorded as 8 hex digits under the attribute "crc32c". Go computes
	// it with the CPU's CRC instructions, about 19,700 MB/s, and S3
	// computes and verifies it for single and multipart uploads
	// (full-object checksums). It detects every accidental corruption of
	// up to 32 bits and nearly all others, and it is not a cryptographic
	// digest. It is the default.
	ChecksumCRC32C Checksum = "crc32c"
	// ChecksumCRC64NVME is the CRC-64/NVME, recorded as 16 hex digits
	// under the attribute "crc64nvme": the checksum S3 computes by
	// default for new objects. Go's hash/crc64 computes it from a table,
	// about 1,415 MB/s: no faster than SHA-256.
	ChecksumCRC64NVME Checksum = "crc64nvme"
	// ChecksumSHA256 is SHA-256, recorded as 64 hex digits under the
	// attribute "sha256", as every docblob store did before checksums
	// could be chosen: about 1,530 MB/s. Choose it for a cryptographic
	// digest of each payload (Blob.SHA256 then reports it).
	ChecksumSHA256 Checksum = "sha256"
)

// DefaultChecksum is the algorithm of a store whose Options.Checksum is
// "".
const DefaultChecksum = ChecksumCRC32C

// algorithm returns the driver's name of c, or an error if c is not one
// of the checksum algorithms. "" is DefaultChecksum.
func (c Checksum) algorithm() (driver.ChecksumAlgorithm, error) {
	if c == "" {
		c = DefaultChecksum
	}
	a := driver.ChecksumAlgorithm(c)
	if !a.Valid() {
		return "", fmt.Errorf("unknown checksum %q (want %q, %q or %q)", string(c), ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA256)
	}
	return a, nil
}

// Checksum returns the algorithm and the lowercase hex sum of the
// checksum recorded for the payload, or "" and "" for a new blob. A
// payload written by a store whose Options.Checksum was ChecksumCRC32C
// reports ("crc32c", "1a2b3c4d"), say; one written before checksums could
// be chosen reports ChecksumSHA256.
func (b *Blob) Checksum() (Checksum, string) {
	if b.ref == nil {
		return "", ""
	}
	return Checksum(b.ref.Checksum.Algorithm), hex.EncodeToString(b.ref.Checksum.Sum)
}

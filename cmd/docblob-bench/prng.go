package main

import (
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"

	"github.com/docblob/docblob/driver"
)

// prngBlock is the length of the block a payload stream repeats: a little
// over 256 KiB (so that the source adds little to the RSS the large
// section measures) and not a divisor of any part size, so that no two
// parts of a payload carry the same bytes.
const prngBlock = 1<<18 + 8

// prngReader is a deterministic stream of size bytes: a block of
// prngBlock pseudo-random bytes (byte o is byte o%8 of
// splitmix64(seed+o/8)), made when the reader is, repeated. Producing it
// is a copy, about 0.04 CPU-seconds per GiB where computing every word
// would take 0.55 (go test -bench on the build machine): a source that
// costs nothing, like the ceiling's payload made before the clock, so
// that what the large section times on a 2-core machine is the upload
// and not the source. It implements only io.Reader, so that nothing
// downstream can take a shortcut (no Seek, no WriteTo), and holds only
// its block.
type prngReader struct {
	block     []byte
	off, size int64
}

func newPRNG(seed uint64, size int64) *prngReader {
	block := make([]byte, min(size, prngBlock))
	for o := 0; o < len(block); o += 8 {
		var word [8]byte
		binary.LittleEndian.PutUint64(word[:], splitmix64(seed+uint64(o/8)))
		copy(block[o:], word[:])
	}
	return &prngReader{block: block, size: size}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (r *prngReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off%int64(len(r.block)):])
		n += c
		r.off += int64(c)
	}
	return n, nil
}

// prngBytes returns the whole stream; for small payloads only.
func prngBytes(seed uint64, size int64) []byte {
	b := make([]byte, size)
	if _, err := io.ReadFull(newPRNG(seed, size), b); err != nil {
		panic(err)
	}
	return b
}

// prngChecksums returns the hex checksums of the stream by algorithm
// (every algorithm a store may record), without holding it.
func prngChecksums(seed uint64, size int64) map[string]string {
	hs := map[string]hash.Hash{}
	ws := []io.Writer{}
	for _, alg := range driver.ChecksumAlgorithms {
		h := alg.New()
		hs[string(alg)] = h
		ws = append(ws, h)
	}
	if _, err := io.CopyBuffer(io.MultiWriter(ws...), newPRNG(seed, size), make([]byte, 1<<20)); err != nil {
		panic(err)
	}
	out := map[string]string{}
	for alg, h := range hs {
		out[alg] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

package main

import (
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"

	"github.com/docblob/docblob/driver"
)

// prngReader is a deterministic pseudo-random stream of size bytes: byte o
// is byte o%8 of splitmix64(seed+o/8). It implements only io.Reader, so
// that nothing downstream can take a shortcut (no Seek, no WriteTo), and
// it never holds more than one word.
type prngReader struct {
	seed      uint64
	off, size int64
}

func newPRNG(seed uint64, size int64) *prngReader {
	return &prngReader{seed: seed, size: size}
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
		word := splitmix64(r.seed + uint64(r.off/8))
		if skip := r.off % 8; skip == 0 && len(p)-n >= 8 {
			binary.LittleEndian.PutUint64(p[n:], word)
			n += 8
			r.off += 8
			continue
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], word)
		c := copy(p[n:], buf[r.off%8:])
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

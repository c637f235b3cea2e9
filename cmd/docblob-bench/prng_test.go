package main

import (
	"bytes"
	"io"
	"testing"
)

// TestPRNGStream checks the payload stream: the same bytes whatever the
// reads' sizes, its block repeated, and no two 5 MiB parts alike.
func TestPRNGStream(t *testing.T) {
	const size = 3*(5<<20) + 123
	whole := prngBytes(1, size)
	if int64(len(whole)) != size {
		t.Fatalf("%d bytes, want %d", len(whole), size)
	}
	for _, chunk := range []int{1, 7, 4096, prngBlock + 1} {
		r := newPRNG(1, size)
		var got bytes.Buffer
		buf := make([]byte, chunk)
		if _, err := io.CopyBuffer(struct{ io.Writer }{&got}, struct{ io.Reader }{r}, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), whole) {
			t.Errorf("read %d bytes at a time: the stream differs", chunk)
		}
	}
	if !bytes.Equal(whole[prngBlock:2*prngBlock], whole[:prngBlock]) {
		t.Error("the stream does not repeat its block")
	}
	if bytes.Equal(whole[:8], prngBytes(2, 8)) {
		t.Error("seeds 1 and 2 start alike")
	}
	for k := 1; k < 3; k++ {
		if bytes.Equal(whole[:5<<20], whole[k*(5<<20):(k+1)*(5<<20)]) {
			t.Errorf("part %d carries the bytes of part 0", k)
		}
	}
}

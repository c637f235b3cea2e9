package docblob

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

func TestSpans(t *testing.T) {
	for _, c := range []struct {
		name  string
		add   [][2]int64
		want  [][2]int64
		bytes int64
	}{
		{"empty range", [][2]int64{{5, 5}}, nil, 0},
		{"one", [][2]int64{{0, 10}}, [][2]int64{{0, 10}}, 10},
		{"sequential", [][2]int64{{0, 10}, {10, 20}, {20, 25}}, [][2]int64{{0, 25}}, 25},
		{"read twice", [][2]int64{{0, 10}, {0, 10}, {2, 8}}, [][2]int64{{0, 10}}, 10},
		{"apart", [][2]int64{{20, 30}, {0, 10}}, [][2]int64{{0, 10}, {20, 30}}, 20},
		{"gap filled", [][2]int64{{0, 10}, {20, 30}, {10, 20}}, [][2]int64{{0, 30}}, 30},
		{"overlaps several", [][2]int64{{0, 5}, {10, 15}, {20, 25}, {3, 22}}, [][2]int64{{0, 25}}, 25},
		{"inside a gap", [][2]int64{{0, 5}, {30, 40}, {10, 20}}, [][2]int64{{0, 5}, {10, 20}, {30, 40}}, 25},
	} {
		var s spans
		for _, r := range c.add {
			s.add(r[0], r[1])
		}
		if len(s.r) != len(c.want) || s.bytes != c.bytes {
			t.Errorf("%s: %v covering %d bytes, want %v covering %d", c.name, s.r, s.bytes, c.want, c.bytes)
			continue
		}
		for i := range s.r {
			if s.r[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, s.r, c.want)
				break
			}
		}
	}
}

// A payload read at offsets by several goroutines, each byte twice (a
// checksum pass, then the send), counts each byte once; the callback is
// never called concurrently with itself, its counts never decrease, and
// none is made after stop.
func TestProgressBodyReaderAt(t *testing.T) {
	const start, size, parts = 100, 1 << 20, 8
	src := bytes.NewReader(make([]byte, start+size+50)) // 50 bytes past the payload
	var mu sync.Mutex
	var calls []int64
	busy := false
	prog := newProgress(func(done, total int64) {
		mu.Lock()
		if busy {
			t.Error("progress callback called concurrently with itself")
		}
		busy = true
		calls = append(calls, done)
		mu.Unlock()
		mu.Lock()
		busy = false
		mu.Unlock()
	}, size)
	prog.last = prog.last.Add(-ProgressInterval) // the first read reports
	body := newProgressBody(src, prog, start, size)
	ra, ok := body.(io.ReaderAt)
	if !ok {
		t.Fatal("the progress body of an io.ReaderAt is not one")
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			buf := make([]byte, 4096)
			from := int64(start + p*size/parts)
			for range 2 {
				for off := from; off < from+size/parts; off += int64(len(buf)) {
					if _, err := ra.ReadAt(buf, off); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	// Bytes outside the payload do not count.
	if _, err := ra.ReadAt(make([]byte, 150), start+size-100); err != nil {
		t.Fatal(err)
	}
	if _, err := body.Seek(start+size, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	body.stop()
	if _, err := ra.ReadAt(make([]byte, 10), start); err != nil { // a late request body
		t.Fatal(err)
	}
	n := len(calls)
	prog.end()
	if len(calls) != n+1 {
		t.Fatalf("%d calls after stop, want only the end", len(calls)-n)
	}
	prev := int64(0)
	for i, c := range calls {
		if c < prev || c > size {
			t.Errorf("call %d reports %d after %d (payload of %d)", i, c, prev, size)
		}
		prev = c
	}
	if last := calls[len(calls)-1]; last != size {
		t.Errorf("the last call reports %d bytes, want %d", last, size)
	}
}

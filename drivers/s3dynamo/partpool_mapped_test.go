//go:build linux && !race

package s3dynamo

import (
	"runtime"
	"testing"
	"time"
)

// mappedSize returns a buffer size of at least mapMin that no other test
// uses, so that the process-wide spare list holds only this test's
// buffers of that size.
func mappedSize(n int64) int64 { return mapMin + n<<12 }

// The buffers a pool keeps are mapped outside the Go heap: they do not
// count towards it, so they do not raise the garbage collector's goal.
// Buffers beyond keep come from the heap and are dropped when returned.
func TestPartPoolMapsKeptBuffers(t *testing.T) {
	size := mappedSize(1) * 8 // 8 MiB and a bit: a heap buffer would show
	p := partPool{size: size, keep: 2}
	before := heapAlloc()
	a, b := p.get(size), p.get(size)
	for _, x := range []*[]byte{a, b} {
		for i := range *x { // touch every page
			(*x)[i] = 1
		}
	}
	if grew := heapAlloc() - before; grew > size/2 {
		t.Errorf("two kept buffers of %d bytes grew the heap by %d bytes", size, grew)
	}
	c := p.get(size) // beyond keep: from the heap
	if !p.isMapped(a) || !p.isMapped(b) || p.isMapped(c) {
		t.Fatalf("mapped: %v, %v, %v; want the first two only", p.isMapped(a), p.isMapped(b), p.isMapped(c))
	}
	for _, x := range []*[]byte{c, a, b} {
		p.put(x)
	}
	if len(p.free) != 2 || !p.isMapped(p.free[0]) || !p.isMapped(p.free[1]) {
		t.Errorf("the pool keeps %d buffers, want the 2 mapped ones", len(p.free))
	}
	if again := p.get(size); again != b {
		t.Error("a returned mapped buffer was not reused")
	}
}

// Closing a pool gives its mapped buffers' pages back to the system and
// puts them on the spare list, where a later pool of the same size finds
// them, reading as zeros; a buffer in use at Close follows when it is
// returned, and the closed pool goes on from the heap.
func TestPartPoolCloseReleasesMappedBuffers(t *testing.T) {
	size := mappedSize(2)
	p := partPool{size: size, keep: 2}
	idle, busy := p.get(size), p.get(size)
	for i := range *idle {
		(*idle)[i], (*busy)[i] = 0xAA, 0xBB
	}
	p.put(idle)
	p.close()
	if len(p.free) != 0 || len(p.mapped) != 1 {
		t.Fatalf("after close: %d free, %d mapped; want 0 and 1 (the one in use)", len(p.free), len(p.mapped))
	}
	if got := spareCount(size); got != 1 {
		t.Fatalf("%d spare buffers, want 1", got)
	}
	p.put(busy)
	if len(p.mapped) != 0 || spareCount(size) != 2 {
		t.Fatalf("after the busy buffer came back: %d mapped, %d spare; want 0 and 2", len(p.mapped), spareCount(size))
	}
	if x := p.get(size); p.isMapped(x) || spareCount(size) != 2 {
		t.Error("a closed pool mapped a buffer or took a spare one")
	}

	q := partPool{size: size, keep: 2}
	got := map[*[]byte]bool{q.get(size): true, q.get(size): true}
	if !got[idle] || !got[busy] || spareCount(size) != 0 {
		t.Fatalf("a new pool of the same size did not take the 2 spare buffers")
	}
	for b := range got {
		for i, c := range *b {
			if c != 0 {
				t.Fatalf("a spare buffer reads %#x at %d: its pages were not given back", c, i)
			}
		}
	}
}

// A pool whose owner is dropped without Close is closed by the garbage
// collector: its mapped buffers go to the spare list.
func TestPartPoolClosedWithItsOwner(t *testing.T) {
	size := mappedSize(3)
	func() {
		owner := new(Driver)
		p := newPartPool(owner, size, 1)
		p.put(p.get(size))
		runtime.KeepAlive(owner)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for spareCount(size) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the pool of an unreachable owner was not closed")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func heapAlloc() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func spareCount(size int64) int {
	spare.mu.Lock()
	defer spare.mu.Unlock()
	return len(spare.bySize[size])
}

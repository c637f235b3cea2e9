package s3dynamo

import (
	"runtime"
	"sync"
)

// partClasses is the number of part sizes an upload can use: the base size
// and up to 20 doublings (5 MiB doubles to the 5 GiB maximum in 10).
const partClasses = 21

// mapMin is the smallest buffer the pool maps outside the Go heap; smaller
// ones (only tests make them) are not worth a mapping.
const mapMin = 1 << 20

// partPool holds part buffers for reuse across uploads (and reads in
// parts), so that streaming a payload allocates nothing once the pool is
// warm. Buffers of the base size are kept in a free list of at most keep
// (one upload's or read's worth, see newPartPools: 6 × 5 MiB by
// default), which the
// garbage collector never empties, so that a long upload never allocates
// a part buffer again and its memory stays flat; larger classes, used
// only past 8,000 parts, go to a sync.Pool per class, given back at the
// next garbage collections.
//
// Where the system allows (Linux, outside builds with the race detector,
// which only watches the Go heap), the base-size buffers the pool keeps
// are mapped outside the Go heap (mapBuffer): the garbage collector
// neither scans nor counts them, so they cost their own size. On the
// heap, live part buffers raise the heap's goal by as much again
// (GOGC=100): with 15 MiB of them a 1 GiB upload peaked at 59 MiB of
// RSS, mapped at 47 (make bench, section 3 "grid"). A mapped
// buffer is never unmapped, because an HTTP transport may still be
// reading a request body from it after the request failed (net/http may
// close a body after RoundTrip returns): close gives its pages back to
// the system instead (releasePages; a late read sees zeros) and puts it
// on a process-wide spare list that later pools of the same size take
// from, so that opening and closing drivers does not grow the address
// space. A pool whose driver is dropped without Close is closed when the
// garbage collector finds the driver unreachable (see newPartPool).
// Buffers beyond keep, when more parts are in flight at once than one
// upload's worth, come from the heap and are dropped when returned.
type partPool struct {
	size   int64 // the base part size, Options.PartSize
	keep   int   // base-size buffers kept
	mu     sync.Mutex
	free   []*[]byte // base-size buffers, at most keep
	mapped []*[]byte // the base-size buffers mapped outside the heap, at most keep
	closed bool
	pools  [partClasses]sync.Pool // pools[k] holds *[]byte of len classSize(k), k >= 1
}

// newPartPools returns the pool of upload parts and the pool of reads in
// parts of a driver with options o: one pool for both, of o.PartSize
// buffers, keeping enough for an upload or a read, when o.ReadPartSize
// fits in its buffers; else two. With one pool, a process that uploads
// and then reads a large payload in parts (a read from S3 slower than
// fastStream, or a loaded machine whose first 16 MiB came late) holds
// one set of buffers instead of two: a 1 GiB round trip at the defaults
// peaked at 82.8 MiB of RSS with two pools, 25 MiB of upload buffers
// kept while the read took 24 MiB more (make bench, large).
func newPartPools(owner *Driver, o *Options) (uploads, reads *partPool) {
	if o.ReadPartSize <= o.PartSize {
		p := newPartPool(owner, o.PartSize, max(o.UploadConcurrency+1, o.ReadConcurrency))
		return p, p
	}
	return newPartPool(owner, o.PartSize, o.UploadConcurrency+1), newPartPool(owner, o.ReadPartSize, o.ReadConcurrency)
}

// newPartPool returns a pool of buffers of size bytes keeping keep of
// them, closed when owner becomes unreachable (if not before).
func newPartPool(owner *Driver, size int64, keep int) *partPool {
	p := &partPool{size: size, keep: keep}
	runtime.AddCleanup(owner, (*partPool).close, p)
	return p
}

// classSize is the size of the buffers of class k.
func (p *partPool) classSize(k int) int64 { return min(p.size<<k, maxPartSize) }

// class returns the class of buffers of size bytes, or -1 if none.
func (p *partPool) class(size int64) int {
	for k := range partClasses {
		if p.classSize(k) == size {
			return k
		}
	}
	return -1
}

// get returns a buffer of size bytes, pooled if size is one of the part
// sizes.
func (p *partPool) get(size int64) *[]byte {
	switch k := p.class(size); {
	case k == 0:
		p.mu.Lock()
		defer p.mu.Unlock()
		if n := len(p.free); n > 0 {
			b := p.free[n-1]
			p.free = p.free[:n-1]
			return b
		}
		if !p.closed && size >= mapMin && len(p.mapped) < p.keep {
			if b := takeSpare(size); b != nil {
				p.mapped = append(p.mapped, b)
				return b
			}
		}
	case k > 0:
		if b, ok := p.pools[k].Get().(*[]byte); ok {
			return b
		}
	}
	b := make([]byte, size)
	return &b
}

// put returns b to the pool of its size class, if it has one.
func (p *partPool) put(b *[]byte) {
	switch k := p.class(int64(len(*b))); {
	case k == 0:
		p.mu.Lock()
		defer p.mu.Unlock()
		switch mapped := p.isMapped(b); {
		case mapped && p.closed:
			p.unmap(b)
		case mapped:
			p.free = append(p.free, b) // at most keep are mapped
		case len(p.mapped) == 0 && len(p.free) < p.keep:
			// Nothing mapped (not supported, or refused): keep heap
			// buffers instead.
			p.free = append(p.free, b)
		}
	case k > 0:
		p.pools[k].Put(b)
	}
}

// isMapped reports whether b is one of the pool's mapped buffers; p.mu is
// held.
func (p *partPool) isMapped(b *[]byte) bool {
	for _, m := range p.mapped {
		if m == b {
			return true
		}
	}
	return false
}

// unmap gives the mapped buffer b back to the system and to the spare
// list; p.mu is held.
func (p *partPool) unmap(b *[]byte) {
	for i, m := range p.mapped {
		if m == b {
			p.mapped = append(p.mapped[:i], p.mapped[i+1:]...)
			break
		}
	}
	giveSpare(b)
}

// close gives the mapped buffers the pool holds back to the system (see
// partPool); those still in use follow when they are returned. The pool
// still works, from the heap.
func (p *partPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	kept := p.free[:0]
	for _, b := range p.free {
		if p.isMapped(b) {
			p.unmap(b)
		} else {
			kept = append(kept, b)
		}
	}
	clear(p.free[len(kept):])
	p.free = kept
}

// spare holds the mapped buffers of closed pools, their pages given back
// to the system, by size.
var spare struct {
	mu     sync.Mutex
	bySize map[int64][]*[]byte
}

// takeSpare returns a mapped buffer of size bytes, from the spare list or
// newly mapped, or nil if buffers cannot be mapped.
func takeSpare(size int64) *[]byte {
	spare.mu.Lock()
	if l := spare.bySize[size]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		spare.bySize[size] = l[:len(l)-1]
		spare.mu.Unlock()
		return b
	}
	spare.mu.Unlock()
	b := mapBuffer(size)
	if b == nil {
		return nil
	}
	return &b
}

// giveSpare gives the pages of the mapped buffer b back to the system and
// puts it on the spare list.
func giveSpare(b *[]byte) {
	releasePages(*b)
	spare.mu.Lock()
	defer spare.mu.Unlock()
	if spare.bySize == nil {
		spare.bySize = map[int64][]*[]byte{}
	}
	spare.bySize[int64(len(*b))] = append(spare.bySize[int64(len(*b))], b)
}

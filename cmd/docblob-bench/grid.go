package main

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"strconv"
	"time"

	"github.com/docblob/docblob/drivers/s3dynamo"
	"github.com/docblob/docblob/internal/toxics"
)

// gridPoint is one part size x upload concurrency setting and its runs.
type gridPoint struct {
	partSize int64
	conc     int
	runs     []childRun
}

func (g *gridPoint) upMBps(size int64) float64 {
	return mbps(size, medianOf(g.runs, func(r childRun) time.Duration { return time.Duration(r.UpNanos) }))
}

func (g *gridPoint) downMBps(size int64) float64 {
	return mbps(size, medianOf(g.runs, func(r childRun) time.Duration { return time.Duration(r.DownNanos) }))
}

// gridKind is one kind of upload the grid measures: streamed (part
// buffers bound its memory) or from a file (in place: they do not).
type gridKind struct {
	section    string // the rows' section
	contender  string // the child's
	seed       uint64
	partSizes  []int64
	concs      []int
	defaultPS  int64 // the driver's default for this kind
	defaultCon int
	// tieBreak says why, of two points whose uploads are within 5%,
	// the first is preferred; smaller reports whether it is.
	tieBreak string
	smaller  func(p, q *gridPoint) bool
	// reads makes the settings those of reads in parts (read_part_size,
	// read_concurrency; uploads at their defaults), judged by download
	// throughput instead of upload.
	reads bool
	// maxSize bounds the payload's size (0: none); linkKBps, if set, is
	// the speed of each connection to S3 (see slowLink).
	maxSize  int64
	linkKBps int64
}

// streamGrid is the grid of streamed uploads: memory grows with the part
// size and concurrency, so a tie goes to the smaller peak RSS.
var streamGrid = gridKind{
	section: "3 grid", contender: "docblob", seed: 2,
	partSizes: []int64{5 << 20, 6 << 20, 8 << 20, 16 << 20}, concs: []int{2, 3, 4, 6},
	defaultPS: s3dynamo.DefaultPartSize, defaultCon: s3dynamo.DefaultUploadConcurrency,
	tieBreak: "smaller memory",
	smaller:  func(p, q *gridPoint) bool { return maxRSSOf(p.runs) < maxRSSOf(q.runs) },
}

// fileGrid is the grid of uploads from a file, in place: memory hardly
// depends on the setting, so a tie goes to the fewer bytes in flight
// (part size × concurrency), which also means fewer connections.
var fileGrid = gridKind{
	section: "3 grid, file", contender: "docblob-file", seed: 3,
	partSizes: []int64{8 << 20, 16 << 20, 32 << 20, 64 << 20}, concs: []int{4, 8, 16},
	defaultPS: s3dynamo.DefaultFilePartSize, defaultCon: s3dynamo.DefaultFileUploadConcurrency,
	tieBreak: "fewer bytes in flight",
	smaller: func(p, q *gridPoint) bool {
		return p.partSize*int64(p.conc) < q.partSize*int64(q.conc)
	},
}

// readGrid is the grid of reads in parts: payloads of at most 256 MiB
// uploaded from a file (whose memory does not depend on the setting),
// read back over part sizes and concurrencies through a proxy that
// carries 90 MB/s per connection, about what one connection to S3 from
// AWS carries (on plain loopback a read keeps its first stream, which is
// fast: see s3dynamo's rangedReader). Concurrency 1 is a single
// GetObject stream, whatever the part size, so its three points also
// show the noise. A tie goes to the fewer bytes in flight, which bound
// the read's memory.
var readGrid = gridKind{
	section: "3 grid, reads over 90 MB/s connections", contender: "docblob-file", seed: 4,
	maxSize: 256 << 20, linkKBps: 90_000,
	partSizes: []int64{4 << 20, 8 << 20, 16 << 20}, concs: []int{1, 2, 3, 4, 6},
	defaultPS: s3dynamo.DefaultReadPartSize, defaultCon: s3dynamo.DefaultReadConcurrency,
	tieBreak: "fewer bytes in flight",
	smaller: func(p, q *gridPoint) bool {
		return p.partSize*int64(p.conc) < q.partSize*int64(q.conc)
	},
	reads: true,
}

// runGrid is the second half of section 3: docblob round trips over part
// sizes and concurrencies of streamed uploads, each in its own process,
// and the recommended default.
func (b *bench) runGrid(ctx context.Context) ([]row, error) {
	return b.grid(ctx, streamGrid)
}

// runFileGrid is the same for uploads from a file (in place).
func (b *bench) runFileGrid(ctx context.Context) ([]row, error) {
	return b.grid(ctx, fileGrid)
}

// runReadGrid is the same for reads in parts.
func (b *bench) runReadGrid(ctx context.Context) ([]row, error) {
	return b.grid(ctx, readGrid)
}

func (b *bench) grid(ctx context.Context, k gridKind) ([]row, error) {
	size := b.largeSize()
	if k.maxSize > 0 {
		size = min(size, k.maxSize)
	}
	want := prngChecksums(k.seed, size)
	var s3Endpoint string
	if k.linkKBps > 0 {
		proxy, err := slowLink(b.sv.s3Endpoint, k.linkKBps)
		if err != nil {
			return nil, err
		}
		defer proxy.Close()
		s3Endpoint = proxy.URL()
	}
	var points []*gridPoint
	for _, ps := range k.partSizes {
		for _, c := range k.concs {
			points = append(points, &gridPoint{partSize: ps, conc: c})
		}
	}
	reps := 3
	if b.quick {
		reps = 1
	}
	for rep := range reps {
		for i := range points {
			p := points[i]
			if rep%2 == 1 { // every other pass runs backwards, against drift
				p = points[len(points)-1-i]
			}
			spec := b.largeSpec(k.contender, size, k.seed, want, p.partSize, p.conc)
			if k.reads {
				spec = b.largeSpec(k.contender, size, k.seed, want, 0, 0)
				q := url.Values{}
				for name, vs := range b.params {
					q[name] = vs
				}
				q.Set("read_part_size", strconv.FormatInt(p.partSize, 10))
				q.Set("read_concurrency", strconv.Itoa(p.conc))
				spec.Params = q.Encode()
			}
			spec.S3Endpoint = s3Endpoint
			log.Printf("%s: part size %s, concurrency %d, rep %d", k.section, fmtSize(p.partSize), p.conc, rep+1)
			run, err := b.kids.run(spec)
			if err != nil {
				return nil, err
			}
			p.runs = append(p.runs, run)
		}
	}

	var rows []row
	var best *gridPoint
	for _, p := range points {
		both := medianOf(p.runs, func(r childRun) time.Duration { return time.Duration(r.UpNanos + r.DownNanos) })
		rss := maxRSSOf(p.runs)
		r := row{section: k.section, name: fmt.Sprintf("round trip %s, part %s × concurrency %d", fmtSize(size), fmtSize(p.partSize), p.conc),
			contender: "docblob", median: fmtDur(both),
			mbPerSec: fmt.Sprintf("up %s, down %s", fmtRate(p.upMBps(size)), fmtRate(p.downMBps(size))),
			memory:   rssCell(p.runs), target: "peak RSS < 64 MiB", met: verdict(rss < rssTarget)}
		if p.partSize == k.defaultPS && p.conc == k.defaultCon {
			r.name += " (current default)"
		}
		rows = append(rows, r)
		if rss < rssTarget && (best == nil || better(p, best, size, k.reads, k.smaller)) {
			best = p
		}
	}
	rec := row{section: k.section, name: "recommended default", contender: "docblob"}
	if best == nil {
		rec.name += ": none of the settings stays under 64 MiB"
	} else {
		phase := "upload"
		if k.reads {
			phase = "download"
		}
		rec.name += fmt.Sprintf(": part %s × concurrency %d (fastest %s under 64 MiB, %s on a tie within 5%%)", fmtSize(best.partSize), best.conc, phase, k.tieBreak)
		rec.mbPerSec = fmt.Sprintf("up %s, down %s", fmtRate(best.upMBps(size)), fmtRate(best.downMBps(size)))
		rec.memory = rssCell(best.runs)
	}
	return append(rows, rec), nil
}

// slowLink starts a proxy in front of endpoint, in this process (so
// that its buffers do not count in a child's memory), that carries
// kbps kilobytes a second per connection from the server to the client,
// as a connection to S3 from AWS carries about 90 MB/s.
func slowLink(endpoint string, kbps int64) (*toxics.Proxy, error) {
	proxy, err := toxics.NewServer().NewProxy("s3-link", endpoint, nil)
	if err != nil {
		return nil, err
	}
	if _, err := proxy.Add(toxics.Bandwidth(toxics.Downstream, kbps)); err != nil {
		proxy.Close()
		return nil, err
	}
	return proxy, nil
}

// better reports whether p beats q: a faster upload (download, if reads)
// by more than 5%, or one within 5% that smaller prefers.
func better(p, q *gridPoint, size int64, reads bool, smaller func(p, q *gridPoint) bool) bool {
	pu, qu := p.upMBps(size), q.upMBps(size)
	if reads {
		pu, qu = p.downMBps(size), q.downMBps(size)
	}
	switch {
	case pu > 1.05*qu:
		return true
	case qu > 1.05*pu:
		return false
	}
	return smaller(p, q)
}

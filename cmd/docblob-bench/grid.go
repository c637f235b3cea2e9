package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/docblob/docblob/drivers/s3dynamo"
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

// runGrid is the second half of section 3: docblob round trips over part
// sizes and concurrencies, each in its own process, and the recommended
// default.
func (b *bench) runGrid(ctx context.Context) ([]row, error) {
	size, seed := b.largeSize(), uint64(2)
	want := prngChecksums(seed, size)
	var points []*gridPoint
	for _, ps := range []int64{5 << 20, 8 << 20, 16 << 20} {
		for _, c := range []int{2, 4, 8} {
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
			spec := b.largeSpec("docblob", size, seed, want, p.partSize, p.conc)
			log.Printf("grid: part size %s, concurrency %d, rep %d", fmtSize(p.partSize), p.conc, rep+1)
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
		r := row{section: "3 grid", name: fmt.Sprintf("round trip %s, part %s × concurrency %d", fmtSize(size), fmtSize(p.partSize), p.conc),
			contender: "docblob", median: fmtDur(both),
			mbPerSec: fmt.Sprintf("up %s, down %s", fmtRate(p.upMBps(size)), fmtRate(p.downMBps(size))),
			memory:   rssCell(p.runs), target: "peak RSS < 64 MiB", met: verdict(rss < rssTarget)}
		if p.partSize == s3dynamo.DefaultPartSize && p.conc == s3dynamo.DefaultUploadConcurrency {
			r.name += " (current default)"
		}
		rows = append(rows, r)
		if rss < rssTarget && (best == nil || better(p, best, size)) {
			best = p
		}
	}
	rec := row{section: "3 grid", name: "recommended default", contender: "docblob"}
	if best == nil {
		rec.name += ": none of the settings stays under 64 MiB"
	} else {
		rec.name += fmt.Sprintf(": part %s × concurrency %d (fastest upload under 64 MiB, smaller memory on a tie within 5%%)", fmtSize(best.partSize), best.conc)
		rec.mbPerSec = fmt.Sprintf("up %s, down %s", fmtRate(best.upMBps(size)), fmtRate(best.downMBps(size)))
		rec.memory = rssCell(best.runs)
	}
	return append(rows, rec), nil
}

// better reports whether p beats q: a faster upload by more than 5%, or
// one within 5% that needs less memory.
func better(p, q *gridPoint, size int64) bool {
	pu, qu := p.upMBps(size), q.upMBps(size)
	switch {
	case pu > 1.05*qu:
		return true
	case qu > 1.05*pu:
		return false
	}
	return maxRSSOf(p.runs) < maxRSSOf(q.runs)
}

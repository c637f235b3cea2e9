package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/docblob/docblob/drivers/s3dynamo"
)

// rssTarget is the peak RSS docblob must stay under for a 1 GiB round trip.
const rssTarget = 64 << 20

func (b *bench) largeSize() int64 {
	switch {
	case b.largeMiB > 0:
		return b.largeMiB << 20
	case b.quick:
		return 128 << 20
	}
	return 1 << 30
}

// runLarge is section 3: a large payload up and down through docblob and
// through the transfer manager alone, with the driver's default part size
// and concurrency, each round trip in its own process.
func (b *bench) runLarge(ctx context.Context) ([]row, error) {
	size, seed := b.largeSize(), uint64(1)
	want := prngSHA256(seed, size)
	reps := 5
	if b.quick {
		reps = 1
	}
	names := []string{"docblob", "tm"}
	runs := map[string][]childRun{}
	for rep := range reps {
		order := names
		if rep%2 == 1 {
			order = []string{names[1], names[0]}
		}
		for _, c := range order {
			spec := b.largeSpec(c, size, seed, want, 0, 0)
			if c == "tm" {
				spec.PartSize, spec.Concurrency = s3dynamo.DefaultPartSize, s3dynamo.DefaultUploadConcurrency
			}
			spec.CPUProfile = childProfile(b.cpuprofile, fmt.Sprintf("large-%s-%d", c, rep))
			spec.MemProfile = childProfile(b.memprofile, fmt.Sprintf("large-%s-%d", c, rep))
			log.Printf("large: %s %s, rep %d", c, fmtSize(size), rep+1)
			run, err := b.kids.run(spec)
			if err != nil {
				return nil, err
			}
			runs[c] = append(runs[c], run)
		}
	}
	return largeRows(size, runs["docblob"], runs["tm"]), nil
}

func (b *bench) largeSpec(contender string, size int64, seed uint64, want string, partSize int64, conc int) childSpec {
	return childSpec{Mode: "large", Contender: contender, Table: b.fx.table, Bucket: b.fx.bucket,
		Size: size, Seed: seed, WantSHA256: want, PartSize: partSize, Concurrency: conc,
		PK: "large", SK: newID()}
}

// largeRows renders upload, download and round trip for both contenders.
func largeRows(size int64, db, tm []childRun) []row {
	up := func(r childRun) time.Duration { return time.Duration(r.UpNanos) }
	down := func(r childRun) time.Duration { return time.Duration(r.DownNanos) }
	both := func(r childRun) time.Duration { return up(r) + down(r) }
	var rows []row
	for _, phase := range []struct {
		name  string
		dur   func(childRun) time.Duration
		bytes int64
	}{{"upload", up, size}, {"download", down, size}, {"round trip", both, 2 * size}} {
		dm, tmm := medianOf(db, phase.dur), medianOf(tm, phase.dur)
		dr := largeRow(phase.name, size, "docblob", db, phase.dur, phase.bytes)
		tr := largeRow(phase.name, size, "transfer manager", tm, phase.dur, phase.bytes)
		ratio := mbps(phase.bytes, dm) / mbps(phase.bytes, tmm)
		dr.ratio = fmt.Sprintf("MB/s %.2f×", ratio)
		dr.target = "MB/s ≥ 0.90×"
		ok := ratio >= 0.90
		if phase.name == "round trip" {
			rss := maxRSSOf(db)
			dr.ratio += fmt.Sprintf(", RSS %.2f×", float64(rss)/float64(maxRSSOf(tm)))
			dr.target = "peak RSS < 64 MiB; " + dr.target
			ok = ok && rss < rssTarget
		}
		dr.met = verdict(ok)
		rows = append(rows, dr, tr)
	}
	return rows
}

func largeRow(phase string, size int64, who string, runs []childRun, dur func(childRun) time.Duration, bytes int64) row {
	s := make(samples, len(runs))
	for i, r := range runs {
		s[i] = dur(r)
	}
	r := row{section: "3 large", name: fmt.Sprintf("%s %s (%d runs)", phase, fmtSize(size), len(runs)), contender: who,
		median: fmtDur(s.median()), p99: fmtDur(s.p99()), mbPerSec: fmtRate(mbps(bytes, s.median()))}
	switch phase {
	case "upload":
		var peak int64
		for _, run := range runs {
			peak = max(peak, run.UpPeakRSSKiB<<10)
		}
		r.memory = "peak RSS " + fmtBytes(float64(peak)) + " by end of upload"
		r.requests = formatRequests(runs[0].UpRequests, 1)
	case "download":
		r.requests = formatRequests(runs[0].DownRequests, 1)
	default:
		r.memory = rssCell(runs)
	}
	return r
}

// rssCell renders the runs' peak RSS from rusage, with the children's own
// VmHWM as a check.
func rssCell(runs []childRun) string {
	var hwm int64
	for _, r := range runs {
		hwm = max(hwm, r.PeakRSSKiB<<10)
	}
	return fmt.Sprintf("peak RSS %s (VmHWM %s)", fmtBytes(float64(maxRSSOf(runs))), fmtBytes(float64(hwm)))
}

func medianOf(runs []childRun, dur func(childRun) time.Duration) time.Duration {
	s := make(samples, len(runs))
	for i, r := range runs {
		s[i] = dur(r)
	}
	return s.median()
}

func maxRSSOf(runs []childRun) int64 {
	var m int64
	for _, r := range runs {
		m = max(m, r.maxRSS)
	}
	return m
}

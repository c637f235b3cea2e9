package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/docblob/docblob/drivers/s3dynamo"
)

// rssTarget is the peak RSS docblob must stay within for a 1 GiB round trip.
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

// defaultLargeParams is the larger memory setting docblob is measured
// with besides its default (-large-params): parts of 32 MiB, 8 at once,
// for a bound of about 32 MiB × (8+1) = 288 MiB uploading. (Reads on
// loopback are one stream, whatever the read settings: see s3dynamo.)
const defaultLargeParams = "part_size=33554432&upload_concurrency=8"

// The large section's contenders, as the child knows them, and their
// labels in the table.
var largeContenders = []struct{ id, label string }{
	{"docblob", "docblob"},
	{"docblob-file", "docblob, from a file"},
	{"docblob-larger", "docblob, larger setting"},
	{"tm", "transfer manager"},
	{"ceiling", "loopback ceiling"},
	{"ceiling-many", "loopback ceiling"},
}

// runLarge is section 3: a large payload up and down through docblob,
// at its default memory bound and at a larger setting (-large-params),
// streamed from an io.Reader, and at its defaults from a file (uploaded
// in place);
// through the transfer manager alone with the driver's part size and
// concurrency; and the loopback ceiling (ceilingLarge), the faster of two
// settings in each phase. Each round trip runs in its own process.
func (b *bench) runLarge(ctx context.Context) ([]row, error) {
	size, seed := b.largeSize(), uint64(1)
	want := prngChecksums(seed, size)
	reps := 5
	if b.quick {
		reps = 1
	}
	runs := map[string][]childRun{}
	for rep := range reps {
		for _, i := range rotation(len(largeContenders), rep) {
			c := largeContenders[i].id
			spec := b.largeSpec("docblob", size, seed, want, 0, 0)
			switch c {
			case "docblob":
				spec.Params = b.params.Encode()
			case "docblob-file":
				spec.Contender = c
			case "docblob-larger":
				spec.Params = mergeParams(b.params, b.largeParams).Encode()
			case "tm":
				spec.Contender = c
				spec.PartSize, spec.Concurrency = s3dynamo.DefaultPartSize, s3dynamo.DefaultUploadConcurrency
			case "ceiling", "ceiling-many":
				spec.Contender = c
			}
			spec.OneGet, spec.OneGetFirst = c == "docblob" || c == "docblob-file", rep%2 == 1
			spec.CPUProfile = childProfile(b.cpuprofile, fmt.Sprintf("large-%s-%d", c, rep))
			spec.MemProfile = childProfile(b.memprofile, fmt.Sprintf("large-%s-%d", c, rep))
			log.Printf("large: %s %s, rep %d", c, fmtSize(size), rep+1)
			run, err := b.kids.run(spec)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c, err)
			}
			runs[c] = append(runs[c], run)
		}
	}
	return largeRows(size, runs, b.largeParams.Encode()), nil
}

func (b *bench) largeSpec(contender string, size int64, seed uint64, want map[string]string, partSize int64, conc int) childSpec {
	return childSpec{Mode: "large", Contender: contender, Table: b.fx.table, Bucket: b.fx.bucket,
		Size: size, Seed: seed, Want: want, PartSize: partSize, Concurrency: conc,
		Params: b.params.Encode(), PK: "large", SK: newID()}
}

// largeRows renders upload, download and round trip for every contender;
// docblob's rows give their throughput as a fraction of the ceiling's and
// relative to the transfer manager's.
func largeRows(size int64, runs map[string][]childRun, larger string) []row {
	up := func(r childRun) time.Duration { return time.Duration(r.UpNanos) }
	down := func(r childRun) time.Duration { return time.Duration(r.DownNanos) }
	both := func(r childRun) time.Duration { return up(r) + down(r) }
	var rows []row
	for _, phase := range []struct {
		name  string
		dur   func(childRun) time.Duration
		bytes int64
	}{{"upload", up, size}, {"download", down, size}, {"round trip", both, 2 * size}} {
		rate := func(c string) float64 { return mbps(phase.bytes, medianOf(runs[c], phase.dur)) }
		ceiling := max(rate("ceiling"), rate("ceiling-many"))
		for _, c := range largeContenders {
			r := largeRow(phase.name, size, c.label, runs[c.id], phase.dur, phase.bytes)
			rss := maxRSSOf(runs[c.id])
			switch c.id {
			case "ceiling", "ceiling-many":
				ps, conc := ceilingPart(c.id, size)
				r.contender += fmt.Sprintf(" (parts of %s, %d at once)", fmtSize(ps), conc)
				if rate(c.id) == ceiling {
					r.ratio = "the ceiling: the faster setting"
				}
			case "docblob", "docblob-file", "docblob-larger":
				frac := rate(c.id) / ceiling
				r.ratio = fmt.Sprintf("%.0f%% of the ceiling's MB/s%s; %.2f× the transfer manager's", 100*frac, roundSpread(runs, c.id, phase.dur, phase.bytes), rate(c.id)/rate("tm"))
				switch c.id {
				case "docblob-larger":
					r.contender += " (" + larger + ")"
					r.target = "none (reported)"
				case "docblob-file":
					// The transfer manager streams: no like for like.
					r.ratio = fmt.Sprintf("%.0f%% of the ceiling's MB/s%s", 100*frac, roundSpread(runs, c.id, phase.dur, phase.bytes))
					r.contender += fmt.Sprintf(" (in place: parts of %s, %d at once; written and synced before the clock, page cache warm)",
						fmtSize(s3dynamo.DefaultFilePartSize), s3dynamo.DefaultFileUploadConcurrency)
				}
				if phase.name == "download" && c.id != "docblob-larger" {
					r.ratio += oneGetShare(runs[c.id], size)
				}
				if c.id == "docblob-larger" {
					break
				}
				r.target = "MB/s ≥ 80% of the ceiling's, peak RSS ≤ 64 MiB"
				if phase.name == "round trip" {
					r.target = "peak RSS ≤ 64 MiB"
					r.ratio = fmt.Sprintf("RSS %.2f× the transfer manager's; ", float64(rss)/float64(maxRSSOf(runs["tm"]))) + r.ratio
					r.met = verdict(rss <= rssTarget)
					break
				}
				r.met = verdict(frac >= 0.80 && rss <= rssTarget)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// oneGetShare renders docblob's download beside the plain GetObject of
// the same object each child also timed (childSpec.OneGet): that
// stream's median MB/s, and docblob's throughput as a fraction of it, of
// the medians and child by child.
func oneGetShare(runs []childRun, size int64) string {
	var pairs []childRun
	for _, r := range runs {
		if r.OneGetNanos > 0 {
			pairs = append(pairs, r)
		}
	}
	if len(pairs) == 0 {
		return ""
	}
	oneGet := func(r childRun) time.Duration { return time.Duration(r.OneGetNanos) }
	down := func(r childRun) time.Duration { return time.Duration(r.DownNanos) }
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range pairs {
		f := float64(r.OneGetNanos) / float64(r.DownNanos)
		lo, hi = min(lo, f), max(hi, f)
	}
	return fmt.Sprintf("; one plain GetObject of the same object (the SDK validating its CRC32C), timed in the same process: %s MB/s, docblob %.0f%% of it (%.0f–%.0f%% child by child)",
		fmtRate(mbps(size, medianOf(pairs, oneGet))), 100*float64(medianOf(pairs, oneGet))/float64(medianOf(pairs, down)), 100*lo, 100*hi)
}

// roundSpread renders the range, over the rounds, of a contender's
// throughput as a fraction of the ceiling's in the same round (the faster
// ceiling setting of that round): the contenders of a round run one
// after the other, so this pairs each with a ceiling measured under the
// same load, and shows how far the machine's noise moves the ratio.
func roundSpread(runs map[string][]childRun, id string, dur func(childRun) time.Duration, bytes int64) string {
	n := min(len(runs[id]), len(runs["ceiling"]), len(runs["ceiling-many"]))
	if n < 2 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range n {
		ceiling := max(mbps(bytes, dur(runs["ceiling"][i])), mbps(bytes, dur(runs["ceiling-many"][i])))
		f := mbps(bytes, dur(runs[id][i])) / ceiling
		lo, hi = min(lo, f), max(hi, f)
	}
	return fmt.Sprintf(" (%.0f–%.0f%% round by round)", 100*lo, 100*hi)
}

func largeRow(phase string, size int64, who string, runs []childRun, dur func(childRun) time.Duration, bytes int64) row {
	s := make(samples, len(runs))
	for i, r := range runs {
		s[i] = dur(r)
	}
	if len(runs) == 0 {
		return row{section: "3 large", name: fmt.Sprintf("%s %s", phase, fmtSize(size)), contender: who, median: "no runs"}
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

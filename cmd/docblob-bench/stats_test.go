package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestMedianRatioCI(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	draw := func(n int, scale float64) samples {
		s := make(samples, n)
		for i := range s {
			s[i] = time.Duration(scale * (1000 + rng.ExpFloat64()*200))
		}
		return s
	}
	for _, c := range []struct {
		name          string
		a, b          samples
		wantIn, notIn float64
	}{
		{"same", draw(500, 1), draw(500, 1), 1, 1.1},
		{"twice", draw(500, 2), draw(500, 1), 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := medianRatioCI(c.a, c.b, 1000)
			if lo > hi || lo > c.wantIn || hi < c.wantIn || (lo <= c.notIn && c.notIn <= hi) {
				t.Errorf("CI %.3f–%.3f; want it to hold %v and not %v", lo, hi, c.wantIn, c.notIn)
			}
		})
	}
	if lo, hi := medianRatioCI(nil, draw(3, 1), 10); lo != 0 || hi != 0 {
		t.Errorf("no samples: CI %v–%v, want 0–0", lo, hi)
	}
}

// roundSpread pairs each round's run with that round's faster ceiling.
func TestRoundSpread(t *testing.T) {
	run := func(ms int64) childRun {
		return childRun{childResult: childResult{UpNanos: ms * int64(time.Millisecond)}}
	}
	up := func(r childRun) time.Duration { return time.Duration(r.UpNanos) }
	runs := map[string][]childRun{
		"docblob":      {run(200), run(100)},
		"ceiling":      {run(100), run(100)},
		"ceiling-many": {run(50), run(200)}, // faster in round 1 only
	}
	if got, want := roundSpread(runs, "docblob", up, 1e6), " (25–100% round by round)"; got != want {
		t.Errorf("roundSpread = %q, want %q", got, want)
	}
	if got := roundSpread(map[string][]childRun{"docblob": {run(1)}}, "docblob", up, 1e6); got != "" {
		t.Errorf("one round: %q, want none", got)
	}
}

// TestOneGetShare checks docblob's download beside the plain GetObject
// its children also timed: the stream's median rate, docblob's share of
// it of the medians and child by child, and nothing without pairs.
func TestOneGetShare(t *testing.T) {
	run := func(downMs, oneGetMs int64) childRun {
		return childRun{childResult: childResult{DownNanos: downMs * int64(time.Millisecond), OneGetNanos: oneGetMs * int64(time.Millisecond)}}
	}
	runs := []childRun{run(100, 80), run(200, 200), run(100, 100)}
	want := "; one plain GetObject of the same object (the SDK validating its CRC32C), timed in the same process: 10.0 MB/s, docblob 100% of it (80–100% child by child)"
	if got := oneGetShare(runs, 1e6); got != want {
		t.Errorf("oneGetShare = %q,\nwant %q", got, want)
	}
	if got := oneGetShare([]childRun{run(100, 0)}, 1e6); got != "" {
		t.Errorf("no pairs: %q, want none", got)
	}
}

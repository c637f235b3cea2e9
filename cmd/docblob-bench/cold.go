package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/cmd/docblob-bench/internal/coldstart"
)

// The cold-start programs, by contender.
var coldPrograms = map[string]string{
	"docblob": "github.com/docblob/docblob/cmd/docblob-bench/internal/colddocblob",
	"sdk":     "github.com/docblob/docblob/cmd/docblob-bench/internal/coldsdk",
}

// coldBinary is one cold-start program, built for this run.
type coldBinary struct {
	path           string // built with -trimpath
	size, stripped int64  // bytes, without and with -ldflags=-s -w
}

// buildCold builds the cold-start programs into dir, as a Lambda's
// bootstrap would be built (go build -trimpath), and measures their sizes,
// also stripped (-ldflags=-s -w).
func buildCold(ctx context.Context, dir string) (map[string]coldBinary, error) {
	bins := map[string]coldBinary{}
	for name, pkg := range coldPrograms {
		var b coldBinary
		for _, stripped := range []bool{false, true} {
			out := filepath.Join(dir, name)
			args := []string{"build", "-trimpath", "-o", out}
			if stripped {
				out += "-stripped"
				args = []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
			}
			cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("go build %s: %w", pkg, err)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return nil, err
			}
			if stripped {
				b.stripped = fi.Size()
			} else {
				b.path, b.size = out, fi.Size()
			}
		}
		bins[name] = b
	}
	return bins, nil
}

// runCold is section 5, a cold start as AWS Lambda sees it: a fresh
// process of a small program of its own (see internal/colddocblob and
// internal/coldsdk), from just before it is exec'd to the end of its first
// Get, or of its first Put of a 1 KiB payload. docblob opens an s3dynamo
// store from a URL (with -docblob-params); the SDK program loads the
// default configuration and makes the clients it needs (the DynamoDB
// client only, for a get), then does it the manual way. Also the
// programs' sizes, and their package initialization as
// GODEBUG=inittrace=1 reports it.
func (b *bench) runCold(ctx context.Context) ([]row, error) {
	dir, err := os.MkdirTemp("", "docblob-bench-cold-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bins, err := buildCold(ctx, dir)
	if err != nil {
		return nil, err
	}
	pk := "cold"
	doc := &benchDoc{PK: pk, SK: "start", Title: "cold start",
		File: docblob.NewBlob(bytes.NewReader(prngBytes(3, 1<<10)), &docblob.BlobOptions{Name: "cold.bin"})}
	if err := b.store.Put(ctx, doc); err != nil {
		return nil, err
	}
	spec := func(contender, op string) coldstart.Spec {
		sk := "start"
		if op == "put" {
			sk = newID()
		}
		return coldstart.Spec{Op: op, URL: b.sv.storeURL(b.fx, b.params), Table: b.fx.table, Bucket: b.fx.bucket,
			Region: b.sv.region, S3Endpoint: b.sv.s3Endpoint, DDBEndpoint: b.sv.ddbEndpoint, PK: pk + "-" + contender, SK: sk}
	}
	child := func(contender, op string, env ...string) (childRun, error) {
		s := spec(contender, op)
		if op == "get" {
			s.PK = pk // both read the document docblob wrote
		}
		js, err := json.Marshal(s)
		if err != nil {
			return childRun{}, err
		}
		return b.kids.run(childSpec{Mode: "cold", Contender: contender, Exe: bins[contender].path, ExeArg: string(js),
			// Loading a CA bundle (this machine sets one) costs both
			// contenders the same thousands of allocations and hides
			// the difference; the servers speak plain HTTP and a
			// Lambda has none.
			UnsetEnv: []string{"AWS_CA_BUNDLE"}, Env: env, KeepStderr: len(env) > 0})
	}

	reps := 20
	if b.quick {
		reps = 5
	}
	names := []string{"docblob", "sdk"}
	var rows []row
	for _, op := range []string{"get", "put"} {
		runs := map[string][]childRun{}
		log.Printf("cold: first %s, %d fresh processes per contender", op, reps)
		for rep := range reps {
			for _, i := range rotation(len(names), rep) {
				run, err := child(names[i], op)
				if err != nil {
					return rows, fmt.Errorf("%s %s: %w", names[i], op, err)
				}
				runs[names[i]] = append(runs[names[i]], run)
			}
		}
		db, sdk := coldRow(op, "docblob", runs["docblob"]), coldRow(op, "sdk", runs["sdk"])
		dm, sm := coldMedians(runs["docblob"]), coldMedians(runs["sdk"])
		db.ratio = fmt.Sprintf("time %.2f×, allocs %.2f×, bytes %.2f×", float64(dm.total)/float64(sm.total),
			float64(dm.mallocs)/float64(sm.mallocs), float64(dm.bytes)/float64(sm.bytes))
		db.target = "none set (reported)"
		rows = append(rows, db, sdk)
	}

	// Package initialization, and the programs' sizes.
	for _, name := range names {
		var clock samples
		var inits []initTrace
		for range max(reps/4, 3) {
			run, err := child(name, "get", "GODEBUG=inittrace=1")
			if err != nil {
				return rows, fmt.Errorf("%s with inittrace: %w", name, err)
			}
			inits = parseInitTrace(run.Stderr)
			clock = append(clock, sumInit(inits, "").clock)
		}
		all, own, gcloud := sumInit(inits, ""), sumInit(inits, "github.com/docblob/"), sumInit(inits, "gocloud.dev", "google.golang.org/", "go.opentelemetry.io/", "go.opencensus.io/")
		bin := bins[name]
		rows = append(rows, row{section: "5 cold", name: "binary size and package initialization (GODEBUG=inittrace=1)", contender: name,
			median: fmtDur(clock.median()),
			memory: fmt.Sprintf("%d packages: %d allocs, %s; of which docblob's %d: %s, %d allocs; gocloud.dev, google.golang.org, OpenTelemetry %d: %s, %d allocs",
				all.n, all.allocs, fmtBytes(float64(all.bytes)), own.n, fmtDur(own.clock), own.allocs, gcloud.n, fmtDur(gcloud.clock), gcloud.allocs),
			requests: fmt.Sprintf("binary %s (-trimpath), %s stripped (-ldflags=-s -w)", fmtBytes(float64(bin.size)), fmtBytes(float64(bin.stripped))),
			target:   "none set (reported)"})
	}
	return rows, nil
}

// coldStats are the medians of a contender's cold starts.
type coldStats struct {
	total, main, open, op time.Duration
	mallocs, bytes        uint64
}

func coldMedians(runs []childRun) coldStats {
	var tot, mn, op, o, ma, by samples
	for _, r := range runs {
		tot = append(tot, time.Duration(r.TotalNanos))
		mn = append(mn, time.Duration(r.MainNanos))
		op = append(op, time.Duration(r.OpenNanos))
		o = append(o, time.Duration(r.OpNanos))
		ma = append(ma, time.Duration(r.Mallocs))
		by = append(by, time.Duration(r.TotalAlloc))
	}
	return coldStats{tot.median(), mn.median(), op.median(), o.median(), uint64(ma.median()), uint64(by.median())}
}

func coldRow(op, who string, runs []childRun) row {
	m := coldMedians(runs)
	var tot samples
	for _, r := range runs {
		tot = append(tot, time.Duration(r.TotalNanos))
	}
	name := "exec to end of first get"
	if op == "put" {
		name = "exec to end of first put of 1 KiB"
	}
	reqs := map[string]string{"get": "DDB GetItem 1", "put": "S3 PutObject 1 + DDB PutItem 1"}[op]
	if who == "docblob" && op == "put" {
		reqs = "S3 PutObject 1 + DDB PutItem 1, and the first write's check of the store's namespace (S3 GetObject 1)"
	}
	return row{section: "5 cold", name: fmt.Sprintf("%s, fresh process (%d runs)", name, len(runs)), contender: who,
		median: fmtDur(m.total), p99: fmtDur(tot.p99()),
		memory: fmt.Sprintf("%d allocs, %s; exec to main %s + open %s + %s %s",
			m.mallocs, fmtBytes(float64(m.bytes)), fmtDur(m.main), fmtDur(m.open), op, fmtDur(m.op)),
		requests: reqs}
}

// initTrace is one line of GODEBUG=inittrace=1:
// "init net/http @1.2 ms, 0.10 ms clock, 12345 bytes, 67 allocs".
type initTrace struct {
	pkg           string
	clock         time.Duration
	bytes, allocs int64
}

func parseInitTrace(stderr string) []initTrace {
	var out []initTrace
	for line := range strings.SplitSeq(stderr, "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", ""))
		// init PKG @T ms CLOCK ms clock BYTES bytes ALLOCS allocs
		if len(f) != 11 || f[0] != "init" || f[6] != "clock" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		by, err2 := strconv.ParseInt(f[7], 10, 64)
		al, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, initTrace{pkg: f[1], clock: time.Duration(ms * 1e6), bytes: by, allocs: al})
	}
	return out
}

// initSum totals the initialization of some packages.
type initSum struct {
	n             int
	clock         time.Duration
	bytes, allocs int64
}

// sumInit totals the packages whose path begins with one of prefixes
// ("" for all).
func sumInit(inits []initTrace, prefixes ...string) initSum {
	var s initSum
	for _, t := range inits {
		for _, p := range prefixes {
			if strings.HasPrefix(t.pkg, p) {
				s.n++
				s.clock += t.clock
				s.bytes += t.bytes
				s.allocs += t.allocs
				break
			}
		}
	}
	return s
}

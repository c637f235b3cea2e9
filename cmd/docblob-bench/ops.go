package main

import (
	"context"
	"fmt"
	"log"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// The four operations, in the order each round runs them.
var opNames = []string{"put", "get", "open", "delete"}

// opStats accumulate the measurements of one contender's operation.
type opStats struct {
	lat        samples
	wall       time.Duration // of the phases that ran it (of its own operations when interleaved)
	n          int
	reqs       tally
	allocBytes uint64
	allocObjs  uint64
}

func (s *opStats) opsPerSec() float64 {
	if s.wall <= 0 {
		return 0
	}
	return float64(s.n) / s.wall.Seconds()
}

// cellPlan is one cell of the ops grid: a payload size and a number of
// workers, run for rounds rounds of batch documents per contender.
type cellPlan struct {
	size    int64
	workers int
	batch   int
	rounds  int
}

func (c cellPlan) label() string {
	if c.workers == 1 {
		return fmt.Sprintf("%s, sequential", fmtSize(c.size))
	}
	return fmt.Sprintf("%s, %d workers", fmtSize(c.size), c.workers)
}

// opsPlan lists the cells. Batches are small and rounds many, so that the
// contenders alternate often.
func (b *bench) opsPlan() []cellPlan {
	w := b.workers
	if b.quick {
		return []cellPlan{
			{1 << 10, 1, 5, 8}, {1 << 10, w, w, 6},
			{100 << 10, 1, 5, 8}, {100 << 10, w, w, 5},
			{10 << 20, 1, 2, 4}, {10 << 20, w, w, 2},
		}
	}
	return []cellPlan{
		{1 << 10, 1, 10, 80}, {1 << 10, w, 2 * w, 50},
		{100 << 10, 1, 10, 60}, {100 << 10, w, 2 * w, 40},
		{10 << 20, 1, 2, 40}, {10 << 20, w, w, 20},
	}
}

// runOps is sections 1 and 2: docblob vs the hand-written SDK code, and
// the requests each operation puts on the wire.
func (b *bench) runOps(ctx context.Context) ([]row, error) {
	cs, base := b.opsContenders()
	// Warm up the servers (DynamoDB Local's JIT), connections and caches.
	for _, c := range cs {
		if err := runLifecycle(ctx, c, 4, 200, prngBytes(9, 1<<10), newOpStats()); err != nil {
			return nil, fmt.Errorf("warm-up: %s: %w", c.name(), err)
		}
	}
	var rows []row
	reqs := requestTotals{}
	for _, cell := range b.opsPlan() {
		log.Printf("ops: %s", cell.label())
		st, err := b.runCell(ctx, cell, cs)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", cell.label(), err)
		}
		rows = append(rows, opsRows(cell, cs, base, st)...)
		reqs.add(cell.size, st[idxDocblob], st[idxManual])
	}
	if b.only["requests"] {
		rows = append(rows, reqs.rows()...)
	}
	return rows, nil
}

// Indexes of the contenders that every ops run has, in opsContenders'
// order: the others follow.
const (
	idxDocblob = 0
	idxManual  = 1
	idxControl = 2
)

// opsContenders returns docblob, the manual way, the like-for-like
// control, and the optional others: the manual way's A/A twin (-aa) and
// the -explain variants. base[i] is the contender that contender i is
// compared with in its row (-1: none, or both baselines for docblob).
func (b *bench) opsContenders() (cs []contender, base []int) {
	db := &docblobContender{label: "docblob", store: b.store, pk: "docblob"}
	manual := newManualContender("sdk-manual", "sdk-manual", b.cfg, b.sv, b.fx)
	ctl := &sdkContender{label: "sdk-control", s3: b.s3, ddb: b.ddb, table: b.fx.table, bucket: b.fx.bucket, pk: "sdk-control"}
	cs, base = []contender{db, manual, ctl}, []int{-1, -1, -1}
	variant := func(label, pk string, change func(*sdkContender)) {
		v := *ctl
		v.label, v.pk = label, pk
		change(&v)
		cs, base = append(cs, &v), append(base, idxControl)
	}
	if b.aa {
		// A second, identical manual way: its ratio to the first is the
		// noise floor of this machine for the headline comparison.
		cs = append(cs, newManualContender("sdk-manual (A/A)", "sdk-manual-aa", b.cfg, b.sv, b.fx))
		base = append(base, idxManual)
	}
	if b.explain {
		cs = append(cs, &docblobContender{label: "docblob, plain io.Reader", store: b.store, pk: "docblob-stream", stream: true})
		base = append(base, idxDocblob)
		variant("sdk-control + ReturnValues", "sdk-old", func(c *sdkContender) { c.returnOld = true })
		variant("sdk-control + transfer manager", "sdk-tm", func(c *sdkContender) { c.tm = driverTransferManager(b.s3) })
		variant("sdk-control + multipart", "sdk-mp", func(c *sdkContender) { c.multipart = true })
		variant("sdk-control − read validation", "sdk-nv", func(c *sdkContender) { c.noVerify = true })
	}
	return cs, base
}

// newOpStats returns empty statistics for each operation.
func newOpStats() map[string]*opStats {
	st := map[string]*opStats{}
	for _, op := range opNames {
		st[op] = &opStats{}
	}
	return st
}

// runCell runs one cell: a warm-up round, then rounds in which each
// contender puts, gets, opens and deletes a batch of documents: in turn
// (alternating who goes first) with concurrent workers, operation by
// operation when sequential (runInterleaved).
func (b *bench) runCell(ctx context.Context, cell cellPlan, cs []contender) ([]map[string]*opStats, error) {
	payload := prngBytes(uint64(cell.size), cell.size)
	stats := make([]map[string]*opStats, len(cs))
	for i := range cs {
		stats[i] = newOpStats()
	}
	for round := 0; round <= cell.rounds; round++ {
		if cell.workers == 1 {
			st, batch := stats, cell.batch
			if round == 0 { // warm-up: connections, caches; not recorded
				st = make([]map[string]*opStats, len(cs))
				for i := range st {
					st[i] = newOpStats()
				}
				batch = min(batch, 2)
			}
			if err := runInterleaved(ctx, cs, round*batch, batch, payload, st); err != nil {
				return nil, err
			}
			continue
		}
		for _, i := range rotation(len(cs), round) {
			st := stats[i]
			batch := cell.batch
			if round == 0 { // warm-up: connections, caches; not recorded
				st, batch = newOpStats(), min(batch, 2*cell.workers)
			}
			if err := runLifecycle(ctx, cs[i], cell.workers, batch, payload, st); err != nil {
				return nil, fmt.Errorf("%s: %w", cs[i].name(), err)
			}
		}
	}
	return stats, nil
}

// runInterleaved is runLifecycle for sequential cells, with all contenders
// at once: within each phase they take turns operation by operation (the
// order rotating from one document to the next), so that what separates
// their samples is the drift of the machine between two operations, not
// between two batches. The order's starting point, turn, moves on from
// call to call so that each contender is as often the first to run after
// a phase change (which runs while the servers still digest the previous
// phase) as the others.
func runInterleaved(ctx context.Context, cs []contender, turn, batch int, payload []byte, stats []map[string]*opStats) error {
	items := make([][]*item, len(cs))
	for c := range cs {
		items[c] = make([]*item, batch)
		for i := range items[c] {
			items[c][i] = &item{sk: newID()}
		}
	}
	ac := newAllocCounter()
	for _, op := range opNames {
		for i := range batch {
			for _, c := range rotation(len(cs), turn+i) {
				st := stats[c][op]
				octx := withTally(ctx, &st.reqs)
				b0, o0 := ac.read()
				start := time.Now()
				err := runOp(octx, cs[c], op, items[c][i], payload)
				d := time.Since(start)
				b1, o1 := ac.read()
				if err != nil {
					return fmt.Errorf("%s: %s: %w", cs[c].name(), op, err)
				}
				st.lat = append(st.lat, d)
				st.wall += d
				st.n++
				st.allocBytes += b1 - b0
				st.allocObjs += o1 - o0
			}
		}
	}
	return nil
}

// runOp runs one operation of a contender on a document.
func runOp(ctx context.Context, c contender, op string, it *item, payload []byte) error {
	switch op {
	case "put":
		return c.put(ctx, it, payload)
	case "get":
		return c.get(ctx, it)
	case "open":
		_, err := c.open(ctx, it)
		return err
	case "delete":
		return c.del(ctx, it)
	}
	return fmt.Errorf("unknown operation %q", op)
}

// rotation returns the order of n contenders in a round: each round
// starts one further along, so that each goes first, second, ... equally
// often.
func rotation(n, round int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (round + i) % n
	}
	return order
}

// runLifecycle puts batch new documents, gets them, opens their payloads
// and deletes them, one phase per operation.
func runLifecycle(ctx context.Context, c contender, workers, batch int, payload []byte, st map[string]*opStats) error {
	items := make([]*item, batch)
	for i := range items {
		items[i] = &item{sk: newID()}
	}
	for _, op := range opNames {
		var err error
		labels := pprof.Labels("contender", c.name(), "op", op, "task", c.name()+"/"+op)
		pprof.Do(ctx, labels, func(ctx context.Context) {
			err = runPhase(ctx, workers, items, st[op], func(ctx context.Context, it *item) error {
				return runOp(ctx, c, op, it, payload)
			})
		})
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// runPhase runs fn on every item with workers goroutines, recording each
// call's latency, the phase's wall time, its requests and allocations.
func runPhase(ctx context.Context, workers int, items []*item, st *opStats, fn func(context.Context, *item) error) error {
	ctx, cancel := context.WithCancel(withTally(ctx, &st.reqs))
	defer cancel()
	lat := make(samples, len(items))
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	ac := newAllocCounter()
	b0, o0 := ac.read()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				s := time.Now()
				err := fn(ctx, items[i])
				lat[i] = time.Since(s)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	st.wall += time.Since(t0)
	b1, o1 := ac.read()
	if firstErr != nil {
		return firstErr
	}
	st.lat = append(st.lat, lat...)
	st.n += len(items)
	st.allocBytes += b1 - b0
	st.allocObjs += o1 - o0
	return nil
}

// opsRows renders one cell: per operation, a docblob row with its ratios
// to the manual way (judged against the target) and to the control, the
// rows of both baselines, and the rows of the other contenders (the A/A
// twin, the -explain variants) compared with their base.
func opsRows(cell cellPlan, cs []contender, base []int, st []map[string]*opStats) []row {
	var rows []row
	for _, op := range opNames {
		d, m, c := st[idxDocblob][op], st[idxManual][op], st[idxControl][op]
		dr := statsRow(cell, op, cs[idxDocblob].name(), d)
		medRatio, tputRatio := ratios(d, m)
		dr.ratio = ratioCell(d, m)
		dr.ratio2 = ratioCell(d, c)
		dr.target = "vs manual: median ≤ 1.05×, ops/s ≥ 0.95×"
		dr.met = verdict(medRatio <= 1.05 && tputRatio >= 0.95)
		rows = append(rows, dr, statsRow(cell, op, cs[idxManual].name(), m), statsRow(cell, op, cs[idxControl].name(), c))
		for i := idxControl + 1; i < len(cs); i++ {
			r := statsRow(cell, op, cs[i].name(), st[i][op])
			r.ratio = "vs " + cs[base[i]].name() + ": " + ratioCell(st[i][op], st[base[i]][op])
			rows = append(rows, r)
		}
	}
	return rows
}

// ratioCell renders a's median and throughput relative to b's, with the
// median ratio's bootstrap confidence interval.
func ratioCell(a, b *opStats) string {
	m, t := ratios(a, b)
	lo, hi := medianRatioCI(a.lat, b.lat, 1000)
	return fmt.Sprintf("median %.2f× (95%% CI %.2f–%.2f), ops/s %.2f×", m, lo, hi, t)
}

// ratios returns a's median latency and throughput relative to b's.
func ratios(a, b *opStats) (median, throughput float64) {
	return float64(a.lat.median()) / float64(b.lat.median()), a.opsPerSec() / b.opsPerSec()
}

func statsRow(cell cellPlan, op, who string, s *opStats) row {
	r := row{
		section:   "1 ops",
		name:      op + " " + cell.label(),
		contender: who,
		median:    fmtDur(s.lat.median()),
		p99:       fmtDur(s.lat.p99()),
		opsPerSec: fmtRate(s.opsPerSec()),
		requests:  formatRequests(s.reqs.snapshot(), s.n),
	}
	if op == "put" || op == "open" {
		r.mbPerSec = fmtRate(s.opsPerSec() * float64(cell.size) / 1e6)
	}
	if s.n > 0 {
		r.memory = fmt.Sprintf("%s, %d allocs /op", fmtBytes(float64(s.allocBytes)/float64(s.n)), s.allocObjs/uint64(s.n))
	}
	return r
}

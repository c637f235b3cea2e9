package main

import (
	"context"
	"fmt"
	"log"
	"runtime/pprof"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// inlineThreshold is the threshold of the inline contender.
const inlineThreshold = 4096

// runInline is section 4: 1 KiB attachments kept inside the document
// (inline_threshold=4096) vs in S3, put+get+open round trips.
func (b *bench) runInline(ctx context.Context) ([]row, error) {
	var cs []*docblobContender
	for _, t := range []int64{inlineThreshold, 0} {
		drv, err := s3dynamo.New(b.sv.driverOptions(b.fx, &b.cfg, 0, 0))
		if err != nil {
			return nil, err
		}
		store, err := docblob.NewStore(drv, &docblob.Options{InlineThreshold: t})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		label := "inline off"
		if t > 0 {
			label = fmt.Sprintf("inline %d", t)
		}
		cs = append(cs, &docblobContender{label: label, store: store, pk: "inline-" + fmt.Sprint(t)})
	}
	w := b.workers
	cells := []cellPlan{{1 << 10, 1, 25, 12}, {1 << 10, w, 10 * w, 6}}
	if b.quick {
		cells = []cellPlan{{1 << 10, 1, 10, 3}, {1 << 10, w, 3 * w, 2}}
	}
	var rows []row
	for _, cell := range cells {
		log.Printf("inline: %s", cell.label())
		payload := prngBytes(7, cell.size)
		stats := []*opStats{{}, {}}
		for round := 0; round <= cell.rounds; round++ {
			for _, i := range rotation(2, round) {
				st, batch := stats[i], cell.batch
				if round == 0 {
					st, batch = &opStats{}, min(batch, 2*cell.workers)
				}
				if err := roundTrips(ctx, cs[i], cell.workers, batch, payload, st); err != nil {
					return rows, fmt.Errorf("%s: %w", cs[i].label, err)
				}
			}
		}
		on, off := stats[0], stats[1]
		name := "put+get+open " + cell.label()
		ronR := statsRow(cell, "", cs[0].label, on)
		roffR := statsRow(cell, "", cs[1].label, off)
		for _, r := range []*row{&ronR, &roffR} {
			r.section, r.name = "4 inline", name
			r.mbPerSec = ""
		}
		ratio := on.opsPerSec() / off.opsPerSec()
		ronR.ratio = fmt.Sprintf("ops/s %.2f×, median %.2f×", ratio, float64(on.lat.median())/float64(off.lat.median()))
		ronR.target = "ops/s ≥ 1.8× inline off"
		ronR.met = verdict(ratio >= 1.8)
		rows = append(rows, ronR, roffR)
	}
	return rows, nil
}

// roundTrips times batch put+get+open round trips of new documents, then
// deletes them (not timed).
func roundTrips(ctx context.Context, c *docblobContender, workers, batch int, payload []byte, st *opStats) error {
	items := make([]*item, batch)
	for i := range items {
		items[i] = &item{sk: newID()}
	}
	var err error
	pprof.Do(ctx, pprof.Labels("contender", c.label, "op", "roundtrip", "task", c.label+"/roundtrip"), func(ctx context.Context) {
		err = runPhase(ctx, workers, items, st, func(ctx context.Context, it *item) error {
			if err := c.put(ctx, it, payload); err != nil {
				return err
			}
			if err := c.get(ctx, it); err != nil {
				return err
			}
			_, err := c.open(ctx, it)
			return err
		})
	})
	if err != nil {
		return err
	}
	return runPhase(ctx, workers, items, &opStats{}, c.del)
}

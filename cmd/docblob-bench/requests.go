package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/docblob/docblob/drivers/s3dynamo"
)

// requestTotals sum, per payload size, the requests of docblob ([0]) and
// the manual way ([1]) over every cell, by operation.
type requestTotals map[int64]*[2]map[string]*opStats

func (t requestTotals) add(size int64, db, manual map[string]*opStats) {
	acc := t[size]
	if acc == nil {
		acc = &[2]map[string]*opStats{newOpStats(), newOpStats()}
		t[size] = acc
	}
	for i, st := range []map[string]*opStats{db, manual} {
		for op, s := range st {
			acc[i][op].n += s.n
			for k, v := range s.reqs.snapshot() {
				acc[i][op].reqs.addN(k, v)
			}
		}
	}
}

// rows checks docblob's requests against the design's minimum, by size.
func (t requestTotals) rows() []row {
	var rows []row
	for _, size := range slices.Sorted(maps.Keys(t)) {
		for _, op := range opNames {
			rows = append(rows, requestRow(size, op, t[size][0][op], t[size][1][op]))
		}
	}
	return rows
}

// minimalRequests is the design's minimum number of requests per
// operation with one attachment.
var minimalRequests = map[string]map[string]float64{
	"put":    {"S3 PutObject": 1, "DDB PutItem": 1},
	"get":    {"DDB GetItem": 1},
	"open":   {"S3 GetObject": 1},
	"delete": {"DDB DeleteItem": 1, "S3 DeleteObject": 1},
}

// requestRow checks docblob's requests per operation against the design's
// minimum, over every cell of one payload size.
func requestRow(size int64, op string, db, manual *opStats) row {
	got := db.reqs.snapshot()
	want := minimalRequests[op]
	r := row{
		section:   "2 requests",
		name:      fmt.Sprintf("%s %s (%d ops)", op, fmtSize(size), db.n),
		contender: "docblob",
		requests:  formatRequests(got, db.n),
		ratio:     "sdk-manual: " + formatRequests(manual.reqs.snapshot(), manual.n),
		target:    formatRequests(floatCounts(want), 1),
	}
	r.met = verdict(maps.Equal(perOp(got, db.n), want))
	if op == "put" && size >= s3dynamo.DefaultPartSize {
		r.target += fmt.Sprintf(" (design minimum is for payloads under the %s part size)", fmtSize(s3dynamo.DefaultPartSize))
		if r.met != "yes" {
			r.met = "n/a (multipart)"
		}
	}
	return r
}

func floatCounts(m map[string]float64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/url"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/s3dynamo" // registers s3dynamo://
)

// runCold is section 5: in a fresh process each time, open a store from a
// URL and do the first Get, vs the SDK's LoadDefaultConfig +
// dynamodb.NewFromConfig + GetItem.
func (b *bench) runCold(ctx context.Context) ([]row, error) {
	pk, sk := "cold", "start"
	doc := &benchDoc{PK: pk, SK: sk, Title: "cold start",
		File: docblob.NewBlob(bytes.NewReader(prngBytes(3, 1<<10)), &docblob.BlobOptions{Name: "cold.bin"})}
	if err := b.store.Put(ctx, doc); err != nil {
		return nil, err
	}
	q := url.Values{
		"bucket":            {b.fx.bucket},
		"s3_endpoint":       {b.sv.s3Endpoint},
		"dynamodb_endpoint": {b.sv.ddbEndpoint},
		"path_style":        {"true"},
		"region":            {b.sv.region},
	}
	base := childSpec{Mode: "cold", Table: b.fx.table, Bucket: b.fx.bucket, PK: pk, SK: sk,
		URL: "s3dynamo://" + b.fx.table + "?" + q.Encode(), Region: b.sv.region, DDBEndpoint: b.sv.ddbEndpoint,
		// Loading a CA bundle (this machine sets one) costs both
		// contenders the same thousands of allocations and hides the
		// difference; the servers speak plain HTTP and a typical cold
		// start (a Lambda) has none.
		UnsetEnv: []string{"AWS_CA_BUNDLE"}}
	reps := 20
	if b.quick {
		reps = 5
	}
	names := []string{"docblob", "sdk"}
	runs := map[string][]childRun{}
	log.Printf("cold: %d fresh processes per contender", reps)
	for rep := range reps {
		order := names
		if rep%2 == 1 {
			order = []string{names[1], names[0]}
		}
		for _, c := range order {
			spec := base
			spec.Contender = c
			run, err := b.kids.run(spec)
			if err != nil {
				return nil, err
			}
			runs[c] = append(runs[c], run)
		}
	}
	if b.memprofile != "" {
		// One more run each, not counted, recording every allocation
		// (see childMain).
		for _, c := range names {
			spec := base
			spec.Contender, spec.MemProfile = c, childProfile(b.memprofile, "cold-"+c)
			if _, err := b.kids.run(spec); err != nil {
				return nil, err
			}
		}
	}
	db, sdk := coldRow("docblob", runs["docblob"]), coldRow("sdk", runs["sdk"])
	dm, sm := coldMedians(runs["docblob"]), coldMedians(runs["sdk"])
	db.ratio = fmt.Sprintf("time %.2f×, allocs %.2f×, bytes %.2f×", float64(dm.total)/float64(sm.total),
		float64(dm.mallocs)/float64(sm.mallocs), float64(dm.bytes)/float64(sm.bytes))
	db.target = "none set (reported)"
	return []row{db, sdk}, nil
}

// coldStats are the medians of a contender's cold starts.
type coldStats struct {
	total, open, get time.Duration
	mallocs, bytes   uint64
}

func coldMedians(runs []childRun) coldStats {
	var tot, op, gt, ma, by samples
	for _, r := range runs {
		tot = append(tot, time.Duration(r.OpenNanos+r.GetNanos))
		op = append(op, time.Duration(r.OpenNanos))
		gt = append(gt, time.Duration(r.GetNanos))
		ma = append(ma, time.Duration(r.Mallocs))
		by = append(by, time.Duration(r.TotalAlloc))
	}
	return coldStats{tot.median(), op.median(), gt.median(), uint64(ma.median()), uint64(by.median())}
}

func coldRow(who string, runs []childRun) row {
	m := coldMedians(runs)
	var tot samples
	for _, r := range runs {
		tot = append(tot, time.Duration(r.OpenNanos+r.GetNanos))
	}
	return row{section: "5 cold", name: fmt.Sprintf("open + first get, fresh process (%d runs)", len(runs)), contender: who,
		median: fmtDur(m.total), p99: fmtDur(tot.p99()),
		memory:   fmt.Sprintf("%d allocs, %s; open %s + get %s", m.mallocs, fmtBytes(float64(m.bytes)), fmtDur(m.open), fmtDur(m.get)),
		requests: "DDB GetItem 1"}
}

// childCold is the child side of a cold start. Everything it measures
// happens after the process started and its packages were initialized
// (the same binary for both contenders).
func childCold(ctx context.Context, spec childSpec) (childResult, error) {
	var res childResult
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	var t1 time.Time
	var err error
	switch spec.Contender {
	case "docblob":
		t1, err = coldDocblob(ctx, spec)
	case "sdk":
		t1, err = coldSDK(ctx, spec)
	default:
		err = fmt.Errorf("unknown cold contender %q", spec.Contender)
	}
	t2 := time.Now()
	runtime.ReadMemStats(&m1)
	res.OpenNanos, res.GetNanos = int64(t1.Sub(t0)), int64(t2.Sub(t1))
	res.Mallocs, res.TotalAlloc = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	return res, err
}

// coldDocblob opens the store from its URL and reads the document; it
// returns when the store was open.
func coldDocblob(ctx context.Context, spec childSpec) (opened time.Time, err error) {
	store, err := docblob.Open(ctx, spec.URL)
	opened = time.Now()
	if err != nil {
		return opened, err
	}
	defer store.Close()
	doc := &benchDoc{PK: spec.PK, SK: spec.SK}
	if err := store.Get(ctx, doc); err != nil {
		return opened, err
	}
	if doc.File == nil || doc.File.Size() != 1<<10 {
		return opened, fmt.Errorf("unexpected document %+v", doc)
	}
	return opened, nil
}

// coldSDK is the same with the SDK alone.
func coldSDK(ctx context.Context, spec childSpec) (opened time.Time, err error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(spec.Region))
	if err != nil {
		return time.Now(), err
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(spec.DDBEndpoint) })
	opened = time.Now()
	out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(spec.Table),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: spec.PK},
			"sk": &ddbtypes.AttributeValueMemberS{Value: spec.SK},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return opened, err
	}
	f, err := decodeFile(out.Item)
	if err == nil && f.size != 1<<10 {
		err = fmt.Errorf("unexpected item %v", out.Item)
	}
	return opened, err
}

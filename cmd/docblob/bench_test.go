package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/docblob/docblob"
)

// TestCopyBenchmark measures `docblob cp file://… s3dynamo://…` of 1,000
// documents with 100 MiB of payloads in total, then `docblob check
// --verify` of the target, which must find nothing. It runs only when
// DOCBLOB_CP_BENCH=1, against the test servers:
//
//	DOCBLOB_CP_BENCH=1 scripts/servers.sh run -- go test -run TestCopyBenchmark -v ./cmd/docblob/
//
// DOCBLOB_CP_BENCH_DOCS, DOCBLOB_CP_BENCH_MIB and
// DOCBLOB_CP_BENCH_CONCURRENCY change the sizes and cp's --concurrency
// (default 1000, 100 and 8).
func TestCopyBenchmark(t *testing.T) {
	if os.Getenv("DOCBLOB_CP_BENCH") != "1" {
		t.Skip("set DOCBLOB_CP_BENCH=1 to measure cp (see the test's comment)")
	}
	docs := envInt(t, "DOCBLOB_CP_BENCH_DOCS", 1000)
	mib := envInt(t, "DOCBLOB_CP_BENCH_MIB", 100)
	concurrency := envInt(t, "DOCBLOB_CP_BENCH_CONCURRENCY", 8)
	dst := s3Backend(t)
	src := fileBackend(t)

	// The source: docs documents of equal payloads summing to mib MiB.
	ctx := context.Background()
	store, err := docblob.Open(ctx, src.url)
	if err != nil {
		t.Fatal(err)
	}
	size := mib << 20 / docs
	total := 0
	for i := range docs {
		data := make([]byte, size)
		rand.Read(data)
		total += size
		err := store.Put(ctx, map[string]any{"pk": fmt.Sprintf("customer-%02d", i%50), "sk": fmt.Sprintf("invoice-%05d", i),
			"title": fmt.Sprintf("invoice %d", i), "total": float64(i) * 1.25,
			"pdf": docblob.NewBlobBytes(data, &docblob.BlobOptions{Name: fmt.Sprintf("invoice-%05d.pdf", i)})})
		if err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	c := cli{t: t}
	start := time.Now()
	r := c.ok("cp", src.url, dst.url, "--json", "--concurrency", strconv.Itoa(concurrency))
	cpTime := time.Since(start)
	s := summary(t, r)
	if s["copied"] != int64(docs) || s["bytes"] != int64(total) {
		t.Fatalf("cp: %v", s)
	}

	start = time.Now()
	r = c.ok("cp", src.url, dst.url, "--json", "--concurrency", strconv.Itoa(concurrency))
	rerunTime := time.Since(start)
	if s := summary(t, r); s["skipped"] != int64(docs) {
		t.Fatalf("cp again: %v", s)
	}

	start = time.Now()
	r = cli{t: t, store: dst.url}.ok("check", "--verify", "--json")
	checkTime := time.Since(start)
	if f := ofType(r.lines(t), "finding"); len(f) != 0 {
		t.Fatalf("check --verify found %d problems: %v", len(f), f[0])
	}

	mb := float64(total) / (1 << 20)
	report := fmt.Sprintf(`docblob cp file:// -> s3dynamo:// (MinIO + DynamoDB Local on 127.0.0.1), --concurrency %d
  %d documents, %.1f MiB of payloads (%d bytes each)
  cp:               %6.2fs  %6.1f MiB/s  %6.0f documents/s
  cp again (skip):  %6.2fs  %6.0f documents/s
  check --verify:   %6.2fs  %6.1f MiB/s  no findings
`, concurrency, docs, mb, size, cpTime.Seconds(), mb/cpTime.Seconds(), float64(docs)/cpTime.Seconds(),
		rerunTime.Seconds(), float64(docs)/rerunTime.Seconds(), checkTime.Seconds(), mb/checkTime.Seconds())
	t.Log("\n" + report)
	fmt.Print(report)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

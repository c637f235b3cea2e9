// Command docblob-bench compares docblob's S3 + DynamoDB store with the
// code a user would write by hand against aws-sdk-go-v2, side by side in
// one run, and prints one markdown table of the results, which it also
// writes to a file.
//
// It needs MinIO and DynamoDB Local on loopback, as started by
// scripts/servers.sh, and refuses any other address:
//
//	scripts/servers.sh run -- go run ./cmd/docblob-bench -quick
//	scripts/servers.sh run -- go run ./cmd/docblob-bench -out bench/results.md
//
// Sections (select some with -only, a comma-separated list):
//
//	ops       docblob vs hand-written SDK code: put, get, open, delete of
//	          1 KiB, 100 KiB and 10 MiB payloads, sequential and with
//	          -workers concurrent workers; target: median latency and
//	          throughput within 5% of the baseline
//	requests  requests per operation counted on the wire (measured by ops;
//	          selecting it runs ops); target: the design's minimum
//	large     a 1 GiB payload streamed up and down through docblob and
//	          through the SDK's transfer manager alone, each round trip in a
//	          child process whose peak RSS is read from its rusage; targets:
//	          docblob peak RSS < 64 MiB, throughput >= 90% of the transfer
//	          manager's
//	grid      docblob round trips over part sizes 5, 8, 16 MiB x upload
//	          concurrency 2, 4, 8, and the default it recommends
//	inline    1 KiB attachments, inline_threshold=4096 vs off, put+get+open
//	          round trips; target: >= 1.8x throughput
//	cold      a fresh process opening a store from a URL and doing the first
//	          Get, vs LoadDefaultConfig + dynamodb.NewFromConfig + GetItem
//
// Contenders are interleaved so that drift of the machine hits both:
// sequential cells alternate them operation by operation, concurrent cells
// batch by batch, and rounds alternate which one goes first. Next to each
// ratio of medians is its bootstrap 95% confidence interval, which shows
// how much of a gap sampling noise alone could explain. Both use the same SDK clients:
// the baseline borrows docblob's *s3.Client and *dynamodb.Client through
// Store.As, so HTTP transport, retryer and checksum settings are
// identical; an http.RoundTripper in that shared client counts the
// requests of each operation and refuses non-loopback hosts.
//
// The program provisions a table and a bucket with unique names (with
// s3dynamo.CreateTable and CreateBucket) and removes them at the end.
//
// Child processes (large, grid, cold) are started by a small launcher
// process that the benchmark starts first: Linux charges an exec'd child
// with the peak RSS of the process it was forked from, so children of the
// benchmark itself would report its peak, not theirs (see launcher.go).
// Each child also reports its own VmHWM, shown next to the rusage figure.
// Cold-start children run without AWS_CA_BUNDLE, whose loading would cost
// both contenders the same thousands of allocations.
//
// BenchmarkOverhead (go test -run '^$' -bench Overhead -benchmem) measures
// the client side alone, against an in-process fake of S3 and DynamoDB:
// docblob's own CPU and allocations per operation, without servers.
//
// Flags:
//
//	-quick        a short run that CI can afford (smaller counts, 128 MiB
//	              instead of 1 GiB)
//	-only LIST    sections to run (default all)
//	-out FILE     where to write the table (default bench/results.md)
//	-workers N    concurrent workers of the concurrent cells (default 16)
//	-aa           also run a second, identical baseline in the ops section
//	              (default true): its ratio to the first is the noise floor
//	-explain      also run, in the ops section, docblob with a payload
//	              reader that cannot seek (as a request body), and variants
//	              of the baseline that each change one thing, to attribute
//	              docblob's gaps: PutItem with ReturnValues ALL_OLD; uploads
//	              through the transfer manager from a plain io.Reader;
//	              multipart uploads from a part size on, straight from
//	              memory; reads without the SDK's response checksum
//	              validation
//	-large SIZE   override the large payload size in MiB
//	-cpuprofile F write a CPU profile of this process to F, with pprof
//	              labels "contender", "op" and "task" (contender/op), e.g.
//	              go tool pprof -tagfocus 'task=^docblob/put$' F; child
//	              processes write theirs next to it (cpu.pprof becomes
//	              cpu.large-docblob-0.pprof)
//	-memprofile F write a heap profile at the end to F (children likewise)
package main

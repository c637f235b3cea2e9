// Command docblob-bench compares docblob's S3 + DynamoDB store with the
// code a user would write by hand against aws-sdk-go-v2 (the manual way,
// with the SDK's defaults), and with a like-for-like control, side by side
// in one run, and prints one markdown table of the results, which it also
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
//	ops       put, get, open, delete of 1 KiB, 100 KiB and 10 MiB payloads,
//	          sequential and with -workers concurrent workers, docblob
//	          against two baselines (below); target, against the manual
//	          way: median latency ≤ 1.05× and throughput ≥ 0.95×
//	requests  requests per operation counted on the wire (measured by ops;
//	          selecting it runs ops); target: the design's minimum
//	large     a 1 GiB payload up and down, each round trip in a child
//	          process whose peak RSS is read from its rusage: docblob at
//	          its defaults, streamed and from a file, and streamed at a
//	          larger memory setting (-large-params), the transfer manager
//	          with the driver's part size and concurrency, and the
//	          loopback ceiling; targets: docblob at its defaults uploads
//	          and downloads at ≥ 80% of the ceiling's MB/s with a peak RSS
//	          ≤ 64 MiB
//	grid      docblob round trips over part sizes 5, 6, 8, 16 MiB x upload
//	          concurrency 2, 3, 4, 6, and the default it recommends
//	filegrid  the same from a file (uploads in place) over part sizes 8,
//	          16, 32, 64 MiB x upload concurrency 4, 8, 16; not in the
//	          default run (-only filegrid)
//	readgrid  reads of 256 MiB (uploaded from a file) through an
//	          in-process proxy that carries 90 MB/s per connection, as a
//	          connection to S3 does, over read part sizes 4, 8, 16 MiB x
//	          read concurrency 1, 2, 3, 4, 6; not in the default run
//	          (-only readgrid)
//	inline    1 KiB attachments, inline_threshold=4096 vs off, put+get+open
//	          round trips; target: >= 1.8x throughput
//	cold      a cold start as AWS Lambda sees it (below); reported, no
//	          target
//
// The ops section's contenders:
//
//	docblob      a store made as -docblob-params say (default: none)
//	sdk-manual   the manual way, the headline baseline: what a user writes
//	             from the SDK documentation, with the SDK's defaults.
//	             PutObject(Bucket, Key, Body) to a key derived from the
//	             document's key (the SDK adds its default CRC32), then
//	             PutItem of a flat item {pk, sk, title, s3key, size,
//	             content_type}; get is a GetItem with the default,
//	             eventually consistent read; open a GetObject read to the
//	             end (the SDK validates the CRC32); delete a DeleteItem
//	             without ReturnValues, then a DeleteObject
//	sdk-control  the like-for-like control: hand-written code given
//	             docblob's extra work (a fresh key per write, a full-object
//	             CRC32C for S3 to verify and the SDK to validate on reads,
//	             as docblob's default checksum, docblob's item shape, strongly
//	             consistent reads, DeleteItem with ReturnValues ALL_OLD
//	             to learn the key to delete atomically); docblob ÷
//	             sdk-control is what docblob's code costs, sdk-control ÷
//	             sdk-manual what its choices cost
//	sdk-manual (A/A)  with -aa (default): a second, identical manual way;
//	             its ratio to the first is the noise floor of the headline
//	             comparison
//
// Semantics differ where docblob's defaults are safer: docblob reads
// strongly consistent (-docblob-params consistent_read=false compares
// like with like; DynamoDB Local answers both alike), learns the deleted
// version atomically, and verifies each whole read against the checksum
// it recorded (by default S3's full-object CRC32C, which the SDK validates
// as it streams). On these
// loopback servers, which speak plain HTTP, the SDK signs every request's
// payload with its SHA-256 (no UNSIGNED-PAYLOAD without TLS), so the
// manual way pays a SHA-256 pass on upload too; over HTTPS it would not.
//
// Contenders are interleaved so that drift of the machine hits all:
// sequential cells alternate them operation by operation, concurrent cells
// batch by batch, and rounds rotate which one goes first. Next to each
// ratio of medians is its bootstrap 95% confidence interval, which shows
// how much of a gap sampling noise alone could explain. All share one
// *http.Client (transport, connection pool): an http.RoundTripper in it
// counts the requests of each operation and refuses non-loopback hosts.
// docblob and sdk-control share SDK clients too (sdk-control borrows
// docblob's *s3.Client and *dynamodb.Client through Store.As, so every
// client setting is docblob's); sdk-manual makes its own clients from the
// shared configuration with s3.NewFromConfig and dynamodb.NewFromConfig,
// as a user does, so that nothing docblob sets on its clients (checksum
// settings, say) reaches the manual way.
//
// -docblob-params takes s3dynamo URL query parameters ("checksum=crc32c",
// "consistent_read=false"). docblob.Open checks them on a URL naming the
// fixture; then they are applied to s3dynamo.Options and docblob.Options
// (params.go), because a store opened from a URL would make its own HTTP
// client and lose the shared transport. A parameter docblob accepts that
// params.go does not apply yet is an error naming it. The cold section
// opens its store from the URL itself, parameters included.
//
// The large section's loopback ceiling is the SDK's transfer manager
// uploading the payload from memory and downloading it into a preallocated
// buffer (DownloadObject into an io.WriterAt), memory unbounded, the faster
// in each phase of 64 MiB parts 8 at once and 16 MiB parts 16 at once (for
// 1 GiB; parts scale with -large), the SDK's default CRC32, requests signed
// with UNSIGNED-PAYLOAD as the SDK signs them over HTTPS (over plain HTTP
// it would hash every byte with SHA-256, a cost no upload to S3 pays); the
// payload is made before and hashed after the clock. docblob, and the
// transfer manager with docblob's part size and concurrency, upload from an
// io.Reader that repeats a block of a little over 256 KiB made when it is
// (prng.go: a copy, a fifteenth of the CPU that computing every word took
// on the 2-core build machine, whose CPUs the source shares with the upload
// and MinIO), and docblob, in its file row, from a file that the child
// writes and syncs before the clock (in a temporary directory of its own,
// removed at the end: the page cache holds it, as it would a file just
// written or often read), which the driver uploads in place; it reads with
// Blob.Open, which verifies the checksum that Put recorded. The transfer
// manager's bounded stream is hashed by the child as it is read.
//
// The cold section builds two small programs (internal/colddocblob,
// internal/coldsdk) with go build -trimpath and measures, in fresh
// processes, the time from just before exec to the end of the first Get,
// and of the first Put of a 1 KiB payload: docblob opening an s3dynamo
// store from a URL, against LoadDefaultConfig, the clients the operation
// needs and the manual way's requests. It reports both programs' sizes
// (also with -ldflags=-s -w) and their package initialization as
// GODEBUG=inittrace=1 reports it: all packages, docblob's own, and those
// that gocloud.dev brings in (google.golang.org, OpenTelemetry).
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
//	-aa           also run a second, identical manual way in the ops section
//	              (default true): its ratio to the first is the noise floor
//	-docblob-params Q  s3dynamo URL query parameters for docblob's
//	              contenders, e.g. 'consistent_read=false' (see above)
//	-large-params Q    the larger memory setting of the large section
//	              (default part_size=33554432&upload_concurrency=8, a bound
//	              of about 288 MiB)
//	-explain      also run, in the ops section, docblob with a payload
//	              reader that cannot seek (as a request body), and variants
//	              of sdk-control that each change one thing, to attribute
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
//	              cpu.large-docblob-0.pprof; not the cold programs)
//	-memprofile F write a heap profile at the end to F (large children
//	              likewise)
package main

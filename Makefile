# docblob developer tasks. `make test` is the full, CI-equivalent test run:
# lint, then the whole suite against real MinIO, DynamoDB Local and Azurite
# servers that scripts/servers.sh installs (pinned, cached) and starts on
# loopback.

SHELL := /bin/bash
GO ?= go

# Pinned linter version (built with the local Go toolchain via `go run`).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

TEST_FLAGS ?= -race -count=1 -timeout 40m

.PHONY: all quickstart lint test test-full fuzz bench servers-install servers-start servers-stop

all: test

## quickstart: run the quickstart example
quickstart:
	$(GO) run ./examples/quickstart

## lint: gofmt check, go vet and staticcheck
lint:
	@files="$$(gofmt -l .)"; \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$files"; \
		exit 1; \
	fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## test: lint, then all tests against real MinIO, DynamoDB Local and Azurite;
## then the S3 + DynamoDB driver's again without the race detector, which
## keeps part buffers on the Go heap (outside it, they are mapped: see
## drivers/s3dynamo/partpool.go)
test: lint
	scripts/servers.sh run -- sh -c '$(GO) test $(TEST_FLAGS) ./... && $(GO) test -count=1 -timeout 20m ./drivers/s3dynamo/'

## servers-install: build/fetch the pinned test servers into the cache
servers-install:
	scripts/servers.sh install

## servers-start: start the test servers in the background and print the env file to source
servers-start:
	scripts/servers.sh start

## servers-stop: stop the servers started by servers-start
servers-stop:
	scripts/servers.sh stop

## fuzz: fuzz each target for FUZZTIME (default 1m)
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzKeySegment -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzCodec -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzPlanDecode -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzPlanLocate -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzAttachDecode -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzOwnership -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzNames -fuzztime $(FUZZTIME) ./drivers/filestore
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME) ./localsign
	$(GO) test -run '^$$' -fuzz FuzzDecimal -fuzztime $(FUZZTIME) ./driver
	$(GO) test -run '^$$' -fuzz FuzzCanonicalDecimal -fuzztime $(FUZZTIME) ./driver
	$(GO) test -run '^$$' -fuzz FuzzForeignItems -fuzztime $(FUZZTIME) -timeout 30m ./drivers/s3dynamo

## test-full: the long run: 1,000 faulted runs per driver, 100 crash kills,
## 1,000 documents per store in the shared-bucket ownership test, the
## fuzzers, then a 5 GiB streamed round trip through s3dynamo (peak RSS printed)
test-full: lint
	DOCBLOB_FAULT_RUNS=1000 DOCBLOB_CRASH_KILLS=100 DOCBLOB_OWNERSHIP_DOCS=1000 scripts/servers.sh run -- $(GO) test $(TEST_FLAGS) ./...
	$(MAKE) fuzz
	scripts/servers.sh run -- $(GO) run ./cmd/docblob-bench -only large -large 5120 -quick -out bench/large-5gib.md
	grep -E '^\| (§|---|3 large)' bench/large-5gib.md

## bench: the side-by-side benchmarks against the manual way (hand-written
## aws-sdk-go-v2 code with SDK defaults) and a like-for-like control (starts
## MinIO and DynamoDB Local; writes bench/results.md). BENCHFLAGS=-quick for a
## short run; BENCHFLAGS="-docblob-params checksum=crc32c" for docblob's options.
BENCHFLAGS ?=
bench:
	scripts/servers.sh run -- $(GO) run ./cmd/docblob-bench -out bench/results.md $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench BenchmarkStore -benchmem ./drivers/memstore ./drivers/filestore | tee -a bench/results.md

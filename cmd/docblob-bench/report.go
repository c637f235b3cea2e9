package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// row is one line of the results table. Empty cells print as "".
type row struct {
	section   string // "1 ops", "2 requests", ...
	name      string // the case: "put 1 KiB, 16 workers"
	contender string
	median    string
	p99       string
	opsPerSec string
	mbPerSec  string
	memory    string
	requests  string
	ratio     string // docblob ÷ the section's baseline (in ops, the manual way)
	ratio2    string // docblob ÷ the like-for-like control (ops)
	target    string
	met       string // verdict(true/false), "n/a" or ""
}

var tableHeader = []string{"§", "case", "contender", "median", "p99", "ops/s", "MB/s", "memory", "requests/op", "docblob ÷ baseline (ops: sdk-manual)", "docblob ÷ sdk-control", "target", "met"}

func (r row) cells() []string {
	return []string{r.section, r.name, r.contender, r.median, r.p99, r.opsPerSec, r.mbPerSec, r.memory, r.requests, r.ratio, r.ratio2, r.target, r.met}
}

// verdict renders whether a target is met.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**NO**"
}

// renderReport returns the markdown report: a few lines saying how the
// numbers were made, then the one table.
func renderReport(mode, code string, started time.Time, elapsed time.Duration, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# docblob-bench results\n\n")
	fmt.Fprintf(&b, "Mode %s, %s, %s %s/%s, GOMAXPROCS %d, %s; MinIO and DynamoDB Local on 127.0.0.1; run took %s.\n",
		mode, started.UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.GOMAXPROCS(0), cpuModel(), elapsed.Round(time.Second))
	fmt.Fprintf(&b, "Code: %s when the run started.\n", code)
	fmt.Fprintf(&b, "Contenders run interleaved, alternating which goes first each round. ")
	fmt.Fprintf(&b, "ops/s = operations / wall time of their phases; MB/s = 10^6 payload bytes per second; ")
	fmt.Fprintf(&b, "p99 over fewer than 100 samples is the maximum; memory is heap allocated per operation (ops, inline), ")
	fmt.Fprintf(&b, "the child process's peak RSS (large, grid) or allocations of a fresh process (cold); ")
	fmt.Fprintf(&b, "requests are counted on the wire by an http.RoundTripper in the HTTP client all contenders share.\n")
	fmt.Fprintf(&b, "In ops, docblob is judged against sdk-manual, the manual way with the SDK's defaults (plain PutObject, flat item, GetItem, GetObject, DeleteItem, DeleteObject); ")
	fmt.Fprintf(&b, "its ratio to sdk-control, hand-written code given docblob's extra work (a full-object CRC32C sent to S3 and validated on reads, docblob's item, strongly consistent reads, ReturnValues ALL_OLD on delete), tells what docblob's code costs from what its choices cost.\n\n")
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(tableHeader)) + "\n")
	for _, r := range rows {
		cells := r.cells()
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", "/")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// writeReport writes the report to path, creating its directory.
func writeReport(path, report string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(report), 0o644)
}

// codeVersion describes the checkout: its commit and how many tracked
// files differ from it, or "unknown" outside a git checkout.
func codeVersion() string {
	rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	v := "git " + strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		if n := len(strings.Fields(string(st))) / 2; n > 0 {
			v += fmt.Sprintf(" with %d modified files", n)
		}
	}
	return v
}

// cpuModel returns the CPU's model name on Linux, or "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// Package coldstart is what the cold-start programs of docblob-bench
// share: their instructions and their report. It imports only the
// standard library, so that it adds nothing to the programs' size or
// initialization beyond what they would have anyway.
package coldstart

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// ExecEnv names the environment variable in which the launcher passes the
// wall-clock time, in Unix nanoseconds, just before it started the
// process: the programs measure from there, as a Lambda's cold start does.
const ExecEnv = "DOCBLOB_BENCH_EXEC_NANOS"

// Spec is what a cold-start program does, given as JSON in its only
// argument.
type Spec struct {
	Op          string // "get" or "put"
	URL         string // docblob: the store's URL
	Table       string // SDK
	Bucket      string // SDK
	Region      string // SDK
	S3Endpoint  string // SDK
	DDBEndpoint string // SDK
	PK, SK      string // the document; put writes a new one under SK
}

// Result is what a program prints, one JSON line.
type Result struct {
	MainNanos  int64 // from before exec to main: loading, runtime and package initialization
	OpenNanos  int64 // main to the clients or store being ready
	OpNanos    int64 // the first operation
	TotalNanos int64 // from before exec to the end of the first operation
	Mallocs    uint64
	TotalAlloc uint64 // bytes, since the process started
	Err        string
}

// Run parses the spec, runs open and then op, and prints the Result; it
// returns the process's exit code. mainStart is when main began.
func Run(mainStart time.Time, open func(Spec) error, op func(Spec) error) int {
	var res Result
	exec, _ := strconv.ParseInt(os.Getenv(ExecEnv), 10, 64)
	var spec Spec
	err := fmt.Errorf("usage: %s SPEC-JSON", os.Args[0])
	if len(os.Args) == 2 {
		err = json.Unmarshal([]byte(os.Args[1]), &spec)
	}
	var t1, t2 time.Time
	if err == nil {
		err = open(spec)
		t1 = time.Now()
		if err == nil {
			err = op(spec)
		}
		t2 = time.Now()
	}
	if err != nil {
		res.Err = err.Error()
	} else {
		res.OpenNanos, res.OpNanos = int64(t1.Sub(mainStart)), int64(t2.Sub(t1))
		if exec > 0 {
			res.MainNanos, res.TotalNanos = mainStart.UnixNano()-exec, t2.UnixNano()-exec
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.Mallocs, res.TotalAlloc = ms.Mallocs, ms.TotalAlloc
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if res.Err != "" {
		return 1
	}
	return 0
}

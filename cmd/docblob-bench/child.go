package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docblob/docblob/cmd/docblob-bench/internal/coldstart"
)

// childFlag, as the first argument, makes the program a child process that
// runs one measurement described by the JSON spec in the second argument
// and prints a childResult. It is not a registered flag, so -h does not
// list it.
const childFlag = "-bench.child"

// childSpec describes a child's measurement.
type childSpec struct {
	Mode        string // "large" or "cold"
	Contender   string // large: "docblob", "tm" or "ceiling"; cold: "docblob" or "sdk"
	Params      string // large: docblob's s3dynamo URL parameters
	Table       string
	Bucket      string
	Size        int64
	Seed        uint64
	Want        map[string]string // the payload's hex checksum by algorithm (sha256, crc32c, crc64nvme)
	PartSize    int64             // 0: the driver's default
	Concurrency int               // 0: the driver's default
	S3Endpoint  string            // large: if set, S3 is reached here (a proxy the parent runs) instead
	PK, SK      string

	// large, docblob and docblob-file: also time one plain GetObject of
	// the stored payload (OneGet), before docblob's download if
	// OneGetFirst, else after it
	OneGet, OneGetFirst bool

	UnsetEnv   []string // environment variables the child runs without
	Exe        string   // cold: a program to run instead of this one, with ExeArg as its argument
	ExeArg     string
	Env        []string // cold: extra environment variables ("GODEBUG=inittrace=1")
	KeepStderr bool     // return the child's standard error in childResult.Stderr
	CPUProfile string
	MemProfile string
}

// childResult is what a child reports on its standard output.
type childResult struct {
	UpNanos, DownNanos       int64
	OneGetNanos              int64 // large: see childSpec.OneGet
	UpPeakRSSKiB             int64 // VmHWM after the upload
	PeakRSSKiB               int64 // VmHWM at the end, to check the rusage
	UpRequests, DownRequests map[string]int64
	// cold: see coldstart.Result
	MainNanos, OpenNanos, OpNanos, TotalNanos int64
	Mallocs, TotalAlloc                       uint64
	Err                                       string
	Stderr                                    string // with childSpec.KeepStderr, set by runChild
}

// childRun is a finished child: its result, its peak RSS and its wall time.
type childRun struct {
	childResult
	maxRSS int64 // bytes
	wall   time.Duration
}

// runChild runs spec in a fresh process (this program re-executed) and
// reads the process's peak RSS from its rusage.
func runChild(ctx context.Context, spec childSpec) (childRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return childRun{}, err
	}
	cmd := exec.CommandContext(ctx, exe, childFlag, string(js))
	if spec.Exe != "" {
		cmd = exec.CommandContext(ctx, spec.Exe, spec.ExeArg)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(spec.UnsetEnv, k) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, spec.Env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if spec.KeepStderr {
		cmd.Stderr = &stderr
	}
	t0 := time.Now()
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", coldstart.ExecEnv, t0.UnixNano()))
	err = cmd.Run()
	run := childRun{wall: time.Since(t0)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		if runtime.GOOS == "darwin" {
			run.maxRSS = ru.Maxrss // bytes on macOS
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &run.childResult); jerr != nil {
		if err == nil {
			err = jerr
		}
		return run, fmt.Errorf("child %s/%s: %w", spec.Mode, spec.Contender, err)
	}
	run.Stderr = stderr.String()
	if run.Err != "" {
		return run, fmt.Errorf("child %s/%s: %s", spec.Mode, spec.Contender, run.Err)
	}
	return run, err
}

// childMain is the child process's main.
func childMain(arg string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "docblob-bench child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if spec.CPUProfile != "" {
		if f, err := os.Create(spec.CPUProfile); err == nil {
			defer f.Close()
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	var res childResult
	var err error
	switch spec.Mode {
	case "large":
		res, err = childLarge(ctx, spec)
	default:
		err = fmt.Errorf("unknown child mode %q", spec.Mode)
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.PeakRSSKiB = peakRSSKiB()
	if spec.MemProfile != "" {
		if err := writeHeapProfile(spec.MemProfile); err != nil {
			fmt.Fprintln(os.Stderr, "docblob-bench child: heap profile:", err)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	if res.Err != "" {
		return 1
	}
	return 0
}

// peakRSSKiB returns the process's peak resident set so far (VmHWM), or 0
// where /proc is missing.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// childProfile names a child's profile file after the parent's:
// cpu.pprof becomes cpu.large-docblob-0.pprof.
func childProfile(parent, child string) string {
	if parent == "" {
		return ""
	}
	ext := filepath.Ext(parent)
	return strings.TrimSuffix(parent, ext) + "." + child + ext
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// launcherFlag, as the only argument, makes the program a launcher: it
// reads childSpecs, one JSON line each, from its standard input, runs each
// in a child process and answers with a launcherReply line.
//
// Children are started by the launcher, not by the benchmark itself,
// because Linux charges an exec'd process with the peak RSS of the memory
// it was exec'd from (fs/exec.c, exec_mmap: setmax_mm_hiwater_rss), and
// os/exec starts children with vfork semantics, sharing the parent's
// memory until exec: a child of the benchmark after the ops section would
// report the benchmark's own peak (over 1 GiB) as its ru_maxrss. The
// launcher is started first, while the benchmark is small, and stays
// small, so the floor it adds is its own peak of a few MiB.
const launcherFlag = "-bench.launcher"

// launcherReply is a child's result as the launcher saw it.
type launcherReply struct {
	Result    childResult
	MaxRSS    int64 // bytes, from the child's rusage
	WallNanos int64
	Err       string
}

// launcher is the benchmark's handle on its launcher process.
type launcher struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startLauncher starts the launcher process; ctx's end stops it.
func startLauncher(ctx context.Context) (*launcher, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, launcherFlag)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return &launcher{cmd: cmd, in: in, out: sc}, nil
}

// run runs spec in a fresh child process and returns its result and peak
// RSS.
func (l *launcher) run(spec childSpec) (childRun, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	js, err := json.Marshal(spec)
	if err != nil {
		return childRun{}, err
	}
	if _, err := l.in.Write(append(js, '\n')); err != nil {
		return childRun{}, fmt.Errorf("launcher: %w", err)
	}
	if !l.out.Scan() {
		return childRun{}, fmt.Errorf("launcher exited: %v", l.out.Err())
	}
	var rep launcherReply
	if err := json.Unmarshal(l.out.Bytes(), &rep); err != nil {
		return childRun{}, fmt.Errorf("launcher: %w", err)
	}
	run := childRun{childResult: rep.Result, maxRSS: rep.MaxRSS, wall: time.Duration(rep.WallNanos)}
	if rep.Err != "" {
		return run, errors.New(rep.Err)
	}
	return run, nil
}

// close stops the launcher.
func (l *launcher) close() error {
	l.in.Close()
	return l.cmd.Wait()
}

// launcherMain is the launcher process's main.
func launcherMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		var spec childSpec
		var rep launcherReply
		if err := json.Unmarshal(sc.Bytes(), &spec); err != nil {
			rep.Err = err.Error()
		} else {
			run, err := runChild(ctx, spec)
			rep.Result, rep.MaxRSS, rep.WallNanos = run.childResult, run.maxRSS, int64(run.wall)
			if err != nil {
				rep.Err = err.Error()
			}
		}
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	}
	return 0
}

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestProgressPlain: with stderr not a terminal, progress is a plain line
// every --progress-interval and one at the end.
func TestProgressPlain(t *testing.T) {
	t.Parallel()
	src, dst := fileBackend(t), fileBackend(t)
	seed(t, src.url, 60, 64<<10)
	r := cli{t: t}.ok("cp", src.url, dst.url, "--progress-interval", "2ms", "--concurrency", "1")
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	running := regexp.MustCompile(`^cp: \d+/\d+ documents, [0-9.]+ [KMG]?i?B / [0-9.]+ [KMG]?i?B \(\d+%\), [0-9.]+ [KMG]?i?B/s, (ETA \S+|\S+ elapsed)$`)
	final := regexp.MustCompile(`^cp: done in \S+, 60/60 documents, 3\.0 MiB, [0-9.]+ [KMG]?i?B/s$`)
	periodic := 0
	for _, l := range lines[:len(lines)-1] {
		if !running.MatchString(l) {
			t.Errorf("not a progress line: %q", l)
		}
		periodic++
	}
	if periodic == 0 {
		t.Errorf("no periodic progress line in %v", lines)
	}
	if !final.MatchString(lines[len(lines)-1]) {
		t.Errorf("last line: %q", lines[len(lines)-1])
	}

	// A transfer: the final line names the bytes and the rate.
	c := cli{t: t, store: src.url}
	p, _ := randomFile(t, "big.bin", 3<<20)
	r = c.ok("put", "big", "1", "data", p, "--progress-interval", "1ms")
	last := lines2(r.stderr)
	if !regexp.MustCompile(`^put: done in \S+, 3\.0 MiB, [0-9.]+ [KMG]?i?B/s$`).MatchString(last[len(last)-1]) {
		t.Errorf("put's progress: %q", r.stderr)
	}
	r = c.ok("get", "big", "1", "data", "-o", filepath.Join(t.TempDir(), "out"))
	if !regexp.MustCompile(`^get: done in \S+, 3\.0 MiB, [0-9.]+ [KMG]?i?B/s$`).MatchString(r.stderr[:len(r.stderr)-1]) {
		t.Errorf("get's progress: %q", r.stderr)
	}
	r = c.ok("check", "--verify")
	if !regexp.MustCompile(`^check: done in \S+, 0 findings\n$`).MatchString(r.stderr) {
		t.Errorf("check's progress: %q", r.stderr)
	}

	// --quiet and --no-progress silence it.
	for _, flag := range []string{"--quiet", "--no-progress"} {
		if r := c.ok("get", "big", "1", "data", "-o", filepath.Join(t.TempDir(), "out"), flag); r.stderr != "" {
			t.Errorf("get %s: %q", flag, r.stderr)
		}
		if r := c.ok("sweep", flag); r.stderr != "" {
			t.Errorf("sweep %s: %q", flag, r.stderr)
		}
	}
}

func lines2(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// TestProgressJSON: with --json, progress lines on stderr are JSON objects
// of type "progress".
func TestProgressJSON(t *testing.T) {
	t.Parallel()
	src, dst := fileBackend(t), fileBackend(t)
	seed(t, src.url, 30, 32<<10)
	r := cli{t: t}.ok("cp", src.url, dst.url, "--json", "--progress-interval", "2ms", "--concurrency", "1")
	lines := jsonLines(t, r.stderr)
	if len(lines) < 2 {
		t.Fatalf("want periodic and final progress lines: %s", r)
	}
	for _, l := range lines {
		if l["type"] != "progress" || l["command"] != "cp" {
			t.Errorf("stderr line: %v", l)
		}
	}
	last := lines[len(lines)-1]
	if last["done"] != true || last["failed"] != false || last["documents"].(interface{ String() string }).String() != "30" ||
		last["bytes"].(interface{ String() string }).String() != last["total_bytes"].(interface{ String() string }).String() {
		t.Errorf("last progress line: %v", last)
	}
	if lines[0]["done"] != false {
		t.Errorf("first progress line: %v", lines[0])
	}
}

// TestProgressTerminal: with stderr a terminal (a pseudo-terminal here),
// progress is a bar with bytes, rate and ETA.
func TestProgressTerminal(t *testing.T) {
	t.Parallel()
	src, dst := fileBackend(t), fileBackend(t)
	seed(t, src.url, 40, 64<<10)
	out := onTerminal(t, "cp", src.url, dst.url, "--concurrency", "1")
	wantContains(t, "the terminal", out, "cp:", "/40 documents", "[", "=", "/s", "done in ")
	if !strings.Contains(out, "\x1b[") && strings.Count(out, "\r\n") > 1 {
		t.Errorf("several bar lines, but no cursor movement: %q", out)
	}
	if regexp.MustCompile(`cp: done in|cp: \d+/\d+ documents,`).MatchString(out) {
		t.Errorf("plain progress lines on a terminal: %q", out)
	}

	p, _ := randomFile(t, "big.bin", 8<<20)
	cli{t: t, store: src.url}.ok("put", "big", "1", "data", p)
	out = onTerminal(t, "--store", src.url, "get", "big", "1", "data", "-o", filepath.Join(t.TempDir(), "out"))
	wantContains(t, "the terminal", out, "get:", "8.0 MiB", "[", "=", "/s", "done in ")
	if regexp.MustCompile(`\d+\.\d MiB / \d`).MatchString(out) && !strings.Contains(out, "ETA") {
		t.Errorf("a bar that was drawn before the end shows no ETA: %q", out)
	}

	out = onTerminal(t, "--store", src.url, "check", "--verify")
	wantContains(t, "the terminal", out, "check:", "0 findings", "done in ")

	if out := onTerminal(t, "--store", src.url, "--quiet", "check"); out != "" {
		t.Errorf("--quiet on a terminal: %q", out)
	}
}

// onTerminal runs docblob with its stderr on a pseudo-terminal, and
// returns what it drew there.
func onTerminal(t *testing.T, args ...string) string {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := cli{t: t, env: []string{"TERM=xterm"}}.command(ctx, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var drawn bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(&drawn, ptmx)
		copied <- err
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docblob %s: %v\nstdout: %s\nterminal: %q", strings.Join(args, " "), err, stdout.String(), drawn.String())
	}
	select {
	case err := <-copied:
		var pe *os.PathError
		if err != nil && !errors.As(err, &pe) { // EIO once the terminal's last writer is gone
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	return drawn.String()
}

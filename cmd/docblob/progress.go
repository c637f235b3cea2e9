package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress on stderr, for transfers (cat, get, put), copies (cp), sweeps
// and checks:
//
//   - a bar (github.com/vbauerster/mpb) with bytes, rate and ETA when
//     stderr is a terminal;
//   - otherwise a plain line every --progress-interval, and one when the
//     work ends (JSON objects of type "progress" with --json);
//   - nothing with --no-progress or --quiet.
//
// Bytes are counted by the library's progress callbacks
// (docblob.BlobOptions.Progress for uploads, Blob.WithProgress for reads
// and for the copies cp has Put make), through task.transfer and
// task.counter. Check and Sweep read payloads themselves, so their
// progress shows findings and time only.

// progressStyle is how progress is shown.
type progressStyle int

const (
	progressOff   progressStyle = iota
	progressBar                 // a live bar on a terminal
	progressLines               // periodic plain lines
)

// taskKind says what a task counts.
type taskKind int

const (
	kindTransfer taskKind = iota // bytes of one payload
	kindCopy                     // documents and bytes
	kindScan                     // findings, for sweep and check
)

// progressStyle decides how this run shows progress.
func (a *app) progressStyle() progressStyle {
	if a.quiet || a.noProgress {
		return progressOff
	}
	if f, ok := a.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) && a.getenv("TERM") != "dumb" {
		return progressBar
	}
	return progressLines
}

// task is one unit of work whose progress is shown. Its counters are
// updated from any goroutine.
type task struct {
	name  string
	kind  taskKind
	style progressStyle
	json  bool
	out   io.Writer
	start time.Time

	bytes      atomic.Int64
	totalBytes atomic.Int64 // -1: unknown
	docs       atomic.Int64
	totalDocs  atomic.Int64 // -1: unknown
	findings   atomic.Int64
	endedAfter atomic.Int64 // the task's duration once finished, in nanoseconds; 0 before

	mu       sync.Mutex // serializes writes to out, and finish
	finished bool
	stop     chan struct{}
	wg       sync.WaitGroup

	mp  *mpb.Progress
	bar *mpb.Bar
}

// startTask starts showing the progress of a task named name (the
// command), of totalBytes bytes (-1 if unknown).
func (a *app) startTask(name string, kind taskKind, totalBytes int64) *task {
	t := &task{name: name, kind: kind, style: a.progressStyle(), json: a.json, out: a.stderr,
		start: time.Now(), stop: make(chan struct{})}
	t.totalBytes.Store(totalBytes)
	t.totalDocs.Store(-1)
	switch t.style {
	case progressBar:
		t.startBar()
	case progressLines:
		interval := a.progressInterval
		if interval <= 0 {
			interval = 5 * time.Second
		}
		t.wg.Add(1)
		go t.tickLines(interval)
	}
	return t
}

// startBar starts the terminal bar. Its texts come from the task's own
// counters (see status), so that the bar and the plain lines agree.
func (t *task) startBar() {
	t.mp = mpb.New(mpb.WithOutput(t.out), mpb.WithRefreshRate(120*time.Millisecond), mpb.WithWidth(100))
	name := decor.Name(t.name+":", decor.WC{C: decor.DindentRight | decor.DextraSpace})
	text := func(f func(s status) string) decor.Decorator {
		return decor.Any(func(st decor.Statistics) string { return f(t.status(st.Completed)) }, decor.WCSyncSpace)
	}
	if t.kind == kindScan {
		t.bar = t.mp.New(0, mpb.SpinnerStyle(),
			mpb.PrependDecorators(name, text(func(s status) string { return s.counts })),
			mpb.AppendDecorators(text(func(s status) string { return s.timing })))
	} else {
		t.bar = t.mp.New(max(t.totalBytes.Load(), 0), mpb.BarStyle(),
			mpb.PrependDecorators(name, text(func(s status) string { return s.counts })),
			mpb.AppendDecorators(text(func(s status) string { return s.rate }), text(func(s status) string { return s.timing })))
	}
	t.wg.Add(1)
	go t.tickBar()
}

// status is what the progress display says at one moment.
type status struct {
	counts string // "12/100 documents, 1.2 MiB / 10.0 MiB (12%)", or "3 findings"
	rate   string // "4.1 MiB/s"
	timing string // "ETA 21s", "12s elapsed", "done in 3.2s"

	bytes, totalBytes int64
	elapsed           time.Duration
	bytesPerSecond    float64
	eta               time.Duration // -1 if unknown
}

// status computes the task's status from its counters; final says the
// work has ended.
func (t *task) status(final bool) status {
	s := status{elapsed: time.Since(t.start), bytes: t.bytes.Load(), totalBytes: t.totalBytes.Load(), eta: -1}
	if d := t.endedAfter.Load(); d > 0 {
		s.elapsed = time.Duration(d)
	}
	if sec := s.elapsed.Seconds(); sec > 0 {
		s.bytesPerSecond = float64(s.bytes) / sec
	}
	if s.totalBytes >= s.bytes && s.bytesPerSecond > 0 && !final {
		s.eta = time.Duration(float64(s.totalBytes-s.bytes) / s.bytesPerSecond * float64(time.Second))
	}
	var parts []string
	if t.kind == kindCopy {
		if nd := t.totalDocs.Load(); nd >= 0 {
			parts = append(parts, fmt.Sprintf("%d/%d documents", t.docs.Load(), nd))
		} else {
			parts = append(parts, plural(t.docs.Load(), "document"))
		}
	}
	switch {
	case t.kind == kindScan && t.name == "check":
		parts = append(parts, plural(t.findings.Load(), "finding"))
	case t.kind == kindScan:
	case s.totalBytes >= 0 && !final:
		pct := 100.0
		if s.totalBytes > 0 {
			pct = 100 * float64(s.bytes) / float64(s.totalBytes)
		}
		parts = append(parts, fmt.Sprintf("%s / %s (%.0f%%)", humanBytes(s.bytes), humanBytes(s.totalBytes), pct))
	default:
		parts = append(parts, humanBytes(s.bytes))
	}
	s.counts = strings.Join(parts, ", ")
	if t.kind != kindScan {
		s.rate = humanBytes(int64(s.bytesPerSecond)) + "/s"
	}
	switch {
	case final:
		s.timing = "done in " + humanDuration(s.elapsed)
	case s.eta >= 0:
		s.timing = "ETA " + humanDuration(s.eta)
	default:
		s.timing = humanDuration(s.elapsed) + " elapsed"
	}
	return s
}

// tickBar copies the counters into the bar until the task finishes.
func (t *task) tickBar() {
	defer t.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.syncBar(false)
		}
	}
}

// syncBar sets the bar's total and current from the counters. Until the
// task finishes the total stays above the current, so that the bar does
// not complete early when an estimated total was too small.
func (t *task) syncBar(final bool) {
	if t.kind == kindScan {
		return
	}
	cur := t.bytes.Load()
	total := t.totalBytes.Load()
	if !final && total <= cur {
		total = cur + 1
	}
	t.bar.SetTotal(total, false)
	t.bar.SetCurrent(cur)
}

// tickLines prints a plain line every interval until the task finishes.
func (t *task) tickLines(interval time.Duration) {
	defer t.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.line(false, nil)
		}
	}
}

// progressLine is the JSON object of a progress line with --json (on
// stderr).
type progressLine struct {
	Type           string  `json:"type"` // "progress"
	Command        string  `json:"command"`
	Done           bool    `json:"done"`
	Failed         bool    `json:"failed"`
	Bytes          int64   `json:"bytes"`
	TotalBytes     int64   `json:"total_bytes"` // -1 if unknown
	Documents      int64   `json:"documents"`
	TotalDocuments int64   `json:"total_documents"` // -1 if unknown
	Findings       int64   `json:"findings"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	ETASeconds     float64 `json:"eta_seconds"` // -1 if unknown
}

// line prints one plain progress line.
func (t *task) line(final bool, err error) {
	s := t.status(final)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished && !final {
		return
	}
	if t.json {
		etaS := -1.0
		if s.eta >= 0 {
			etaS = s.eta.Seconds()
		}
		b, _ := marshalLine(progressLine{Type: "progress", Command: t.name, Done: final, Failed: err != nil,
			Bytes: s.bytes, TotalBytes: s.totalBytes, Documents: t.docs.Load(), TotalDocuments: t.totalDocs.Load(),
			Findings: t.findings.Load(), ElapsedSeconds: s.elapsed.Seconds(), BytesPerSecond: s.bytesPerSecond, ETASeconds: etaS})
		t.out.Write(b)
		return
	}
	if !final {
		fmt.Fprintf(t.out, "%s: %s\n", t.name, joinNonEmpty(", ", s.counts, s.rate, s.timing))
		return
	}
	timing := s.timing
	switch {
	case errors.Is(err, context.Canceled):
		timing = "interrupted after " + humanDuration(s.elapsed)
	case err != nil:
		timing = "failed after " + humanDuration(s.elapsed)
	}
	fmt.Fprintf(t.out, "%s: %s\n", t.name, joinNonEmpty(", ", timing, s.counts, s.rate))
}

// logf prints a message on stderr without breaking the bar.
func (t *task) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	if t.style == progressBar {
		fmt.Fprint(t.mp, msg)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprint(t.out, msg)
}

// finish ends the task's display: the bar completes (or is aborted, on an
// error), or the final plain line is printed. It may be called more than
// once; only the first call counts.
func (t *task) finish(err error) {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.finished = true // no more periodic lines
	t.mu.Unlock()
	t.endedAfter.Store(max(int64(time.Since(t.start)), 1))
	close(t.stop)
	t.wg.Wait()
	switch t.style {
	case progressBar:
		if err != nil {
			t.syncBar(false)
			t.bar.Abort(false)
		} else {
			t.syncBar(true)
			t.bar.SetTotal(-1, true)
		}
		t.mp.Wait()
	case progressLines:
		t.line(true, err)
	}
}

// transfer returns a progress callback for the one payload of a transfer
// task (put, get, cat): it sets the task's bytes, and its total once the
// library knows it.
func (t *task) transfer() func(done, total int64) {
	return func(done, total int64) {
		if total >= 0 {
			t.totalBytes.Store(total)
		}
		t.bytes.Store(done)
	}
}

// counter returns a progress callback for one of the payloads of a task
// that moves several (cp): it adds what the payload moved to the task's
// bytes and to moved. The library calls it from one goroutine at a time.
func (t *task) counter(moved *atomic.Int64) func(done, total int64) {
	var last atomic.Int64
	return func(done, total int64) {
		if d := done - last.Swap(done); d != 0 {
			t.bytes.Add(d)
			moved.Add(d)
		}
	}
}

// sameTerminal reports whether stdout is a terminal, as stderr is when
// the bar shows: results printed on stdout must then go through the bar.
func sameTerminal(a *app) bool {
	f, ok := a.stdout.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

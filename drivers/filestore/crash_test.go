package filestore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
)

// The crash tests run a writer in a child process (this test binary, run
// again with an environment variable that selects the child's role), kill
// it with SIGKILL at random moments, and check the directory after each
// kill. SIGKILL stops the process between any two instructions, so they
// test atomicity (no partial or unreadable document or payload is ever
// visible, every acknowledged write is there) but not durability across a
// power loss, which needs the kernel's page cache to be lost too.
//
// DOCBLOB_CRASH_KILLS sets the number of kills (default 10, 3 with -short).

const (
	envChild = "FILESTORE_TEST_CHILD" // "crash-writer" or "counter"
	envDir   = "FILESTORE_TEST_DIR"
	envRun   = "FILESTORE_TEST_RUN"
)

// TestChildProcess is not a test: it is the body of the child processes.
func TestChildProcess(t *testing.T) {
	switch os.Getenv(envChild) {
	case "":
		t.Skip("runs only as a child process of TestCrash and TestTwoProcessCounter")
	case "crash-writer":
		run, _ := strconv.Atoi(os.Getenv(envRun))
		crashWriter(os.Getenv(envDir), run)
	case "counter":
		run, _ := strconv.Atoi(os.Getenv(envRun))
		counterWriter(os.Getenv(envDir), run)
	}
	os.Exit(0)
}

func childCmd(t *testing.T, role, dir string, run int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+role, envDir+"="+dir, envRun+"="+strconv.Itoa(run))
	cmd.Stderr = os.Stderr
	return cmd
}

// Shared keys are written by every run, so conditions are checked against
// documents that earlier, killed runs left; run keys are written by one run.
func crashKeys(run int) []driver.Key {
	var ks []driver.Key
	for i := range 4 {
		ks = append(ks, key("shared", "k"+strconv.Itoa(i)))
	}
	for i := range 4 {
		ks = append(ks, key("run-"+strconv.Itoa(run%3), fmt.Sprintf("r%03d-k%d", run, i)))
	}
	return ks
}

// crashDoc returns the document that write (run, seq) stores under k: its
// content is a function of run and seq only, so the parent can rebuild it.
func crashDoc(k driver.Key, run, seq int) *driver.Document {
	r := rand.New(rand.NewPCG(uint64(run), uint64(seq)))
	n := r.IntN(4 << 10)
	if r.IntN(8) == 0 {
		n = r.IntN(300 << 10)
	}
	return &driver.Document{
		Key:      k,
		Revision: fmt.Sprintf("%d.%d", run, seq),
		Fields: map[string]any{
			"run":  int64(run),
			"seq":  int64(seq),
			"data": strings.Repeat(string(rune('a'+seq%26)), n),
			"raw":  crashBytes(run, seq, r.IntN(2048)),
			"f":    r.Float64(),
			"t":    time.Unix(int64(seq), int64(run)).UTC(),
			"list": []any{int64(seq), "x", nil, map[string]any{"run": int64(run)}},
		},
	}
}

func crashBytes(run, seq, n int) []byte {
	var seed [32]byte
	copy(seed[:], fmt.Sprintf("%d/%d", run, seq))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func crashBlobSize(run, seq int) int {
	r := rand.New(rand.NewPCG(uint64(run)+1000, uint64(seq)))
	switch r.IntN(4) {
	case 0:
		return r.IntN(64)
	case 1:
		return r.IntN(64 << 10)
	default:
		return r.IntN(1 << 20)
	}
}

// crashRecorded reports whether payload write seq records its SHA-256.
func crashRecorded(seq int) bool { return seq%2 == 1 }

// crashWriter is the child of TestCrash: it writes until it is killed,
// printing "B seq op args" before each write and "A seq" once it returned.
func crashWriter(dir string, run int) {
	ctx := context.Background()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // one write(2) per line: a line is whole or missing
	}
	fail := func(seq int, err error) {
		say("E %d %v", seq, err)
		os.Exit(2)
	}
	keys := crashKeys(run)
	revs := map[driver.Key]string{} // current revision, absent if missing
	for _, k := range keys {
		doc, err := d.GetDocument(ctx, k)
		switch {
		case err == nil:
			revs[k] = doc.Revision
		case errorCode(err) != driver.NotFound:
			fail(0, err)
		}
	}
	var blobs []string
	say("READY")
	r := rand.New(rand.NewPCG(uint64(run), 99))
	for seq := 1; ; seq++ {
		switch op := r.IntN(10); {
		case op < 6:
			k := keys[r.IntN(len(keys))]
			rev, exists := revs[k]
			var cond driver.Condition
			if !exists {
				cond = driver.Condition{Kind: driver.MustNotExist}
			} else if r.IntN(2) == 0 {
				cond = driver.Condition{Kind: driver.MustMatchRevision, Revision: rev}
			}
			if exists && r.IntN(4) == 0 {
				say("B %d del %s %s", seq, k.Partition, k.Sort)
				prev, err := d.DeleteDocument(ctx, k, cond)
				if err != nil || prev == nil || prev.Revision != rev {
					fail(seq, fmt.Errorf("delete: %v, previous %v", err, prev))
				}
				delete(revs, k)
			} else {
				say("B %d put %s %s", seq, k.Partition, k.Sort)
				doc := crashDoc(k, run, seq)
				prev, err := d.PutDocument(ctx, doc, cond)
				if err != nil || (prev == nil) == exists || prev != nil && prev.Revision != rev {
					fail(seq, fmt.Errorf("put: %v, previous %v", err, prev))
				}
				revs[k] = doc.Revision
			}
		case op < 9 || len(blobs) == 0:
			bk := fmt.Sprintf("crash/r%03d/%06d", run, seq)
			say("B %d blob %s", seq, bk)
			data := crashBytes(run, seq, crashBlobSize(run, seq))
			opts := &driver.WriteOptions{Size: int64(len(data)), Checksum: driver.CRC32C}
			if crashRecorded(seq) {
				opts.Checksum = driver.SHA256 // kept in a sidecar
			}
			if _, err := d.WriteBlob(ctx, bk, bytes.NewReader(data), opts); err != nil {
				fail(seq, err)
			}
			blobs = append(blobs, bk)
		default:
			i := r.IntN(len(blobs))
			say("B %d unblob %s", seq, blobs[i])
			if err := d.DeleteBlob(ctx, blobs[i]); err != nil {
				fail(seq, err)
			}
			blobs = slices.Delete(blobs, i, i+1)
		}
		say("A %d", seq)
	}
}

// crashModel is what the parent knows must be in the directory.
type crashModel struct {
	docs  map[driver.Key][2]int // key -> (run, seq) of the document there
	blobs map[string][2]int     // payload key -> (run, seq) of its write
}

type crashOp struct {
	run, seq int
	op       string // put, del, blob, unblob
	k        driver.Key
	blob     string
}

func parseOp(run int, line string) (crashOp, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return crashOp{}, fmt.Errorf("bad line %q", line)
	}
	seq, err := strconv.Atoi(f[1])
	op := crashOp{run: run, seq: seq, op: f[2]}
	switch {
	case err != nil:
	case (op.op == "put" || op.op == "del") && len(f) == 5:
		op.k = key(f[3], f[4])
	case (op.op == "blob" || op.op == "unblob") && len(f) == 4:
		op.blob = f[3]
	default:
		err = fmt.Errorf("bad line %q", line)
	}
	return op, err
}

func (m *crashModel) apply(op crashOp) {
	switch op.op {
	case "put":
		m.docs[op.k] = [2]int{op.run, op.seq}
	case "del":
		delete(m.docs, op.k)
	case "blob":
		m.blobs[op.blob] = [2]int{op.run, op.seq}
	case "unblob":
		delete(m.blobs, op.blob)
	}
}

func TestCrash(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Skip("child process")
	}
	kills := 10
	if testing.Short() {
		kills = 3
	}
	if v := os.Getenv("DOCBLOB_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DOCBLOB_CRASH_KILLS=%q is not a positive integer", v)
		}
		kills = n
	}
	dir := t.TempDir()
	m := &crashModel{docs: map[driver.Key][2]int{}, blobs: map[string][2]int{}}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acked, inflightApplied, inflightLost, violations, tempSeen int
	for run := range kills {
		cmd := childCmd(t, "crash-writer", dir, run)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(stdout)
		if line, err := br.ReadString('\n'); err != nil || line != "READY\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: child said %q, %v", run, line, err)
		}
		// Kill at a random moment: mostly soon, sometimes after a while.
		delay := time.Duration(r.IntN(120)) * time.Millisecond
		if r.IntN(5) == 0 {
			delay = time.Duration(120+r.IntN(500)) * time.Millisecond
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(br)
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d: child exited on its own (%v):\n%s", run, werr, rest)
		}
		// Whole lines only: the last one may have been cut by the kill.
		text := string(rest)
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			text = text[:i]
		} else {
			text = ""
		}
		var pending *crashOp
		for _, line := range strings.Split(text, "\n") {
			switch {
			case line == "":
			case strings.HasPrefix(line, "B "):
				op, err := parseOp(run, line)
				if err != nil {
					t.Fatal(err)
				}
				pending = &op
			case strings.HasPrefix(line, "A "):
				if pending == nil || line != "A "+strconv.Itoa(pending.seq) {
					t.Fatalf("run %d: acknowledgement %q without its write", run, line)
				}
				m.apply(*pending)
				acked++
				pending = nil
			default:
				t.Fatalf("run %d: child reported %q", run, line)
			}
		}
		// Resolve the write in flight: it happened or it did not, wholly.
		if pending != nil {
			applied, err := crashApplied(dir, *pending)
			if err != nil {
				t.Errorf("run %d: in-flight %+v: %v", run, *pending, err)
				violations++
			} else if applied {
				m.apply(*pending)
				inflightApplied++
			} else {
				inflightLost++
			}
		}
		v, temps := crashVerify(t, dir, m)
		violations += v
		tempSeen += temps
		if t.Failed() {
			break
		}
	}
	// A driver for which every temporary file is stale removes them all
	// as it lists the tree.
	d, err := New(&Options{Dir: dir, StaleTempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	tidyAll(t, d)
	d.Close()
	v, temps := crashVerify(t, dir, m)
	violations += v
	if temps != 0 {
		t.Errorf("%d temporary files survive a listing that treats them as stale", temps)
	}
	t.Logf("kills=%d acknowledged_writes=%d in_flight_applied=%d in_flight_not_applied=%d violations=%d temp_files_seen_after_kills=%d documents=%d payloads=%d",
		kills, acked, inflightApplied, inflightLost, violations, tempSeen, len(m.docs), len(m.blobs))
	if violations != 0 {
		t.Errorf("%d violations", violations)
	}
}

// crashApplied reports whether an unacknowledged write took effect. The
// state must be exactly before or exactly after it.
func crashApplied(dir string, op crashOp) (bool, error) {
	ctx := context.Background()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		return false, err
	}
	defer d.Close()
	switch op.op {
	case "put":
		doc, err := d.GetDocument(ctx, op.k)
		if err != nil {
			return false, nil // missing or the previous version: checked by crashVerify
		}
		return doc.Revision == fmt.Sprintf("%d.%d", op.run, op.seq), nil
	case "del":
		_, err := d.GetDocument(ctx, op.k)
		return errorCode(err) == driver.NotFound, nil
	case "blob":
		got, err := readAllBlob(d, op.blob)
		if errorCode(err) == driver.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !bytes.Equal(got, crashBytes(op.run, op.seq, crashBlobSize(op.run, op.seq))) {
			return false, fmt.Errorf("payload %s is visible but not whole (%d bytes)", op.blob, len(got))
		}
		return true, nil
	case "unblob":
		_, err := readAllBlob(d, op.blob)
		return errorCode(err) == driver.NotFound, nil
	}
	return false, fmt.Errorf("unknown op %q", op.op)
}

func readAllBlob(d *Driver, k string) ([]byte, error) {
	r, err := d.OpenBlob(context.Background(), k, 0, -1, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// crashVerify checks the directory against the model: every document and
// payload the model holds reads back identical, nothing else is listed,
// and everything listed is readable. It returns the number of violations
// and of temporary files seen.
func crashVerify(t *testing.T, dir string, m *crashModel) (violations, temps int) {
	t.Helper()
	ctx := context.Background()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bad := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		violations++
	}
	for k, rs := range m.docs {
		got, err := d.GetDocument(ctx, k)
		want := crashDoc(k, rs[0], rs[1])
		if err != nil {
			bad("document %v (run %d seq %d): %v", k, rs[0], rs[1], err)
			continue
		}
		if got.Revision != want.Revision || !exactEqual(got.Fields, want.Fields) {
			bad("document %v: revision %s, want %s (run %d seq %d)", k, got.Revision, want.Revision, rs[0], rs[1])
		}
	}
	seen := 0
	q := &driver.Query{}
	for {
		page, err := d.QueryDocuments(ctx, q)
		if err != nil {
			bad("scan: %v", err)
			break
		}
		for _, doc := range page.Documents {
			seen++
			if _, ok := m.docs[doc.Key]; !ok {
				bad("document %v (revision %s) should not exist", doc.Key, doc.Revision)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if seen != len(m.docs) {
		bad("scan found %d documents, want %d", seen, len(m.docs))
	}
	for k, rs := range m.blobs {
		got, err := readAllBlob(d, k)
		want := crashBytes(rs[0], rs[1], crashBlobSize(rs[0], rs[1]))
		if err != nil || !bytes.Equal(got, want) {
			bad("payload %s (run %d seq %d): %d bytes, %v", k, rs[0], rs[1], len(got), err)
		}
		// A payload written with RecordSHA256 has its checksum whenever
		// it is visible; one written without has none.
		info, err := d.StatBlob(ctx, k)
		sum := sha256.Sum256(want)
		switch {
		case err != nil:
			bad("stat payload %s: %v", k, err)
		case info.Size != int64(len(want)):
			bad("stat payload %s: %d bytes, want %d", k, info.Size, len(want))
		case crashRecorded(rs[1]) && !bytes.Equal(info.Checksum.Sum, sum[:]):
			bad("stat payload %s (recorded): SHA256 %x, want %x", k, info.Checksum.Sum, sum)
		case !crashRecorded(rs[1]) && info.Checksum.Sum != nil:
			bad("stat payload %s (not recorded): SHA256 %x", k, info.Checksum.Sum)
		}
	}
	listed := 0
	token := ""
	for {
		page, err := d.ListBlobs(ctx, "", token)
		if err != nil {
			bad("list: %v", err)
			break
		}
		for _, b := range page.Blobs {
			listed++
			rs, ok := m.blobs[b.Key]
			if !ok {
				bad("payload %s should not exist", b.Key)
			} else if want := crashBlobSize(rs[0], rs[1]); b.Size != int64(want) {
				bad("payload %s lists %d bytes, want %d", b.Key, b.Size, want)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if listed != len(m.blobs) {
		bad("listed %d payloads, want %d", listed, len(m.blobs))
	}
	// Count the temporary files the kills left (they must be invisible).
	for _, top := range []string{docsDir, blobsDir} {
		var walk func(p string)
		walk = func(p string) {
			ents, _ := d.readDir(p)
			for _, e := range ents {
				if e.IsDir() {
					walk(p + "/" + e.Name())
				} else if isTempName(e.Name()) || isSidecarName(e.Name()) && !d.hasPayloadFile(p, e.Name()) {
					temps++ // a temporary file, or a sidecar without payload
				}
			}
		}
		walk(top)
	}
	return violations, temps
}

// counterWriter is a child of TestTwoProcessCounter: it increments
// counters with conditional writes, printing "A sk" for each increment
// that returned.
func counterWriter(dir string, run int) {
	ctx := context.Background()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(2)
	}
	defer d.Close()
	r := rand.New(rand.NewPCG(uint64(run), uint64(os.Getpid())))
	out := bufio.NewWriter(os.Stdout)
	for range counterIncrements {
		k := key("counter", "c"+strconv.Itoa(r.IntN(counterDocs)))
		if err := increment(ctx, d, k); err != nil {
			fmt.Fprintln(out, "E", err)
			out.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(out, "A", k.Sort)
		out.Flush()
	}
}

const (
	counterDocs       = 3
	counterIncrements = 150
)

// TestTwoProcessCounter runs two processes that increment the same
// counters with MustMatchRevision retries: no increment may be lost.
func TestTwoProcessCounter(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Skip("child process")
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	acks := map[string]int{}
	var mu sync.Mutex
	for run := range 2 {
		cmd := childCmd(t, "counter", dir, run)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			data, _ := io.ReadAll(out)
			if err := cmd.Wait(); err != nil {
				t.Errorf("child %d: %v\n%s", run, err, data)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if sk, ok := strings.CutPrefix(line, "A "); ok {
					acks[sk]++
				} else {
					t.Errorf("child %d: %q", run, line)
				}
			}
		})
	}
	wg.Wait()
	d, err := New(&Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	total := 0
	for i := range counterDocs {
		sk := "c" + strconv.Itoa(i)
		doc, err := d.GetDocument(context.Background(), key("counter", sk))
		if err != nil {
			t.Fatalf("counter %s: %v", sk, err)
		}
		if n := doc.Fields["n"].(int64); n != int64(acks[sk]) {
			t.Errorf("counter %s = %d, but %d increments were acknowledged", sk, n, acks[sk])
		}
		total += acks[sk]
	}
	if total != 2*counterIncrements {
		t.Errorf("%d increments acknowledged, want %d", total, 2*counterIncrements)
	}
	t.Logf("two processes, %d acknowledged increments over %d documents, no lost update", total, counterDocs)
}

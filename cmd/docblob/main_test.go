package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/s3dynamo"
	"github.com/docblob/docblob/internal/testservers"
)

// The tests run the built docblob binary, as a user would: TestMain builds
// it (with -race when the tests run with -race).

// binary is the path of the built docblob command.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docblob-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "docblob")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building docblob:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a run of the command left.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// lines parses stdout as JSON lines.
func (r result) lines(t *testing.T) []map[string]any {
	t.Helper()
	return jsonLines(t, r.stdout)
}

// errLine parses stderr as one JSON error line (with --json).
func (r result) errLine(t *testing.T) map[string]any {
	t.Helper()
	var errs []map[string]any
	for _, l := range stderrLines(t, r.stderr) {
		if l["type"] == "error" {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want one JSON error line on stderr, got %d:\n%s", len(errs), r)
	}
	return errs[0]
}

// jsonLines parses one JSON object per line, keeping numbers exact.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// stderrLines parses the JSON lines of stderr with --json, skipping the
// lines that are not JSON objects: the AWS SDK logs warnings there
// (DynamoDB Local's responses to failed requests fail the SDK's CRC32
// check, which it only logs).
func stderrLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "{") {
			keep = append(keep, l)
		}
	}
	return jsonLines(t, strings.Join(keep, "\n"))
}

// ofType returns the lines whose "type" is typ.
func ofType(lines []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["type"] == typ {
			out = append(out, l)
		}
	}
	return out
}

// cli runs docblob commands against one store.
type cli struct {
	t     *testing.T
	store string   // DOCBLOB_STORE; "" for none
	env   []string // more environment
}

// baseEnv is the environment of every run: the test's, without
// DOCBLOB_STORE and TERM.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, envStore+"=") || strings.HasPrefix(kv, "TERM=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// command returns the exec.Cmd of a run.
func (c cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(baseEnv(), c.env...)
	if raceEnabled && os.Getenv("GORACE") == "" {
		// A race-enabled binary sleeps a second before it exits, to let
		// reports out, unless told otherwise; it still exits with code 66
		// on a race, which fails the test.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	if c.store != "" {
		cmd.Env = append(cmd.Env, envStore+"="+c.store)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs docblob with args and stdin and returns what it left.
func (c cli) run(stdin string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := c.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		c.t.Fatalf("docblob %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs docblob and fails the test unless it exits 0.
func (c cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		c.t.Fatalf("docblob %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// fails runs docblob and fails the test unless it exits with code.
func (c cli) fails(code int, args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != code {
		c.t.Fatalf("docblob %s: want exit code %d, got %s", strings.Join(args, " "), code, r)
	}
	return r
}

// backend is a store to run the commands against.
type backend struct {
	name string
	url  string
	// corrupt overwrites the stored payload under key with other bytes of
	// the same size, behind docblob's back.
	corrupt func(t *testing.T, key string)
	// dir is the directory of a file:// store.
	dir string
	// table is the DynamoDB table of an s3dynamo:// store.
	table string
}

// fileBackend makes a new file:// store.
func fileBackend(t *testing.T) backend {
	dir := t.TempDir()
	b := backend{name: "file", url: "file://" + dir, dir: dir}
	b.corrupt = func(t *testing.T, key string) { corruptFile(t, dir, key) }
	return b
}

// corruptFile rewrites, in place and at the same size, the payload file
// of a filestore whose bytes are those of the payload under key (found by
// reading it through the store first).
func corruptFile(t *testing.T, dir, key string) {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") || !strings.HasSuffix(d.Name(), ".blob") {
			return err
		}
		found = append(found, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The file's path mirrors the key's segments: its id, the last
	// segment, is a plain lowercase name kept as it is.
	id := key[strings.LastIndex(key, "/")+1:]
	for _, p := range found {
		if strings.TrimSuffix(filepath.Base(p), ".blob") != id {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] ^= 0xff
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no payload file for key %q among %v", key, found)
}

// s3Backend makes a new table and bucket on the test servers, or skips
// the test if they are not running (fails it with
// DOCBLOB_REQUIRE_SERVERS=1).
func s3Backend(t *testing.T) backend {
	cfg := testservers.Endpoints(t)
	name := "cli-" + strings.ToLower(randomID())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := &s3dynamo.Options{Table: name, Bucket: name, S3Endpoint: cfg.S3Endpoint,
		DynamoDBEndpoint: cfg.DynamoDBEndpoint, UsePathStyle: true}
	if err := s3dynamo.CreateTable(ctx, opts); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if err := s3dynamo.CreateBucket(ctx, opts); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	q := url.Values{"bucket": {name}, "region": {cfg.Region}, "s3_endpoint": {cfg.S3Endpoint},
		"dynamodb_endpoint": {cfg.DynamoDBEndpoint}, "path_style": {"true"}}
	b := backend{name: "s3dynamo", url: "s3dynamo://" + name + "?" + q.Encode(), table: name}
	b.corrupt = func(t *testing.T, key string) {
		t.Helper()
		ctx := context.Background()
		store, err := docblob.Open(ctx, b.url)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		var client *s3.Client
		if !store.As(&client) {
			t.Fatal("no S3 client")
		}
		// The plain SDK, as another tool would: same size, other bytes.
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] ^= 0xff
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String(key),
			Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// persistentBackends returns the backends on which a flow of several
// commands makes sense: file://, and s3dynamo:// when its servers run.
func persistentBackends(t *testing.T) map[string]func(*testing.T) backend {
	return map[string]func(*testing.T) backend{"file": fileBackend, "s3dynamo": s3Backend}
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// randomFile writes n random bytes to a new file and returns its path and
// the bytes.
func randomFile(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// crc32cText returns the checksum text that docblob's default checksum,
// CRC32C, records for b, as the CLI prints it.
func crc32cText(b []byte) string {
	return "crc32c:" + hex.EncodeToString(driver.CRC32C.Sum(b))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// field returns the value at a path of nested JSON objects.
func field(t *testing.T, m map[string]any, path ...string) any {
	t.Helper()
	var v any = m
	for _, p := range path {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %s in %v", strings.Join(path, "."), m)
		}
		v, ok = o[p]
		if !ok {
			t.Fatalf("no %s in %v", strings.Join(path, "."), m)
		}
	}
	return v
}

// wantContains fails the test unless s contains every one of subs.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

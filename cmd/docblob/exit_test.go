package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes checks the documented exit code, and the error's code
// name in --json mode, of each kind of failure.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := "file://" + dir
	c := cli{t: t, store: store}
	p, _ := randomFile(t, "a.txt", 10)
	c.ok("put", "acme", "1", "pdf", p)
	big := filepath.Join(dir, "..", "big.json")
	os.WriteFile(big, []byte(`{"blob":"`+strings.Repeat("x", 500_000)+`"}`), 0o600)

	cases := []struct {
		name  string
		store string
		env   []string
		args  []string
		code  int
		kind  string
		says  string
	}{
		{"no store", "-", nil, []string{"ls", "acme"}, exitUsage, "usage", "no store: give --store URL or set DOCBLOB_STORE"},
		{"unknown command", "", nil, []string{"frobnicate"}, exitUsage, "usage", `unknown command "frobnicate"`},
		{"unknown flag", "", nil, []string{"ls", "acme", "--frob"}, exitUsage, "usage", "unknown flag: --frob"},
		{"bad flag value", "", nil, []string{"ls", "acme", "--limit", "x"}, exitUsage, "usage", "--limit"},
		{"missing argument", "", nil, []string{"cat", "acme", "1"}, exitUsage, "usage", "cat takes PARTITION SORT FIELD on this store"},
		{"extra argument", "", nil, []string{"sweep", "now"}, exitUsage, "usage", "unknown command"},
		{"empty key", "", nil, []string{"stat", "acme", ""}, exitUsage, "usage", "the SORT argument is empty"},
		{"unknown scheme", "nope://x", nil, []string{"ls", "acme"}, exitInvalid, "invalid_argument", `no driver registered for scheme "nope"`},
		{"unknown URL parameter", store + "?frob=1", nil, []string{"ls", "acme"}, exitInvalid, "invalid_argument", `unknown URL parameter "frob"`},
		{"not found", "", nil, []string{"stat", "acme", "2"}, exitNotFound, "not_found", `("acme", "2")`},
		{"already exists", "", nil, []string{"put", "acme", "1", "pdf", p, "--create"}, exitAlreadyExists, "already_exists", "already exists"},
		{"precondition failed", "", nil, []string{"rm", "acme", "1", "--revision", "x"}, exitPrecondition, "precondition_failed", "precondition failed"},
		{"too large", "", nil, []string{"put", "acme", "3", "--doc", big}, exitTooLarge, "too_large", "over the backend's limit"},
		{"unimplemented", "", nil, []string{"url", "acme", "1", "pdf"}, exitUnimplemented, "unimplemented", "unimplemented"},
		{"unavailable", "s3dynamo://invoices?bucket=b&region=us-east-1&endpoint=http://127.0.0.1:1&path_style=true",
			[]string{"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_EC2_METADATA_DISABLED=true"},
			[]string{"stat", "acme", "1"}, exitUnavailable, "unavailable", "unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cli{t: t, store: store, env: tc.env}
			switch tc.store {
			case "-":
				c.store = ""
			case "":
			default:
				c.store = tc.store
			}
			r := c.fails(tc.code, tc.args...)
			wantContains(t, "stderr", r.stderr, tc.says, "what to do: ")
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			e := c.fails(tc.code, append(tc.args, "--json")...).errLine(t)
			if e["code"] != tc.kind || e["exit_code"].(json.Number).String() != fmt.Sprint(tc.code) ||
				!strings.Contains(e["error"].(string), tc.says) || e["hint"] == "" {
				t.Errorf("JSON error line: %v", e)
			}
		})
	}
}

// TestPermissionDenied: wrong credentials against MinIO.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	b := s3Backend(t)
	c := cli{t: t, store: b.url, env: []string{"AWS_SECRET_ACCESS_KEY=not-the-secret"}}
	r := c.fails(exitPermission, "sweep", "--json")
	if e := r.errLine(t); e["code"] != "permission_denied" || !strings.Contains(e["hint"].(string), "credentials") {
		t.Errorf("error line: %v", e)
	}
}

// TestHelp: the help of every command, on stdout, exit code 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	c := cli{t: t}
	r := c.ok("--help")
	wantContains(t, "help", r.stdout, "DOCBLOB_STORE", "Exit codes", "ls", "stat", "cat", "get", "put", "rm", "url", "sweep", "check", "cp", "serve")
	for _, cmd := range []string{"ls", "stat", "cat", "get", "put", "rm", "url", "sweep", "check", "cp", "serve"} {
		if r := c.ok(cmd, "--help"); !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "--json") {
			t.Errorf("%s --help: %s", cmd, r)
		}
	}
	if r := c.ok(); !strings.Contains(r.stdout, "Usage:") {
		t.Errorf("no arguments: %s", r)
	}
}

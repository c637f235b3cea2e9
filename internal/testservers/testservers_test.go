package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"[::1]", true},
		{"0:0:0:0:0:0:0:1", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped loopback
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"128.0.0.1", false},
		{"126.255.255.255", false},
		{"10.0.0.1", false},
		{"192.168.1.10", false},
		{"169.254.169.254", false},
		{"::2", false},
		{"fe80::1%lo", false},
		{"localhost.example.com", false},
		{"mylocalhost", false},
		{"127.0.0.1.example.com", false},
		{"s3.amazonaws.com", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		endpoint    string
		allowRemote bool
		wantErr     string // substring; "" means no error
	}{
		{"http://127.0.0.1:9000", false, ""},
		{"http://127.0.0.1:9000/", false, ""},
		{"https://localhost:8443", false, ""},
		{"http://[::1]:8000", false, ""},
		{"http://127.3.2.1", false, ""},
		{"http://10.1.2.3:9000", false, "not on loopback"},
		{"https://dynamodb.us-east-1.amazonaws.com", false, "not on loopback"},
		{"http://0.0.0.0:9000", false, "not on loopback"},
		{"http://user@192.168.0.5:9000", false, "not on loopback"},
		{"https://dynamodb.us-east-1.amazonaws.com", true, ""},
		{"http://10.1.2.3:9000", true, ""},
		{"127.0.0.1:9000", false, "invalid endpoint"},
		{"localhost:9000", false, "http:// or https://"},
		{"ftp://127.0.0.1", false, "http:// or https://"},
		{"http://:9000", false, "no host"},
		{"http://%zz", false, "invalid endpoint"},
	}
	for _, tt := range tests {
		err := checkEndpoint(tt.endpoint, tt.allowRemote)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("checkEndpoint(%q, %v) = %v, want nil", tt.endpoint, tt.allowRemote, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("checkEndpoint(%q, %v) = %v, want error containing %q",
				tt.endpoint, tt.allowRemote, err, tt.wantErr)
		}
	}
}

func TestFromEnv(t *testing.T) {
	full := map[string]string{
		EnvS3Endpoint:       "http://127.0.0.1:9000",
		EnvDynamoDBEndpoint: "http://127.0.0.1:8000",
		EnvRegion:           "eu-west-1",
		EnvAccessKeyID:      "key",
		EnvSecretAccessKey:  "secret",
	}
	with := func(changes map[string]string) func(string) string {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		for k, v := range changes {
			env[k] = v
		}
		return func(k string) string { return env[k] }
	}

	cfg, err := fromEnv(with(nil))
	if err != nil {
		t.Fatalf("fromEnv(full) error: %v", err)
	}
	want := Config{
		S3Endpoint:       "http://127.0.0.1:9000",
		DynamoDBEndpoint: "http://127.0.0.1:8000",
		Region:           "eu-west-1",
		AccessKeyID:      "key",
		SecretAccessKey:  "secret",
	}
	if cfg != want {
		t.Errorf("fromEnv(full) = %+v, want %+v", cfg, want)
	}

	if cfg, err := fromEnv(with(map[string]string{EnvRegion: ""})); err != nil || cfg.Region != DefaultRegion {
		t.Errorf("fromEnv(no region) = %+v, %v; want region %q", cfg, err, DefaultRegion)
	}

	for _, name := range []string{EnvS3Endpoint, EnvDynamoDBEndpoint} {
		_, err := fromEnv(with(map[string]string{name: ""}))
		if !errors.Is(err, errMissing) || !strings.Contains(err.Error(), name) {
			t.Errorf("fromEnv(without %s) error = %v, want errMissing naming it", name, err)
		}
	}

	remote := map[string]string{EnvDynamoDBEndpoint: "https://dynamodb.us-east-1.amazonaws.com"}
	if _, err := fromEnv(with(remote)); err == nil || errors.Is(err, errMissing) ||
		!strings.Contains(err.Error(), EnvDynamoDBEndpoint) {
		t.Errorf("fromEnv(remote) error = %v, want a refusal naming %s", err, EnvDynamoDBEndpoint)
	}
	remote[EnvAllowRemote] = "1"
	if _, err := fromEnv(with(remote)); err != nil {
		t.Errorf("fromEnv(remote, allowed) error = %v, want nil", err)
	}
}

func TestAzureFromEnv(t *testing.T) {
	env := func(vars ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(vars); i += 2 {
			m[vars[i]] = vars[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := azureFromEnv(env(EnvAzureBlobEndpoint, " http://127.0.0.1:10000/devstoreaccount1/ "))
	want := AzureConfig{Endpoint: "http://127.0.0.1:10000/devstoreaccount1", Account: AzuriteAccount, Key: AzuriteKey}
	if err != nil || cfg != want {
		t.Errorf("azureFromEnv = %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := azureFromEnv(env()); !errors.Is(err, errMissing) || !strings.Contains(err.Error(), EnvAzureBlobEndpoint) {
		t.Errorf("azureFromEnv(unset) error = %v, want errMissing naming %s", err, EnvAzureBlobEndpoint)
	}
	for _, tt := range []struct{ endpoint, allow, wantErr string }{
		{"http://192.0.2.1:10000/devstoreaccount1", "", "not on loopback"},
		{"http://127.0.0.1:10000", "", "account's name"},
		{"http://127.0.0.1:10000/otheraccount", "", "account's name"},
		{"127.0.0.1:10000/devstoreaccount1", "", "invalid endpoint"},
		{"http://192.0.2.1:10000/devstoreaccount1", "1", ""},
	} {
		_, err := azureFromEnv(env(EnvAzureBlobEndpoint, tt.endpoint, EnvAllowRemote, tt.allow))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("azureFromEnv(%q, allow remote %q) = %v, want nil", tt.endpoint, tt.allow, err)
		case tt.wantErr != "" && (err == nil || errors.Is(err, errMissing) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("azureFromEnv(%q) error = %v, want one containing %q", tt.endpoint, err, tt.wantErr)
		}
	}
}

// fakeTB records how Endpoints ends a test. Skip and Fatal stop the calling
// goroutine, as the real ones do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runEndpoints calls Endpoints with a fakeTB on its own goroutine.
func runEndpoints() (*fakeTB, Config) {
	return runWithFake(Endpoints)
}

// runWithFake calls get with a fakeTB on its own goroutine.
func runWithFake[C any](get func(testing.TB) C) (*fakeTB, C) {
	f := &fakeTB{}
	var cfg C
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg = get(f)
	}()
	<-done
	return f, cfg
}

func TestAzureBlob(t *testing.T) {
	for _, tt := range []struct {
		name, endpoint, require string
		wantSkip, wantFail      bool
		wantMessage             string
	}{
		{name: "unset skips", wantSkip: true, wantMessage: "make test"},
		{name: "unset but required fails", require: "1", wantFail: true, wantMessage: EnvAzureBlobEndpoint},
		{name: "remote refused", endpoint: "http://192.0.2.1:10000/devstoreaccount1", wantFail: true, wantMessage: EnvAllowRemote},
		{name: "loopback ok", endpoint: "http://127.0.0.1:10000/devstoreaccount1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvAzureBlobEndpoint, tt.endpoint)
			t.Setenv(EnvRequireServers, tt.require)
			t.Setenv(EnvAllowRemote, "")
			f, cfg := runWithFake(AzureBlob)
			if f.skipped != tt.wantSkip || f.failed != tt.wantFail {
				t.Fatalf("skipped=%v failed=%v (%q), want skipped=%v failed=%v",
					f.skipped, f.failed, f.msg, tt.wantSkip, tt.wantFail)
			}
			if !strings.Contains(f.msg, tt.wantMessage) {
				t.Errorf("message %q does not mention %q", f.msg, tt.wantMessage)
			}
			if !tt.wantSkip && !tt.wantFail && cfg.Endpoint != tt.endpoint {
				t.Errorf("AzureBlob = %+v, want endpoint %q", cfg, tt.endpoint)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantSkip    bool
		wantFail    bool
		wantMessage string
	}{
		{
			name:        "unset skips",
			env:         map[string]string{},
			wantSkip:    true,
			wantMessage: "make test",
		},
		{
			name:        "unset but required fails",
			env:         map[string]string{EnvRequireServers: "1"},
			wantFail:    true,
			wantMessage: EnvS3Endpoint,
		},
		{
			name: "half set but required fails",
			env: map[string]string{
				EnvRequireServers: "1",
				EnvS3Endpoint:     "http://127.0.0.1:9000",
			},
			wantFail:    true,
			wantMessage: EnvDynamoDBEndpoint,
		},
		{
			name: "remote refused",
			env: map[string]string{
				EnvS3Endpoint:       "http://127.0.0.1:9000",
				EnvDynamoDBEndpoint: "http://192.0.2.1:8000",
			},
			wantFail:    true,
			wantMessage: EnvAllowRemote,
		},
		{
			name: "remote allowed",
			env: map[string]string{
				EnvS3Endpoint:       "http://127.0.0.1:9000",
				EnvDynamoDBEndpoint: "http://192.0.2.1:8000",
				EnvAllowRemote:      "1",
			},
		},
		{
			name: "loopback ok",
			env: map[string]string{
				EnvS3Endpoint:       "http://127.0.0.1:9000",
				EnvDynamoDBEndpoint: "http://localhost:8000",
			},
		},
	}
	vars := []string{
		EnvS3Endpoint, EnvDynamoDBEndpoint, EnvRegion, EnvAccessKeyID,
		EnvSecretAccessKey, EnvRequireServers, EnvAllowRemote,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range vars {
				t.Setenv(v, tt.env[v])
			}
			f, cfg := runEndpoints()
			if f.skipped != tt.wantSkip || f.failed != tt.wantFail {
				t.Fatalf("skipped=%v failed=%v (%q), want skipped=%v failed=%v",
					f.skipped, f.failed, f.msg, tt.wantSkip, tt.wantFail)
			}
			if !strings.Contains(f.msg, tt.wantMessage) {
				t.Errorf("message %q does not mention %q", f.msg, tt.wantMessage)
			}
			if !tt.wantSkip && !tt.wantFail {
				if cfg.S3Endpoint != tt.env[EnvS3Endpoint] || cfg.DynamoDBEndpoint != tt.env[EnvDynamoDBEndpoint] {
					t.Errorf("Endpoints = %+v, want the endpoints from %v", cfg, tt.env)
				}
				if cfg.Region != DefaultRegion {
					t.Errorf("Region = %q, want %q", cfg.Region, DefaultRegion)
				}
			}
		})
	}
}

func TestReachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	if err := Reachable(ctx, "http://"+ln.Addr().String()); err != nil {
		t.Errorf("Reachable(listening) = %v, want nil", err)
	}

	// A port that was just released is (almost certainly) closed.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	if err := Reachable(ctx, "http://"+addr); err == nil {
		t.Errorf("Reachable(closed %s) = nil, want an error", addr)
	}

	for _, bad := range []string{"http://%zz", "http://:80", "tcp://127.0.0.1"} {
		if err := Reachable(ctx, bad); err == nil {
			t.Errorf("Reachable(%q) = nil, want an error", bad)
		}
	}
}

// TestServersReachable checks the wiring end to end when the servers run
// (under `make test`); without them it skips like any server test.
func TestServersReachable(t *testing.T) {
	cfg := Endpoints(t)
	for _, ep := range []string{cfg.S3Endpoint, cfg.DynamoDBEndpoint, AzureBlob(t).Endpoint} {
		if err := Reachable(context.Background(), ep); err != nil {
			t.Errorf("Reachable(%q) = %v", ep, err)
		}
	}
}

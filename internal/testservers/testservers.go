// Package testservers tells tests where the real S3 (MinIO), DynamoDB
// (DynamoDB Local) and Azure Blob Storage (Azurite) servers started by
// scripts/servers.sh are listening.
//
// `make test` runs scripts/servers.sh, which starts the servers on loopback
// and exports their endpoints and test credentials in the environment
// variables named below. A plain `go test ./...` without them skips the tests
// that need the servers; with DOCBLOB_REQUIRE_SERVERS=1 it fails them instead.
// Endpoints gives the S3 and DynamoDB servers, AzureBlob the Azure one.
//
// Tests never talk to a non-loopback address unless DOCBLOB_ALLOW_REMOTE=1 is
// set deliberately (for example to point them at one's own servers).
package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment variables read by Endpoints. scripts/servers.sh writes all of
// them into the env file it creates.
const (
	// EnvS3Endpoint holds the S3 (MinIO) endpoint URL, e.g. http://127.0.0.1:9000.
	EnvS3Endpoint = "DOCBLOB_S3_ENDPOINT"
	// EnvDynamoDBEndpoint holds the DynamoDB (Local) endpoint URL.
	EnvDynamoDBEndpoint = "DOCBLOB_DYNAMODB_ENDPOINT"
	// EnvAzureBlobEndpoint holds the Azure Blob Storage (Azurite) account
	// URL, e.g. http://127.0.0.1:10000/devstoreaccount1: the service
	// endpoint followed by the account's name, as Azurite addresses
	// accounts.
	EnvAzureBlobEndpoint = "DOCBLOB_AZURE_BLOB_ENDPOINT"
	// EnvRegion holds the AWS region the clients sign requests for.
	EnvRegion = "AWS_REGION"
	// EnvAccessKeyID holds the access key of the test credentials.
	EnvAccessKeyID = "AWS_ACCESS_KEY_ID"
	// EnvSecretAccessKey holds the secret key of the test credentials.
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	// EnvRequireServers, when "1", turns missing endpoints into test failures
	// instead of skips. `make test` sets it.
	EnvRequireServers = "DOCBLOB_REQUIRE_SERVERS"
	// EnvAllowRemote, when "1", allows endpoints that are not on loopback.
	EnvAllowRemote = "DOCBLOB_ALLOW_REMOTE"
)

// DefaultRegion is the region Endpoints reports when AWS_REGION is unset.
const DefaultRegion = "us-east-1"

// SkipMessage is the message Endpoints skips with when the servers are not
// configured and not required.
const SkipMessage = "s3dynamo tests need MinIO and DynamoDB Local: run `make test` " +
	"(or set " + EnvS3Endpoint + " and " + EnvDynamoDBEndpoint + ")"

// AzureSkipMessage is the message AzureBlob skips with when the Azure
// server is not configured and not required.
const AzureSkipMessage = "azureblob tests need Azurite: run `make test` (or set " + EnvAzureBlobEndpoint + ")"

// AzuriteAccount and AzuriteKey are the storage account and shared key
// that Azurite always accepts: the well-known development account that
// Azure's storage emulators publish. They are public test constants, not
// secrets, and open nothing beyond a local emulator.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzureConfig is where the Azure Blob Storage test server listens and
// how to sign requests to it.
type AzureConfig struct {
	// Endpoint is the account's URL: the service endpoint followed by
	// "/" and Account.
	Endpoint string
	// Account and Key are the shared-key credentials (AzuriteAccount and
	// AzuriteKey).
	Account string
	Key     string
}

// AzureBlob returns the Azure Blob Storage test server's configuration
// from the environment, as Endpoints does for S3 and DynamoDB: it skips
// the test with AzureSkipMessage if DOCBLOB_AZURE_BLOB_ENDPOINT is unset,
// or fails it when DOCBLOB_REQUIRE_SERVERS=1, and fails it if the
// endpoint is not a valid http(s) URL on loopback (unless
// DOCBLOB_ALLOW_REMOTE=1) whose path ends with AzuriteAccount.
func AzureBlob(tb testing.TB) AzureConfig {
	tb.Helper()
	cfg, err := azureFromEnv(os.Getenv)
	if err != nil {
		if errors.Is(err, errMissing) {
			if os.Getenv(EnvRequireServers) == "1" {
				tb.Fatalf("testservers: %v, but %s=1: start the servers with `make test` "+
					"(or scripts/servers.sh run -- go test ./...)", err, EnvRequireServers)
			}
			tb.Skip(AzureSkipMessage)
		}
		tb.Fatalf("testservers: %v", err)
	}
	return cfg
}

// azureFromEnv builds an AzureConfig from getenv, checking the endpoint.
// It returns an error wrapping errMissing when the endpoint is unset.
func azureFromEnv(getenv func(string) string) (AzureConfig, error) {
	cfg := AzureConfig{
		Endpoint: strings.TrimSuffix(strings.TrimSpace(getenv(EnvAzureBlobEndpoint)), "/"),
		Account:  AzuriteAccount,
		Key:      AzuriteKey,
	}
	if cfg.Endpoint == "" {
		return AzureConfig{}, fmt.Errorf("%w (%s unset)", errMissing, EnvAzureBlobEndpoint)
	}
	if err := checkEndpoint(cfg.Endpoint, getenv(EnvAllowRemote) == "1"); err != nil {
		return AzureConfig{}, fmt.Errorf("%s: %w", EnvAzureBlobEndpoint, err)
	}
	if !strings.HasSuffix(cfg.Endpoint, "/"+cfg.Account) {
		return AzureConfig{}, fmt.Errorf("%s: endpoint %q does not end with the account's name, /%s",
			EnvAzureBlobEndpoint, cfg.Endpoint, cfg.Account)
	}
	return cfg, nil
}

// Config is where the test servers listen and how to sign requests to them.
type Config struct {
	// S3Endpoint is the base URL of the S3-compatible server.
	S3Endpoint string
	// DynamoDBEndpoint is the base URL of the DynamoDB-compatible server.
	DynamoDBEndpoint string
	// Region is the AWS region to sign requests for.
	Region string
	// AccessKeyID is the access key of the test credentials.
	AccessKeyID string
	// SecretAccessKey is the secret key of the test credentials.
	SecretAccessKey string
}

// Endpoints returns the test servers' configuration from the environment.
//
// If either endpoint is unset it skips the test with SkipMessage, or fails it
// when DOCBLOB_REQUIRE_SERVERS=1. It fails the test if an endpoint is not a
// valid http(s) URL, or if its host is not a loopback address and
// DOCBLOB_ALLOW_REMOTE=1 is not set.
func Endpoints(tb testing.TB) Config {
	tb.Helper()
	cfg, err := fromEnv(os.Getenv)
	if err != nil {
		if errors.Is(err, errMissing) {
			if os.Getenv(EnvRequireServers) == "1" {
				tb.Fatalf("testservers: %v, but %s=1: start the servers with `make test` "+
					"(or scripts/servers.sh run -- go test ./...)", err, EnvRequireServers)
			}
			tb.Skip(SkipMessage)
		}
		tb.Fatalf("testservers: %v", err)
	}
	return cfg
}

var errMissing = errors.New("test server endpoints are not set")

// fromEnv builds a Config from getenv, checking the endpoints. It returns an
// error wrapping errMissing when an endpoint is unset.
func fromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		S3Endpoint:       strings.TrimSpace(getenv(EnvS3Endpoint)),
		DynamoDBEndpoint: strings.TrimSpace(getenv(EnvDynamoDBEndpoint)),
		Region:           getenv(EnvRegion),
		AccessKeyID:      getenv(EnvAccessKeyID),
		SecretAccessKey:  getenv(EnvSecretAccessKey),
	}
	var unset []string
	if cfg.S3Endpoint == "" {
		unset = append(unset, EnvS3Endpoint)
	}
	if cfg.DynamoDBEndpoint == "" {
		unset = append(unset, EnvDynamoDBEndpoint)
	}
	if len(unset) > 0 {
		return Config{}, fmt.Errorf("%w (%s unset)", errMissing, strings.Join(unset, ", "))
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	allowRemote := getenv(EnvAllowRemote) == "1"
	for _, ep := range []struct{ name, value string }{
		{EnvS3Endpoint, cfg.S3Endpoint},
		{EnvDynamoDBEndpoint, cfg.DynamoDBEndpoint},
	} {
		if err := checkEndpoint(ep.value, allowRemote); err != nil {
			return Config{}, fmt.Errorf("%s: %w", ep.name, err)
		}
	}
	return cfg, nil
}

// checkEndpoint verifies that endpoint is an http(s) URL with a host, and
// that the host is loopback unless allowRemote is set.
func checkEndpoint(endpoint string, allowRemote bool) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("invalid endpoint %q: %v", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint %q must be an http:// or https:// URL", endpoint)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("endpoint %q has no host", endpoint)
	}
	if !allowRemote && !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("endpoint %q is not on loopback (127.0.0.0/8, ::1, localhost); "+
			"set %s=1 to use it deliberately", endpoint, EnvAllowRemote)
	}
	return nil
}

// IsLoopbackHost reports whether host (a host name or IP literal without
// port, optionally in [brackets]) is "localhost" or a loopback IP address:
// 127.0.0.0/8 or ::1. No name is resolved.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	// Zone identifiers (fe80::1%eth0) are not loopback; ParseIP rejects them.
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReachableTimeout bounds the TCP dial done by Reachable when ctx has no
// earlier deadline.
const ReachableTimeout = 2 * time.Second

// Reachable dials the host and port of endpoint (a URL such as
// http://127.0.0.1:9000) over TCP and closes the connection. It returns nil
// if the dial succeeds within ReachableTimeout or ctx's deadline, whichever
// comes first. The port defaults to 80 or 443 from the URL's scheme. It does
// not check that the host is loopback; Endpoints does that.
func Reachable(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("testservers: invalid endpoint %q: %v", endpoint, err)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return fmt.Errorf("testservers: endpoint %q has no host", endpoint)
	}
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		default:
			return fmt.Errorf("testservers: endpoint %q has no port", endpoint)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ReachableTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("testservers: %s is not reachable: %w", endpoint, err)
	}
	return conn.Close()
}

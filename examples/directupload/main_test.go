package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestFlow runs the example: the upload is committed by the instance that
// did not sign it, a forged token is refused, the download is verified.
func TestFlow(t *testing.T) {
	t.Setenv("RECEIPTS_SECRET", "")
	var out bytes.Buffer
	if err := run(context.Background(), "", &out); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1. instance A signed an upload URL",
		"2. the browser uploaded 8008 bytes straight to the blob store: 200 OK",
		"3. instance B committed 8008 bytes, sha256 ",
		"4. a forged token: 403 Forbidden",
		"5. the download: 200 OK, image/png, same bytes: true",
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want %q", i+1, got[i], want[i])
		}
	}
}

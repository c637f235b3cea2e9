package docblob

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestTelemetryCodes(t *testing.T) {
	seen := map[string]bool{}
	for c := Unknown; c <= Unavailable; c++ {
		name := telemetryCode(&Error{Code: c, Err: fmt.Errorf("x")})
		if c == OK {
			name = telemetryCode(nil)
		}
		if name == "" || seen[name] || (c != Unknown && name == "Unknown") {
			t.Errorf("code %v is labelled %q", c, name)
		}
		seen[name] = true
	}
	for err, want := range map[error]string{
		context.Canceled: "Canceled",
		fmt.Errorf("x: %w", context.DeadlineExceeded): "DeadlineExceeded",
		ErrorCode(99): "Unknown",
	} {
		if got := telemetryCode(err); got != want {
			t.Errorf("telemetryCode(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestTelemetryInstalled checks, in a fresh process where no provider was
// installed, that docblob sees none and spends no allocation on
// telemetry, and that it sees one once installed.
func TestTelemetryInstalled(t *testing.T) {
	if os.Getenv("DOCBLOB_TELEMETRY_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTelemetryInstalled$", "-test.v")
		cmd.Env = append(os.Environ(), "DOCBLOB_TELEMETRY_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestTelemetryInstalled") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	s := &Store{}
	if telemetryInstalled() {
		t.Fatal("telemetryInstalled() before any provider was installed")
	}
	ctx := context.Background()
	if allocs := testing.AllocsPerRun(100, func() {
		_, sp := s.startSpan(ctx, "Get")
		sp.read(1)
		sp.end(nil)
	}); allocs != 0 {
		t.Errorf("a span without providers allocates %v times", allocs)
	}
	otel.SetMeterProvider(sdkmetric.NewMeterProvider())
	if !telemetryInstalled() {
		t.Fatal("telemetryInstalled() is false after a meter provider was installed")
	}
}

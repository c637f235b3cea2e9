package docblob_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// telemetryHarness is the OpenTelemetry SDK installed as the global
// providers, once per test binary: OpenTelemetry's global tracers delegate
// to the first provider installed, so later installs would not reach
// docblob. Spans are kept only while a test records them.
type telemetryHarness struct {
	spans     *tracetest.InMemoryExporter
	recording atomic.Bool
	tracer    trace.Tracer
	metrics   *sdkmetric.ManualReader
}

// OnStart, OnEnd, Shutdown and ForceFlush make the harness a span
// processor that forwards ended spans to the exporter while recording.
func (h *telemetryHarness) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (h *telemetryHarness) OnEnd(s sdktrace.ReadOnlySpan) {
	if h.recording.Load() {
		_ = h.spans.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{s})
	}
}
func (h *telemetryHarness) Shutdown(context.Context) error   { return nil }
func (h *telemetryHarness) ForceFlush(context.Context) error { return nil }

var telemetryOnce = sync.OnceValue(func() *telemetryHarness {
	h := &telemetryHarness{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.metrics)))
	h.tracer = tp.Tracer("docblob_test")
	return h
})

// record returns a context under a root span of the test's own, and the
// spans docblob made under it so far.
func (h *telemetryHarness) record(t *testing.T) (context.Context, func() tracetest.SpanStubs) {
	t.Helper()
	h.recording.Store(true)
	t.Cleanup(func() { h.recording.Store(false); h.spans.Reset() })
	ctx, root := h.tracer.Start(context.Background(), t.Name())
	t.Cleanup(func() { root.End() })
	id := root.SpanContext().TraceID()
	return ctx, func() tracetest.SpanStubs {
		var out tracetest.SpanStubs
		for _, s := range h.spans.GetSpans() {
			if s.SpanContext.TraceID() == id {
				out = append(out, s)
			}
		}
		return out
	}
}

// callCount is the completed_calls count of a method and code.
func (h *telemetryHarness) sums(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != docblob.InstrumentationName {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+" "+label(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+" "+label(p.Attributes)] += int64(p.Count)
				}
			}
		}
	}
	return out
}

func label(set attribute.Set) string {
	m, _ := set.Value("docblob.method")
	c, _ := set.Value("docblob.code")
	return m.AsString() + " " + c.AsString()
}

// spanAttrs returns a span's attributes by key.
func spanAttrs(s tracetest.SpanStub) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	for _, kv := range s.Attributes {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

type otelDoc struct {
	PK   string        `docstore:"pk"`
	SK   string        `docstore:"sk"`
	Data *docblob.Blob `docstore:"data"`
}

func TestTelemetry(t *testing.T) {
	h := telemetryOnce()
	payload := bytes.Repeat([]byte("docblob "), 1000)

	t.Run("Spans", func(t *testing.T) {
		ctx, spans := h.record(t)
		store, err := docblob.NewStore(newMem(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		doc := &otelDoc{PK: "acme", SK: "a", Data: docblob.NewBlobBytes(payload, nil)}
		if err := store.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		got := &otelDoc{PK: "acme", SK: "a"}
		if err := store.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, err := got.Data.ReadAll(ctx); err != nil {
			t.Fatal(err)
		}
		if err := store.Get(ctx, &otelDoc{PK: "acme", SK: "missing"}); docblob.Code(err) != docblob.NotFound {
			t.Fatalf("Get of a missing document: %v", err)
		}
		if _, err := got.Data.SignedURL(ctx, nil); docblob.Code(err) != docblob.Unimplemented {
			t.Fatalf("SignedURL on memstore without a signer: %v", err)
		}
		it := store.Query(ctx, &docblob.Query{Partition: "acme"})
		for it.Next(&otelDoc{}) == nil {
		}
		if err := store.Delete(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Sweep(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for _, err := range store.Check(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
		}

		type want struct {
			name, code string
			bytes      int64 // -1: no docblob.bytes attribute
		}
		wants := []want{
			{"Put", "OK", int64(len(payload))},
			{"Get", "OK", -1},
			{"Open", "OK", int64(len(payload))},
			{"Get", "NotFound", -1},
			{"SignedURL", "Unimplemented", -1},
			{"Query", "OK", -1},
			{"Delete", "OK", -1},
			{"Sweep", "OK", -1},
			{"Check", "OK", -1},
		}
		var ours tracetest.SpanStubs
		for _, s := range spans() {
			if s.InstrumentationScope.Name == docblob.InstrumentationName {
				ours = append(ours, s)
			}
		}
		// Query makes two spans on memstore (a page, then an empty last
		// page), so compare in order, skipping repeats of Query.
		i := 0
		for _, s := range ours {
			if i > 0 && s.Name == docblob.InstrumentationName+".Query" && wants[i-1].name == "Query" {
				continue
			}
			if i >= len(wants) {
				t.Errorf("unexpected span %s", s.Name)
				continue
			}
			w := wants[i]
			i++
			if s.Name != docblob.InstrumentationName+"."+w.name {
				t.Errorf("span %d is %s, want %s.%s", i, s.Name, docblob.InstrumentationName, w.name)
				continue
			}
			a := spanAttrs(s)
			if a["docblob.method"].AsString() != w.name || a["docblob.code"].AsString() != w.code ||
				a["docblob.driver"].AsString() != "github.com/docblob/docblob/drivers/memstore" {
				t.Errorf("%s: attributes %v, want method %s, code %s, driver memstore", s.Name, a, w.name, w.code)
			}
			if b, ok := a["docblob.bytes"]; ok != (w.bytes >= 0) || b.AsInt64() != max(w.bytes, 0) {
				t.Errorf("%s: docblob.bytes = %v (set %v), want %d", s.Name, b.AsInt64(), ok, w.bytes)
			}
			if isErr := s.Status.Code == codes.Error; isErr != (w.code != "OK") {
				t.Errorf("%s: status %v, want an error status: %v", s.Name, s.Status, w.code != "OK")
			}
			if s.SpanKind != trace.SpanKindClient {
				t.Errorf("%s: span kind %v, want client", s.Name, s.SpanKind)
			}
		}
		if i != len(wants) {
			t.Errorf("got %d of the %d expected spans: %v", i, len(wants), ours)
		}
	})

	t.Run("CleanupEvent", func(t *testing.T) {
		ctx, spans := h.record(t)
		store, err := docblob.NewStore(failingDeletes{newMem(t)}, &docblob.Options{OnCleanupError: func(error) {}})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		doc := &otelDoc{PK: "acme", SK: "b", Data: docblob.NewBlobBytes(payload, nil)}
		if err := store.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		old := doc.Data.Key()
		doc.Data = docblob.NewBlobBytes([]byte("second version"), nil)
		if err := store.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, s := range spans() {
			for _, e := range s.Events {
				a := map[string]string{}
				for _, kv := range e.Attributes {
					a[string(kv.Key)] = kv.Value.String()
				}
				events = append(events, s.Name+" "+e.Name+" "+a["docblob.payload"]+" "+a["docblob.code"])
			}
		}
		want := docblob.InstrumentationName + ".Put docblob.cleanup_failed " + old + " Unavailable"
		if len(events) != 1 || events[0] != want {
			t.Errorf("span events %q, want [%q]", events, want)
		}
	})

	t.Run("CorruptRead", func(t *testing.T) {
		ctx, spans := h.record(t)
		mem := newMem(t)
		store, err := docblob.NewStore(mem, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		doc := &otelDoc{PK: "acme", SK: "c", Data: docblob.NewBlobBytes(payload, nil)}
		if err := store.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		tampered := bytes.ToUpper(payload)
		if err := mem.DeleteBlob(ctx, doc.Data.Key()); err != nil {
			t.Fatal(err)
		}
		if _, err := mem.WriteBlob(ctx, doc.Data.Key(), bytes.NewReader(tampered), &driver.WriteOptions{Size: int64(len(tampered))}); err != nil {
			t.Fatal(err)
		}
		r, err := doc.Data.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if docblob.Code(err) != docblob.Corrupt {
			t.Fatalf("reading a tampered payload: %v", err)
		}
		var open *tracetest.SpanStub
		for _, s := range spans() {
			if s.Name == docblob.InstrumentationName+".Open" {
				open = &s
			}
		}
		if open == nil {
			t.Fatal("no Open span")
		}
		if a := spanAttrs(*open); a["docblob.code"].AsString() != "Corrupt" || open.Status.Code != codes.Error {
			t.Errorf("Open span: attributes %v, status %v; want code Corrupt and an error status", a, open.Status)
		}
		recorded := false
		for _, e := range open.Events {
			recorded = recorded || e.Name == "exception"
		}
		if !recorded {
			t.Error("Open span recorded no exception event")
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		ctx := context.Background()
		before := h.sums(t)
		store, err := docblob.NewStore(newMem(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		doc := &otelDoc{PK: "acme", SK: "d", Data: docblob.NewBlobBytes(payload, nil)}
		if err := store.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if _, err := doc.Data.ReadAll(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := store.Get(ctx, &otelDoc{PK: "acme", SK: "none"}); docblob.Code(err) != docblob.NotFound {
				t.Fatal(err)
			}
		}
		after := h.sums(t)
		const p = docblob.InstrumentationName
		n := int64(len(payload))
		for k, want := range map[string]int64{
			p + "/completed_calls Put OK":       1,
			p + "/latency Put OK":               1,
			p + "/bytes_written Put OK":         n,
			p + "/completed_calls Open OK":      1,
			p + "/bytes_read Open OK":           n,
			p + "/completed_calls Get NotFound": 2,
			p + "/latency Get NotFound":         2,
		} {
			if got := after[k] - before[k]; got != want {
				t.Errorf("%s grew by %d, want %d", k, got, want)
			}
		}
	})
}

package docblob

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName is the name of docblob's tracer and meter, and the
// prefix of its span and metric names.
const InstrumentationName = "github.com/docblob/docblob"

// Attribute keys of docblob's spans and metrics.
const (
	methodAttr  = attribute.Key("docblob.method")
	driverAttr  = attribute.Key("docblob.driver")
	codeAttr    = attribute.Key("docblob.code")
	bytesAttr   = attribute.Key("docblob.bytes")
	payloadAttr = attribute.Key("docblob.payload")
)

// instruments are docblob's tracer and metric instruments, made on first
// use from the global providers (which delegate to providers installed
// later).
type instruments struct {
	tracer       trace.Tracer
	latency      metric.Float64Histogram
	calls        metric.Int64Counter
	bytesRead    metric.Int64Counter
	bytesWritten metric.Int64Counter
}

var telemetry = sync.OnceValue(func() *instruments {
	m := otel.Meter(InstrumentationName)
	in := &instruments{tracer: otel.Tracer(InstrumentationName)}
	// The global meter accepts any valid name, so these cannot fail; a
	// failing provider still returns a usable no-op instrument.
	in.latency, _ = m.Float64Histogram(InstrumentationName+"/latency",
		metric.WithDescription("Latency of docblob Store operations."), metric.WithUnit("ms"),
		metric.WithExplicitBucketBoundaries(0, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20,
			25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1000, 2000, 5000, 10000))
	in.calls, _ = m.Int64Counter(InstrumentationName+"/completed_calls",
		metric.WithDescription("Completed docblob Store operations, by method and code."), metric.WithUnit("{call}"))
	in.bytesRead, _ = m.Int64Counter(InstrumentationName+"/bytes_read",
		metric.WithDescription("Payload bytes read."), metric.WithUnit("By"))
	in.bytesWritten, _ = m.Int64Counter(InstrumentationName+"/bytes_written",
		metric.WithDescription("Payload bytes written."), metric.WithUnit("By"))
	return in
})

// driverName names a driver as gocloud.dev's ProviderName does: the Go
// package path of its type.
func driverName(drv any) string {
	t := reflect.TypeOf(drv)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// opSpan is one instrumented operation in flight.
type opSpan struct {
	s      *Store
	method string
	start  time.Time
	span   trace.Span
	bytes  int64
	dir    int // 0: no payload bytes; read or written
}

const (
	bytesRead = 1 + iota
	bytesWritten
)

// startSpan starts the span of an operation. The caller ends it with end.
// Without installed providers it returns ctx and a nil *opSpan, whose
// methods do nothing, so that uninstrumented programs pay nothing.
func (s *Store) startSpan(ctx context.Context, method string) (context.Context, *opSpan) {
	if !telemetryInstalled() {
		return ctx, nil
	}
	ctx, span := telemetry().tracer.Start(ctx, InstrumentationName+"."+method,
		trace.WithSpanKind(trace.SpanKindClient))
	return ctx, &opSpan{s: s, method: method, start: time.Now(), span: span}
}

// telemetryInstalled reports whether a tracer or meter provider was
// installed: the global providers are otherwise OpenTelemetry's own
// delegating placeholders, of its internal/global package.
func telemetryInstalled() bool {
	return !placeholder(otel.GetTracerProvider()) || !placeholder(otel.GetMeterProvider())
}

func placeholder(provider any) bool {
	t := reflect.TypeOf(provider)
	return t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global"
}

// read and wrote count the payload bytes an operation moved.
func (o *opSpan) read(n int64) {
	if o != nil {
		o.bytes += n
		o.dir = bytesRead
	}
}

func (o *opSpan) wrote(n int64) {
	if o != nil {
		o.bytes += n
		o.dir = bytesWritten
	}
}

// end ends the span and records the operation's metrics.
func (o *opSpan) end(err error) {
	if o == nil {
		return
	}
	code := telemetryCode(err)
	in := telemetry()
	if o.span.IsRecording() {
		o.span.SetAttributes(methodAttr.String(o.method), driverAttr.String(o.s.driverName), codeAttr.String(code))
		if o.dir != 0 {
			o.span.SetAttributes(bytesAttr.Int64(o.bytes))
		}
		if err != nil {
			o.span.RecordError(err)
			o.span.SetStatus(codes.Error, err.Error())
		}
	}
	o.span.End()
	ctx := context.Background()
	attrs := o.s.metricAttrs(o.method, code)
	in.latency.Record(ctx, float64(time.Since(o.start))/float64(time.Millisecond), attrs)
	in.calls.Add(ctx, 1, attrs)
	switch o.dir {
	case bytesRead:
		in.bytesRead.Add(ctx, o.bytes, attrs)
	case bytesWritten:
		in.bytesWritten.Add(ctx, o.bytes, attrs)
	}
}

// metricAttrs returns the attribute set of a method and code, made once
// per store, method and code so that recording does not allocate.
func (s *Store) metricAttrs(method, code string) metric.MeasurementOption {
	k := [2]string{method, code}
	if v, ok := s.attrSets.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	v := metric.WithAttributeSet(attribute.NewSet(
		methodAttr.String(method), driverAttr.String(s.driverName), codeAttr.String(code)))
	s.attrSets.Store(k, v)
	return v
}

// codeIdents are the Go names of the error codes, which label spans and
// metrics as gocloud.dev's codes do theirs.
var codeIdents = [...]string{
	Unknown: "Unknown", OK: "OK", NotFound: "NotFound", AlreadyExists: "AlreadyExists",
	FailedPrecondition: "FailedPrecondition", InvalidArgument: "InvalidArgument",
	PermissionDenied: "PermissionDenied", TooLarge: "TooLarge", Corrupt: "Corrupt",
	Unimplemented: "Unimplemented", Unavailable: "Unavailable",
}

// telemetryCode names err's code for spans and metrics.
func telemetryCode(err error) string {
	switch {
	case err == nil:
		return "OK"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "DeadlineExceeded"
	}
	if c := Code(err); c >= 0 && int(c) < len(codeIdents) && codeIdents[c] != "" {
		return codeIdents[c]
	}
	return "Unknown"
}

// reportCleanup reports a payload that could not be deleted: to the span
// in ctx, as an event, and to Options.OnCleanupError.
func (s *Store) reportCleanup(ctx context.Context, err error) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		attrs := []attribute.KeyValue{codeAttr.String(telemetryCode(err))}
		var e *Error
		if errors.As(err, &e) && e.Payload != "" {
			attrs = append(attrs, payloadAttr.String(e.Payload))
		}
		span.AddEvent("docblob.cleanup_failed", trace.WithAttributes(attrs...))
	}
	s.opts.OnCleanupError(err)
}

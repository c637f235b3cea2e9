package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestIsDefinite(t *testing.T) {
	for c := Unknown; c <= Unavailable; c++ {
		want := c != Unknown && c != Unavailable && c != OK
		if IsDefinite(c) != want {
			t.Errorf("IsDefinite(%v) = %v", c, !want)
		}
	}
}

func TestNotApplied(t *testing.T) {
	other := errors.New("timeout")
	cases := []struct {
		name string
		code ErrorCode
		err  error
		want bool
	}{
		{"definite", FailedPrecondition, other, true},
		{"unavailable", Unavailable, other, false},
		{"unknown", Unknown, other, false},
		{"unavailable_marked", Unavailable, &Error{Code: Unavailable, Err: fmt.Errorf("lost every race: %w", ErrNotApplied)}, true},
		{"unknown_joined", Unknown, errors.Join(context.Canceled, ErrNotApplied), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NotApplied(c.code, c.err); got != c.want {
				t.Errorf("NotApplied(%v, %v) = %v, want %v", c.code, c.err, got, c.want)
			}
		})
	}
}

func TestErrorMatchesItsCode(t *testing.T) {
	cause := errors.New("the cause")
	err := fmt.Errorf("wrapped: %w", &Error{Code: FailedPrecondition, Err: cause})
	if !errors.Is(err, FailedPrecondition) || errors.Is(err, NotFound) || !errors.Is(err, cause) {
		t.Errorf("errors.Is on %v", err)
	}
	var c ErrorCode
	if !errors.As(err, &c) || c != FailedPrecondition {
		t.Errorf("errors.As into an ErrorCode: %v", c)
	}
	var e *Error
	if !errors.As(err, &e) || e.Err != cause || errors.Unwrap(e) != cause {
		t.Errorf("errors.As into an *Error: %+v", e)
	}
	if got := err.Error(); got != "wrapped: the cause" {
		t.Errorf("message %q", got)
	}
	if got := (&Error{Code: NotFound}).Error(); got != "not found" {
		t.Errorf("message without a cause %q", got)
	}
}

// codeDriver is a Driver whose ErrorCode says NotFound of every error and
// counts its calls.
type codeDriver struct {
	Driver
	calls int
}

func (d *codeDriver) ErrorCode(error) ErrorCode { d.calls++; return NotFound }

// TestClassify checks that the code of an *Error is honoured before the
// driver's ErrorCode, which classifies only the other errors.
func TestClassify(t *testing.T) {
	d := &codeDriver{}
	raw := errors.New("raw")
	for _, tc := range []struct {
		err   error
		want  ErrorCode
		calls int
	}{
		{nil, OK, 0},
		{raw, NotFound, 1},
		{&Error{Code: AlreadyExists, Err: raw}, AlreadyExists, 0},
		{fmt.Errorf("ctx: %w", &Error{Code: Unknown, Err: &Error{Code: InvalidArgument}}), Unknown, 0},
		{&Error{Code: Unavailable, Err: context.DeadlineExceeded}, Unavailable, 0},
	} {
		d.calls = 0
		if got := Classify(d, tc.err); got != tc.want || d.calls != tc.calls {
			t.Errorf("Classify(%v) = %v with %d ErrorCode calls, want %v with %d", tc.err, got, d.calls, tc.want, tc.calls)
		}
	}
}

func TestUnsupported(t *testing.T) {
	var u Unsupported
	_, err := u.SignedURL(context.Background(), "k", &SignedURLOptions{Method: "GET", Expiry: 1})
	var e *Error
	if !errors.As(err, &e) || e.Code != Unimplemented || !strings.Contains(err.Error(), "cannot sign") {
		t.Errorf("SignedURL: %v", err)
	}
	if Classify(&codeDriver{}, err) != Unimplemented {
		t.Error("Classify does not honour Unsupported's error")
	}
	var s string
	if u.As(&s) || u.ErrorAs(err, &e) {
		t.Error("As or ErrorAs reported true")
	}
}

func TestDocumentSizeCountsRevisionKey(t *testing.T) {
	doc := &Document{Key: Key{Partition: "p", Sort: "s"}, Revision: "r1", Fields: map[string]any{"a": "bc"}}
	base := Info{PartitionKey: "pk", SortKey: "sk"}
	want := len("pk") + 1 + len("sk") + 1 + len(DefaultRevisionKey) + 2 + 1 + 2
	if got := DocumentSize(doc, base); got != want {
		t.Errorf("DocumentSize with the default revision key = %d, want %d", got, want)
	}
	named := base
	named.RevisionKey = "v"
	if got := DocumentSize(doc, named); got != want-len(DefaultRevisionKey)+1 {
		t.Errorf("DocumentSize with revision key %q = %d, want %d", "v", got, want-len(DefaultRevisionKey)+1)
	}
}

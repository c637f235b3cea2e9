package docblob

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docblob/docblob/driver"
)

func TestErrorMessageAndCode(t *testing.T) {
	cause := errors.New("ConditionalCheckFailedException")
	err := newError(AlreadyExists, "create", Key{Partition: "acme/2026", Sort: "001"}, cause)
	for _, tc := range []struct {
		name string
		got  bool
	}{
		{"IsCode", errors.Is(err, AlreadyExists)},
		{"IsNotOtherCode", !errors.Is(err, NotFound)},
		{"IsCause", errors.Is(err, cause)},
		{"CodeFunc", Code(err) == AlreadyExists},
		{"CodeWrapped", Code(fmt.Errorf("outer: %w", err)) == AlreadyExists},
		{"CodeNil", Code(nil) == OK},
		{"CodeForeign", Code(errors.New("x")) == Unknown},
		{"CodeContext", Code(context.Canceled) == Unknown},
		{"Message", err.Error() == `docblob: create ("acme/2026", "001"): already exists: ConditionalCheckFailedException`},
		{"MessageUnambiguous", newError(NotFound, "get", Key{Partition: "a/b", Sort: "c"}, nil).Error() != newError(NotFound, "get", Key{Partition: "a", Sort: "b/c"}, nil).Error()},
		{"MessagePartitionOnly", strings.Contains(newError(NotFound, "get", Key{Partition: "acme"}, nil).Error(), `get ("acme"): not found`)},
		{"MessageNoKey", !strings.Contains(newError(NotFound, "open", noKey, nil).Error(), `""`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.got {
				t.Errorf("failed for %q", err)
			}
		})
	}
}

func TestErrorCodeNames(t *testing.T) {
	for c := Unknown; c <= Unavailable; c++ {
		if c.String() == "" || (c != Unknown && c.String() == "unknown") {
			t.Errorf("code %d has no name", c)
		}
	}
	if ErrorCode(99).String() != "unknown" {
		t.Error("out-of-range code")
	}
}

// TestCodeOfDriverError checks that Code reads the code of a driver's
// *driver.Error, as of a docblob *Error: a caller that uses a driver (or
// localsign's Signer) directly classifies its errors the same way.
func TestCodeOfDriverError(t *testing.T) {
	cause := errors.New("cause")
	err := fmt.Errorf("outer: %w", &driver.Error{Code: PermissionDenied, Err: cause})
	if Code(err) != PermissionDenied || !errors.Is(err, PermissionDenied) || errors.Is(err, NotFound) || !errors.Is(err, cause) {
		t.Errorf("Code(%v) = %v", err, Code(err))
	}
	if got := newError(PermissionDenied, "get", noKey, err).Error(); got != "docblob: get: permission denied: outer: cause" {
		t.Errorf("message %q", got)
	}
}

package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, url string
		notes     []string
	}{
		{"Memory", "mem://", []string{"notes  0 from earlier runs"}},
		{"DirectoryFirstRun", (&url.URL{Scheme: "file", Path: dir}).String(), []string{"notes  0 from earlier runs"}},
		{"DirectorySecondRun", (&url.URL{Scheme: "file", Path: dir}).String(), []string{"earlier run: run at", "notes  1 from earlier runs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tc.url, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, want := range append([]string{"checksum verified: true", "not found = true"}, tc.notes...) {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

package storagetest

import (
	"context"
	"slices"
	"testing"
)

// mustDo fails the test now if err is not nil.
func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantList checks that list(kind) returns exactly want, in that order.
func wantList(t *testing.T, name string, list func(context.Context, string) ([]string, error), c context.Context, kind string, want []string) {
	t.Helper()
	got, err := list(c, kind)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s = %q, %v; want %q", name, got, err, want)
	}
}

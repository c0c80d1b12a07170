package admin

import (
	"net/http"
	"strings"
	"testing"
)

func TestPprofOffByDefault(t *testing.T) {
	f := newFixture(t)
	if w := f.do("GET", "/debug/pprof/", testToken, ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("GET /debug/pprof/ without Pprof: %d %q, want a JSON 404", w.Code, w.Body.String())
	}
}

func TestPprofNeedsAdminToken(t *testing.T) {
	f := newFixture(t)
	opts := f.srv.opts
	opts.Pprof = true
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	store, ops := f.secrets[0], f.secrets[1]
	for _, tc := range []struct {
		name, path, token string
		want              int
		body              string
	}{
		{"no token", "/debug/pprof/", "", http.StatusUnauthorized, "missing bearer token"},
		{"bad token", "/debug/pprof/heap", "nope", http.StatusUnauthorized, "invalid token"},
		{"read scope", "/debug/pprof/heap", store, http.StatusForbidden, "needs scope admin"},
		{"index", "/debug/pprof/", ops, http.StatusOK, "goroutine"},
		{"heap", "/debug/pprof/heap?debug=1", testToken, http.StatusOK, "heap profile"},
		{"goroutines", "/debug/pprof/goroutine?debug=1", ops, http.StatusOK, "TestPprofNeedsAdminToken"},
		{"cmdline", "/debug/pprof/cmdline", ops, http.StatusOK, ".test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", tc.path, tc.token, "")
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("GET %s: %d %.200q, want %d containing %q", tc.path, w.Code, w.Body.String(), tc.want, tc.body)
			}
		})
	}
}

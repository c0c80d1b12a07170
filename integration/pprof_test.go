package integration

import (
	"strings"
	"testing"
)

// The profiler is off unless configured, and then only for admin tokens.
func TestPprofOnAdminListener(t *testing.T) {
	t.Parallel()
	off := startServer(t, serverOptions{})
	if got, body := apiCall(t, off, off.adminToken(), "GET", "/debug/pprof/", ""); got != 404 {
		t.Errorf("default config: GET /debug/pprof/ = %d %.100s, want 404", got, body)
	}

	s := startServer(t, serverOptions{config: "[metrics]\npprof = true\n"})
	out := s.ctl("token", "add", "store", "--scope", "read")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	store := lines[len(lines)-1]
	for _, tt := range []struct {
		name, token, path string
		want              int
		body              string
	}{
		{"no token", "", "/debug/pprof/", 401, "missing bearer token"},
		{"read token", store, "/debug/pprof/heap", 403, "needs scope admin"},
		{"heap", s.adminToken(), "/debug/pprof/heap?debug=1", 200, "heap profile"},
		{"goroutines", s.adminToken(), "/debug/pprof/goroutine?debug=1", 200, "c2s.(*Server)"},
		{"cpu", s.adminToken(), "/debug/pprof/profile?seconds=1", 200, ""},
	} {
		got, body := apiCall(t, s, tt.token, "GET", tt.path, "")
		if got != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("%s: GET %s = %d %.200q, want %d containing %q", tt.name, tt.path, got, body, tt.want, tt.body)
		}
	}
}

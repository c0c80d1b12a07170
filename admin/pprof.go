package admin

import (
	"fmt"
	"net/http"
	"net/http/pprof"
)

// servePprof mounts Go's profiler under /debug/pprof/ behind the admin
// scope: profiles show code paths, memory contents (goroutine stacks carry
// JIDs) and cost CPU while they run, so they are off unless configured and
// never open to read-only tokens. The handlers are net/http/pprof's; with
// the token they work with curl, e.g.
//
//	curl -H "Authorization: Bearer $TOKEN" \
//	  'http://127.0.0.1:5280/debug/pprof/profile?seconds=30' >cpu.pprof
//	go tool pprof cpu.pprof
func (s *Server) servePprof() {
	prof := http.NewServeMux()
	prof.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, allocs, ...
	prof.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	prof.HandleFunc("/debug/pprof/profile", pprof.Profile)
	prof.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	prof.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.mux.Handle("/debug/pprof/", s.requireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := r.Context().Value(tokenKey{}).(TokenInfo)
		if !tok.Scope.allows(ScopeAdmin) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has scope %s; profiling needs scope %s", tok.Name, tok.Scope, ScopeAdmin))
			return
		}
		prof.ServeHTTP(w, r)
	})))
}

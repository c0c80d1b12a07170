// Package admin serves xmppd's admin HTTP listener: Prometheus metrics,
// health and readiness probes for orchestrators, and a token-protected JSON
// API under /api/v1/ for operators and backends (user management, sessions,
// the per-session debug switch).
//
// Only /metrics, /health and /ready answer without a token; everything
// under /api/v1/ needs "Authorization: Bearer <token>" (RFC 6750 §2.1).
// The first-start token is 32 random bytes in hex, generated into
// <data-dir>/admin-token (mode 0600) and reused after, so local tools
// (xmppd user …) can read it and reach the running server; it has the admin
// scope. Operators add named tokens with a scope (read for a backend that
// only reads the social graph, admin for operators) kept, hashed, in
// <data-dir>/api-tokens.json (Tokens). A presented token is compared
// against every known one in constant time.
//
// Errors are JSON {"error": "..."} with a message that names the problem;
// 400 for a malformed request, 401 without a valid token, 403 for a token
// whose scope does not cover the endpoint, 404 for an unknown user, session
// or path, 409 for something that already exists. docs/api.md lists every
// endpoint with examples.
//
// The package holds no state of its own beyond the tokens: users live in
// auth's account store, rosters in the roster feature and sessions in c2s,
// reached through the small interfaces declared here. Roster notes never
// leave through this API: the roster view it serves has no field for them.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Accounts is the user store the API manages; *auth.Accounts implements it.
// Usernames are JID localparts. Errors wrap auth.ErrExists,
// auth.ErrNoSuchUser and auth.ErrInvalid where they apply.
type Accounts interface {
	Add(ctx context.Context, username, password string) error
	SetPassword(ctx context.Context, username, password string) error
	Delete(ctx context.Context, username string) error
	Exists(ctx context.Context, username string) (bool, error)
	// List returns the localparts of every account.
	List(ctx context.Context) ([]string, error)
}

// A Pinger reports whether a dependency is reachable (storage.Backend).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options are the dependencies of a Server. Domain (a prepared domainpart,
// as JIDs are compared against it), Token and Accounts are required; a nil
// Sessions, Rosters, Router, Toggles, Features, Trace or Notes
// answers its endpoints with 503, a
// nil Ready reports ready, a nil Gatherer serves no /metrics, a nil Tokens
// knows the built-in Token only (named tokens then live in memory).
type Options struct {
	Domain string
	// Token is the built-in admin token (the data directory's admin-token).
	Token    string
	Tokens   *Tokens
	Accounts Accounts
	Sessions Sessions
	Rosters  Rosters
	Router   Router
	Toggles  Toggles
	// Features are the toggles by name at runtime (/api/v1/features).
	Features Features
	// Trace serves the live debug trace (GET /api/v1/debug/{jid}/stream).
	Trace DebugTrace
	// Notes rekeys the roster notes (POST /api/v1/notes/rekey).
	Notes    Notes
	Ready    Pinger
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Now is the clock for debug deadlines; nil means time.Now.
	Now func() time.Time

	// Status reports uptime, sessions and rooms (GET /api/v1/status);
	// Reload does what SIGHUP does (POST /api/v1/reload). Nil answers
	// their endpoints with 503.
	Status ServerStatus
	Reload Reloader

	// Pprof serves Go's profiler under /debug/pprof/ (admin scope).
	Pprof bool
}

// maxBody bounds a request body; the API takes small JSON objects only.
const maxBody = 64 << 10

// readyTimeout bounds the storage ping behind /ready.
const readyTimeout = 2 * time.Second

// A Server is the admin HTTP handler. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux
	// rekeying admits one notes rekey at a time.
	rekeying sync.Mutex
}

var _ http.Handler = (*Server)(nil)

// New returns the handler for the admin listener.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Domain == "":
		return nil, errors.New("admin: no domain")
	case len(opts.Token) < 32:
		return nil, errors.New("admin: token shorter than 32 characters")
	case opts.Accounts == nil:
		return nil, errors.New("admin: no accounts")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tokens == nil {
		var err error
		if opts.Tokens, err = OpenTokens("", opts.Token); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}

	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /ready", s.ready)

	api := http.NewServeMux()
	for pattern, m := range map[string]methods{
		"/api/v1/users":                       {"GET": read(s.listUsers), "POST": admin(s.addUser)},
		"/api/v1/users/{jid}":                 {"DELETE": admin(s.deleteUser)},
		"/api/v1/users/{jid}/password":        {"PUT": admin(s.setPassword)},
		"/api/v1/users/{jid}/friends":         {"GET": read(s.friends)},
		"/api/v1/users/{jid}/friends/{other}": {"GET": read(s.friendship)},
		"/api/v1/users/{jid}/roster":          {"GET": read(s.roster)},
		"/api/v1/users/{jid}/presence":        {"GET": read(s.presence)},
		"/api/v1/friendships/check":           {"POST": read(s.checkFriendships)},
		"/api/v1/messages":                    {"POST": admin(s.sendMessage)},
		"/api/v1/sessions":                    {"GET": read(s.listSessions)},
		"/api/v1/sessions/{jid...}":           {"GET": read(s.userSessions), "DELETE": admin(s.kick)},
		"/api/v1/sessions/debug":              {"PUT": admin(s.debugOn), "DELETE": admin(s.debugOff)},
		"/api/v1/debug/{jid...}":              {"GET": admin(s.debugGet), "PUT": admin(s.debugPathOn), "DELETE": admin(s.debugPathOff)},
		"/api/v1/tokens":                      {"GET": admin(s.listTokens), "POST": admin(s.addToken)},
		"/api/v1/tokens/{name}":               {"DELETE": admin(s.revokeToken)},
		"/api/v1/toggles":                     {"GET": read(s.listToggles)},
		"/api/v1/toggles/reload":              {"POST": admin(s.reloadToggles)},
		"/api/v1/features":                    {"GET": read(s.listFeatures)},
		"/api/v1/features/{name}":             {"PUT": admin(s.setFeature)},
		"/api/v1/notes/rekey":                 {"POST": admin(s.rekeyNotes)},
		"/api/v1/status":                      {"GET": read(s.status)},
		"/api/v1/reload":                      {"POST": admin(s.reload)},
	} {
		api.Handle(pattern, m)
	}
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	s.mux.Handle("/api/", s.requireToken(api))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	if opts.Pprof {
		s.servePprof()
	}
	return s, nil
}

// ServeHTTP dispatches to the endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// HealthResponse is the body of GET /health. Domain lets a client check
// that it reached the xmppd it meant to.
type HealthResponse struct {
	Status string `json:"status"`
	Domain string `json:"domain"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HealthResponse{Status: "ok", Domain: s.opts.Domain})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.opts.Ready.Ping(ctx); err != nil {
			writeError(w, http.StatusServiceUnavailable, "storage not ready: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// tokenKey is the context key of the TokenInfo of the request's token.
type tokenKey struct{}

// requireToken passes only requests that carry a known bearer token, with
// its TokenInfo in the context.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xmppd"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token (Authorization: Bearer <token from the data dir's admin-token, or one made with xmppd token add>)")
			return
		}
		tok, ok := s.opts.Tokens.Check(strings.TrimSpace(got))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xmppd", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

// An endpoint is one method of one path and the scope it needs.
type endpoint struct {
	need Scope
	h    http.HandlerFunc
}

func read(h http.HandlerFunc) endpoint  { return endpoint{need: ScopeRead, h: h} }
func admin(h http.HandlerFunc) endpoint { return endpoint{need: ScopeAdmin, h: h} }

// methods dispatches on the request method, checks the token's scope and
// answers other methods with a JSON 405 that lists the allowed ones.
type methods map[string]endpoint

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e, ok := m[r.Method]; ok {
		tok, _ := r.Context().Value(tokenKey{}).(TokenInfo)
		if !tok.Scope.allows(e.need) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has scope %s; %s %s needs scope %s", tok.Name, tok.Scope, r.Method, r.URL.Path, e.need))
			return
		}
		e.h(w, r)
		return
	}
	allowed := make([]string, 0, len(m))
	for _, meth := range []string{"GET", "POST", "PUT", "DELETE"} {
		if _, ok := m[meth]; ok {
			allowed = append(allowed, meth)
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here; use %s", r.Method, strings.Join(allowed, " or ")))
}

// audit logs a change made through the API with the name of the token
// that made it.
func (s *Server) audit(r *http.Request, what string, args ...any) {
	tok, _ := r.Context().Value(tokenKey{}).(TokenInfo)
	s.opts.Log.Info("admin api: "+what, append(args, "token", tok.Name)...)
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the client went away if this fails; nothing to do
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}

// decodeBody reads one JSON object into v, refusing unknown fields and
// trailing data. On failure it has written the 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body, want a JSON object")
		}
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

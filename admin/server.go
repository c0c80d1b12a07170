// Package admin serves xmppd's admin HTTP listener: Prometheus metrics,
// health and readiness probes for orchestrators, and a token-protected JSON
// API under /api/v1/ for operators and backends (user management, sessions,
// the per-session debug switch).
//
// Only /metrics, /health and /ready answer without a token; everything
// under /api/v1/ needs "Authorization: Bearer <token>" (RFC 6750 §2.1),
// compared in constant time. The token is 32 random bytes in hex, generated
// on first start into <data-dir>/admin-token (mode 0600) and reused after,
// so local tools (xmppd user …) can read it and reach the running server.
//
// Errors are JSON {"error": "..."} with a message that names the problem;
// 400 for a malformed request, 401 without a valid token, 404 for an unknown
// user or path, 409 for a user that already exists.
//
// The package holds no state of its own: users live in auth's account store
// and sessions in c2s, reached through the small interfaces declared here.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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
	// List returns the localparts of every account.
	List(ctx context.Context) ([]string, error)
}

// A Pinger reports whether a dependency is reachable (storage.Backend).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options are the dependencies of a Server. Domain (a prepared domainpart,
// as JIDs are compared against it), Token and Accounts are required; a nil Sessions answers its endpoints with 503, a nil Ready
// reports ready, a nil Gatherer serves no /metrics.
type Options struct {
	Domain   string
	Token    string
	Accounts Accounts
	Sessions Sessions
	Ready    Pinger
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Now is the clock for debug deadlines; nil means time.Now.
	Now func() time.Time
}

// maxBody bounds a request body; the API takes small JSON objects only.
const maxBody = 64 << 10

// readyTimeout bounds the storage ping behind /ready.
const readyTimeout = 2 * time.Second

// A Server is the admin HTTP handler. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux
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
	s := &Server{opts: opts, mux: http.NewServeMux()}

	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /ready", s.ready)

	api := http.NewServeMux()
	api.Handle("/api/v1/users", methods{"GET": s.listUsers, "POST": s.addUser})
	api.Handle("/api/v1/users/{jid}", methods{"DELETE": s.deleteUser})
	api.Handle("/api/v1/users/{jid}/password", methods{"PUT": s.setPassword})
	api.Handle("/api/v1/sessions", methods{"GET": s.listSessions})
	api.Handle("/api/v1/sessions/debug", methods{"PUT": s.debugOn, "DELETE": s.debugOff})
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	s.mux.Handle("/api/", s.requireToken(api))
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

// requireToken passes only requests that carry the bearer token.
func (s *Server) requireToken(next http.Handler) http.Handler {
	want := []byte(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xmppd"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token (Authorization: Bearer <token from the data dir's admin-token>)")
			return
		}
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xmppd", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// methods dispatches on the request method and answers others with a JSON
// 405 that lists the allowed ones.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
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

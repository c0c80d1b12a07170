package admin

import (
	"fmt"
	"net/http"
	"time"
)

// Sessions is the live-session side of the API, implemented over the c2s
// server by cmd/xmppd.
type Sessions interface {
	// SetDebug switches raw-XML debug logging on until the given time for
	// the sessions of jid: every resource of a bare JID, or the one session
	// of a full JID. A zero until switches it off. An invalid JID is an
	// error. Sessions bound later for the same JID inherit the switch.
	SetDebug(jid string, until time.Time) error
	// List returns the bound sessions of a bare JID, none if offline.
	List(bare string) []SessionInfo
}

// SessionInfo describes one bound session.
type SessionInfo struct {
	JID        string    `json:"jid"`
	RemoteAddr string    `json:"remote_addr"`
	Since      time.Time `json:"since"`
	Available  bool      `json:"available"` // has sent initial presence
	Priority   int       `json:"priority"`
	Secure     bool      `json:"secure"` // TLS in place
	Debug      bool      `json:"debug"`  // debug switch on
}

// SessionsResponse is the body of GET /api/v1/sessions.
type SessionsResponse struct {
	Sessions []SessionInfo `json:"sessions"`
}

// DebugRequest is the body of PUT and DELETE /api/v1/sessions/debug.
// For is a Go duration ("15m", "1h"); empty means DefaultDebugFor.
type DebugRequest struct {
	JID string `json:"jid"`
	For string `json:"for,omitempty"`
}

// DebugResponse answers the debug switch; Until is absent when switched off.
type DebugResponse struct {
	JID   string     `json:"jid"`
	Debug bool       `json:"debug"`
	Until *time.Time `json:"until,omitempty"`
}

// Bounds of the debug switch: logging raw XML is costly and private, so it
// always ends by itself.
const (
	DefaultDebugFor = 15 * time.Minute
	MaxDebugFor     = 24 * time.Hour
)

func (s *Server) haveSessions(w http.ResponseWriter) bool {
	if s.opts.Sessions == nil {
		writeError(w, http.StatusServiceUnavailable, "sessions are not available on this server")
		return false
	}
	return true
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	if !s.haveSessions(w) {
		return
	}
	user := r.URL.Query().Get("user")
	if user == "" {
		writeError(w, http.StatusBadRequest, "user: missing query parameter, e.g. ?user=alice@"+s.opts.Domain)
		return
	}
	j, err := s.parseJID(user, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := s.opts.Sessions.List(j.String())
	if list == nil {
		list = []SessionInfo{}
	}
	writeJSON(w, http.StatusOK, SessionsResponse{Sessions: list})
}

func (s *Server) debugOn(w http.ResponseWriter, r *http.Request) {
	if !s.haveSessions(w) {
		return
	}
	var req DebugRequest
	if !decodeBody(w, r, &req) {
		return
	}
	j, err := s.parseJID(req.JID, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := DefaultDebugFor
	if req.For != "" {
		d, err = time.ParseDuration(req.For)
		if err != nil || d <= 0 || d > MaxDebugFor {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("for: %q must be a duration between 1s and %s, e.g. \"15m\"", req.For, MaxDebugFor))
			return
		}
	}
	until := s.opts.Now().Add(d).UTC().Truncate(time.Second)
	if err := s.opts.Sessions.SetDebug(j.String(), until); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.opts.Log.Info("admin api: session debug on", "jid", j.String(), "until", until)
	writeJSON(w, http.StatusOK, DebugResponse{JID: j.String(), Debug: true, Until: &until})
}

func (s *Server) debugOff(w http.ResponseWriter, r *http.Request) {
	if !s.haveSessions(w) {
		return
	}
	// DELETE bodies are unusual; the JID may also come as ?jid=.
	req := DebugRequest{JID: r.URL.Query().Get("jid")}
	if req.JID == "" && !decodeBody(w, r, &req) {
		return
	}
	j, err := s.parseJID(req.JID, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.opts.Sessions.SetDebug(j.String(), time.Time{}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.opts.Log.Info("admin api: session debug off", "jid", j.String())
	writeJSON(w, http.StatusOK, DebugResponse{JID: j.String(), Debug: false})
}

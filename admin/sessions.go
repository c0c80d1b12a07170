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
	// Kick closes the stream of the session of a full JID, or of every
	// session of a bare JID, with reason as the stream error's text, and
	// returns how many it closed.
	Kick(jid, reason string) (int, error)
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
	// Show and Status are those of the last available presence.
	Show   string `json:"show,omitempty"`
	Status string `json:"status,omitempty"`
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
	user := r.URL.Query().Get("user")
	if user == "" {
		writeError(w, http.StatusBadRequest, "user: missing query parameter, e.g. ?user=alice@"+s.opts.Domain)
		return
	}
	s.sessionsOf(w, r, user)
}

// userSessions is GET /api/v1/sessions/{jid}.
func (s *Server) userSessions(w http.ResponseWriter, r *http.Request) {
	s.sessionsOf(w, r, r.PathValue("jid"))
}

func (s *Server) sessionsOf(w http.ResponseWriter, r *http.Request, user string) {
	if !s.haveSessions(w) {
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

// KickRequest is the optional body of DELETE /api/v1/sessions/{jid}; the
// reason may also come as ?reason=.
type KickRequest struct {
	Reason string `json:"reason"`
}

// KickResponse answers a kick: how many sessions were closed.
type KickResponse struct {
	JID    string `json:"jid"`
	Closed int    `json:"closed"`
	Reason string `json:"reason"`
}

// DefaultKickReason is the stream error text when none is given.
const DefaultKickReason = "disconnected by an operator"

func (s *Server) kick(w http.ResponseWriter, r *http.Request) {
	if !s.haveSessions(w) {
		return
	}
	j, err := s.parseJID(r.PathValue("jid"), false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := KickRequest{Reason: r.URL.Query().Get("reason")}
	if req.Reason == "" && r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	if req.Reason == "" {
		req.Reason = DefaultKickReason
	}
	n, err := s.opts.Sessions.Kick(j.String(), req.Reason)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no session bound for %s", j))
		return
	}
	s.audit(r, "sessions kicked", "jid", j.String(), "closed", n, "reason", req.Reason)
	writeJSON(w, http.StatusOK, KickResponse{JID: j.String(), Closed: n, Reason: req.Reason})
}

// parseDebugFor parses the duration of a debug switch; "" is the default.
func parseDebugFor(v string) (time.Duration, error) {
	if v == "" {
		return DefaultDebugFor, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > MaxDebugFor {
		return 0, fmt.Errorf("for: %q must be a duration between 1s and %s, e.g. \"15m\"", v, MaxDebugFor)
	}
	return d, nil
}

// setDebug switches debug on for target (a bare or full JID) for the
// duration forText, or off when off is set, and answers.
func (s *Server) setDebug(w http.ResponseWriter, r *http.Request, target, forText string, off bool) {
	if !s.haveSessions(w) {
		return
	}
	j, err := s.parseJID(target, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if off {
		if err := s.opts.Sessions.SetDebug(j.String(), time.Time{}); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.audit(r, "session debug off", "jid", j.String())
		writeJSON(w, http.StatusOK, DebugResponse{JID: j.String(), Debug: false})
		return
	}
	d, err := parseDebugFor(forText)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until := s.opts.Now().Add(d).UTC().Truncate(time.Second)
	if err := s.opts.Sessions.SetDebug(j.String(), until); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.audit(r, "session debug on", "jid", j.String(), "until", until)
	writeJSON(w, http.StatusOK, DebugResponse{JID: j.String(), Debug: true, Until: &until})
}

// debugOn is PUT /api/v1/sessions/debug with a DebugRequest body.
func (s *Server) debugOn(w http.ResponseWriter, r *http.Request) {
	var req DebugRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.setDebug(w, r, req.JID, req.For, false)
}

// debugOff is DELETE /api/v1/sessions/debug, the JID in the body or ?jid=.
func (s *Server) debugOff(w http.ResponseWriter, r *http.Request) {
	// DELETE bodies are unusual; the JID may also come as ?jid=.
	req := DebugRequest{JID: r.URL.Query().Get("jid")}
	if req.JID == "" && !decodeBody(w, r, &req) {
		return
	}
	s.setDebug(w, r, req.JID, "", true)
}

// debugPathOn is PUT /api/v1/debug/{jid}?for=15m.
func (s *Server) debugPathOn(w http.ResponseWriter, r *http.Request) {
	s.setDebug(w, r, r.PathValue("jid"), r.URL.Query().Get("for"), false)
}

// debugPathOff is DELETE /api/v1/debug/{jid}.
func (s *Server) debugPathOff(w http.ResponseWriter, r *http.Request) {
	s.setDebug(w, r, r.PathValue("jid"), "", true)
}

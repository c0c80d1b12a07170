package admin

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ServerStatus is the running server's view of itself; cmd/xmppd
// implements it over c2s and muc.
type ServerStatus interface {
	Status() Status
}

// Status is what the server reports about itself. Storage health is not
// part of it: the API measures that itself, through Options.Ready.
type Status struct {
	Version string
	Started time.Time
	// Sessions counts the bound resources; Rooms the MUC rooms that exist.
	Sessions int
	Rooms    int
}

// StatusResponse is the body of GET /api/v1/status. It is 200 whenever
// the server answers, unhealthy storage included: Storage says which.
type StatusResponse struct {
	Domain        string        `json:"domain"`
	Version       string        `json:"version"`
	Started       time.Time     `json:"started"`
	UptimeSeconds int64         `json:"uptime_seconds"`
	Sessions      int           `json:"sessions"`
	Rooms         int           `json:"rooms"`
	Storage       StorageHealth `json:"storage"`
}

// StorageHealth is the outcome of one storage ping (bounded like /ready).
type StorageHealth struct {
	OK bool `json:"ok"`
	// PingMillis is how long the ping took, to the microsecond.
	PingMillis float64 `json:"ping_ms"`
	Error      string  `json:"error,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if s.opts.Status == nil {
		writeError(w, http.StatusServiceUnavailable, "status is not available on this server")
		return
	}
	st := s.opts.Status.Status()
	resp := StatusResponse{
		Domain: s.opts.Domain, Version: st.Version, Started: st.Started.UTC().Truncate(time.Second),
		UptimeSeconds: int64(s.opts.Now().Sub(st.Started) / time.Second),
		Sessions:      st.Sessions, Rooms: st.Rooms,
		Storage: StorageHealth{OK: true},
	}
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		start := s.opts.Now()
		err := s.opts.Ready.Ping(ctx)
		cancel()
		resp.Storage.PingMillis = float64(s.opts.Now().Sub(start).Microseconds()) / 1000
		if err != nil {
			resp.Storage = StorageHealth{PingMillis: resp.Storage.PingMillis, Error: err.Error()}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// Status calls GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (StatusResponse, error) {
	var resp StatusResponse
	err := c.do(ctx, "GET", "/api/v1/status", nil, &resp)
	return resp, err
}

// Sessions calls GET /api/v1/sessions/{jid}: the bound sessions of a bare
// JID, none when it is offline.
func (c *Client) Sessions(ctx context.Context, bare string) ([]SessionInfo, error) {
	var resp SessionsResponse
	if err := c.do(ctx, "GET", "/api/v1/sessions/"+url.PathEscape(bare), nil, &resp); err != nil {
		return nil, err
	}
	return resp.Sessions, nil
}

// Kick calls DELETE /api/v1/sessions/{jid}: it closes the session of a
// full JID, or every session of a bare one, with reason as the stream
// error's text ("" is DefaultKickReason). A 404 APIError when none is
// bound.
func (c *Client) Kick(ctx context.Context, jid, reason string) (KickResponse, error) {
	var resp KickResponse
	path := "/api/v1/sessions/" + url.PathEscape(jid)
	if reason != "" {
		path += "?reason=" + url.QueryEscape(reason)
	}
	err := c.do(ctx, "DELETE", path, nil, &resp)
	return resp, err
}

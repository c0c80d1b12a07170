package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// A Reloader does what SIGHUP does; cmd/xmppd implements it.
type Reloader interface {
	// Reload re-reads each part of the configuration that can change at
	// runtime (certificate, API tokens, feature toggles, roster-note
	// keys) and reports each outcome. The parts are independent: one
	// that fails keeps its previous state and the others still reload.
	Reload() []ReloadPart
}

// ReloadPart is the outcome of reloading one part.
type ReloadPart struct {
	Part  string `json:"part"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ReloadResponse is the body of POST /api/v1/reload: 200 when every part
// reloaded, 422 with Error set when some did not.
type ReloadResponse struct {
	Parts []ReloadPart `json:"parts"`
	Error string       `json:"error,omitempty"`
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		writeError(w, http.StatusServiceUnavailable, "reload is not available on this server")
		return
	}
	resp := ReloadResponse{Parts: nonNil(s.opts.Reload.Reload())}
	var failed []string
	for _, p := range resp.Parts {
		if !p.OK {
			failed = append(failed, p.Part+": "+p.Error)
		}
	}
	s.audit(r, "configuration reloaded", "parts", len(resp.Parts), "failed", len(failed))
	if failed != nil {
		resp.Error = "reload incomplete, the failed parts keep their previous state: " + strings.Join(failed, "; ")
		writeJSON(w, http.StatusUnprocessableEntity, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Reload calls POST /api/v1/reload. When some part failed it returns the
// parts with a 422 APIError.
func (c *Client) Reload(ctx context.Context) (ReloadResponse, error) {
	var resp ReloadResponse
	err := c.do(ctx, "POST", "/api/v1/reload", nil, &resp)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity {
		// The parts came with the error; an answer that does not decode
		// leaves them out and the error stands as it is.
		_ = json.Unmarshal(apiErr.Body, &resp)
	}
	return resp, err
}

package admin

import (
	"net/http"

	"github.com/xmppd/xmppd/toggles"
)

// Toggles are the feature toggles in force; cmd/xmppd implements Reload by
// re-reading the configuration file (as SIGHUP does).
type Toggles interface {
	List() []toggles.Info
	// Reload puts the toggles of the configuration file in force; on
	// error (a file that does not parse or validate) the old ones stay.
	Reload() error
}

// TogglesResponse is the body of GET /api/v1/toggles and of a reload.
type TogglesResponse struct {
	Toggles []toggles.Info `json:"toggles"`
}

func (s *Server) haveToggles(w http.ResponseWriter) bool {
	if s.opts.Toggles == nil {
		writeError(w, http.StatusServiceUnavailable, "feature toggles are not available on this server")
		return false
	}
	return true
}

func (s *Server) listToggles(w http.ResponseWriter, r *http.Request) {
	if !s.haveToggles(w) {
		return
	}
	writeJSON(w, http.StatusOK, TogglesResponse{Toggles: nonNil(s.opts.Toggles.List())})
}

func (s *Server) reloadToggles(w http.ResponseWriter, r *http.Request) {
	if !s.haveToggles(w) {
		return
	}
	if err := s.opts.Toggles.Reload(); err != nil {
		// The file is the operator's to fix; the old toggles stay.
		writeError(w, http.StatusUnprocessableEntity, "reload failed, the previous toggles stay in force: "+err.Error())
		return
	}
	list := nonNil(s.opts.Toggles.List())
	s.audit(r, "toggles reloaded", "toggles", len(list))
	writeJSON(w, http.StatusOK, TogglesResponse{Toggles: list})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

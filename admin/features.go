package admin

import (
	"net/http"

	"github.com/xmppd/xmppd/toggles"
)

// Features is the runtime view of the feature toggles behind
// /api/v1/features; cmd/xmppd implements it over a toggles.Set and the
// list of toggles the server consults.
type Features interface {
	// Features lists every toggle the server consults or the
	// configuration names, with its state.
	Features() []toggles.Feature
	// Override puts t in force for the toggle name until the next reload
	// of the configuration file; an invalid name or toggle is an error.
	Override(name string, t toggles.Toggle) error
}

// FeaturesResponse is the body of GET /api/v1/features.
type FeaturesResponse struct {
	Features []toggles.Feature `json:"features"`
}

// FeatureRequest is the body of PUT /api/v1/features/{name}: the fields
// given replace those in force, the others stay (for a toggle not yet
// configured they start off: not enabled, no users, 0 percent).
type FeatureRequest struct {
	Enabled *bool     `json:"enabled"`
	Users   *[]string `json:"users"`
	Percent *int      `json:"percent"`
}

func (s *Server) haveFeatures(w http.ResponseWriter) bool {
	if s.opts.Features == nil {
		writeError(w, http.StatusServiceUnavailable, "feature toggles are not available on this server")
		return false
	}
	return true
}

func (s *Server) listFeatures(w http.ResponseWriter, r *http.Request) {
	if !s.haveFeatures(w) {
		return
	}
	writeJSON(w, http.StatusOK, FeaturesResponse{Features: nonNil(s.opts.Features.Features())})
}

// feature finds name in the list; ok is false when neither consulted nor
// configured.
func (s *Server) feature(name string) (toggles.Feature, bool) {
	for _, f := range s.opts.Features.Features() {
		if f.Name == name {
			return f, true
		}
	}
	return toggles.Feature{}, false
}

func (s *Server) setFeature(w http.ResponseWriter, r *http.Request) {
	if !s.haveFeatures(w) {
		return
	}
	name := r.PathValue("name")
	var req FeatureRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Enabled == nil && req.Users == nil && req.Percent == nil {
		writeError(w, http.StatusBadRequest, `nothing to set: give enabled, users or percent, e.g. {"percent": 20}`)
		return
	}
	var t toggles.Toggle
	if f, ok := s.feature(name); ok && f.Configured {
		t = f.Toggle
	}
	if req.Enabled != nil {
		t.Enabled = *req.Enabled
	}
	if req.Users != nil {
		t.Users = *req.Users
	}
	if req.Percent != nil {
		t.Percent = *req.Percent
	}
	if err := s.opts.Features.Override(name, t); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f, _ := s.feature(name)
	s.audit(r, "feature toggle set until the next reload", "toggle", name, "enabled", t.Enabled, "users", len(t.Users), "percent", t.Percent)
	writeJSON(w, http.StatusOK, f)
}

package admin

import (
	"errors"
	"fmt"
	"net/http"
)

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name  string `json:"name"`
	Scope Scope  `json:"scope"`
}

// NewTokenResponse answers POST /api/v1/tokens; Token is the secret, shown
// this once.
type NewTokenResponse struct {
	TokenInfo
	Token string `json:"token"`
}

// RevokeResponse answers DELETE /api/v1/tokens/{name}.
type RevokeResponse struct {
	Name    string `json:"name"`
	Revoked bool   `json:"revoked"`
}

// TokensResponse is the body of GET /api/v1/tokens.
type TokensResponse struct {
	Tokens []TokenInfo `json:"tokens"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, TokensResponse{Tokens: s.opts.Tokens.List()})
}

func (s *Server) addToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Scope == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("scope: missing, want %q or %q", ScopeRead, ScopeAdmin))
		return
	}
	secret, info, err := s.opts.Tokens.Add(req.Name, req.Scope)
	switch {
	case errors.Is(err, ErrTokenExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("token %q already exists; revoke it first", req.Name))
		return
	case errors.Is(err, ErrBadToken):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.answer(w, r, err)
		return
	}
	s.audit(r, "token added", "name", info.Name, "scope", info.Scope)
	writeJSON(w, http.StatusCreated, NewTokenResponse{TokenInfo: info, Token: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.opts.Tokens.Revoke(name)
	switch {
	case errors.Is(err, ErrNoSuchToken):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such token %q", name))
		return
	case errors.Is(err, ErrBuiltinToken):
		writeError(w, http.StatusBadRequest, "the built-in admin token cannot be revoked; delete admin-token in the data directory and restart to replace it")
		return
	case err != nil:
		s.answer(w, r, err)
		return
	}
	s.audit(r, "token revoked", "name", name)
	writeJSON(w, http.StatusOK, RevokeResponse{Name: name, Revoked: true})
}

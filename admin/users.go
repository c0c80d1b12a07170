package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
)

// UserRequest is the body of POST /api/v1/users.
type UserRequest struct {
	JID      string `json:"jid"`
	Password string `json:"password"`
}

// PasswordRequest is the body of PUT /api/v1/users/{jid}/password.
type PasswordRequest struct {
	Password string `json:"password"`
}

// UsersResponse is the body of GET /api/v1/users: bare JIDs, sorted.
type UsersResponse struct {
	Users []string `json:"users"`
}

// UserResponse answers a successful change to one user.
type UserResponse struct {
	JID string `json:"jid"`
}

// CheckJID parses s as a JID of domain (a prepared domainpart): it must
// have a localpart and, with bare set, no resource. The errors say what is
// wrong in terms an operator can act on.
func CheckJID(s, domain string, bare bool) (jid.JID, error) {
	if s == "" {
		return jid.JID{}, errors.New("jid: missing")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, fmt.Errorf("jid %q: %v", s, err)
	}
	if j.Localpart() == "" {
		return jid.JID{}, fmt.Errorf("jid %q: must be user@%s, not a server JID", s, domain)
	}
	if bare && j.Resourcepart() != "" {
		return jid.JID{}, fmt.Errorf("jid %q: must be a bare JID (no /resource)", s)
	}
	if j.Domainpart() != domain {
		return jid.JID{}, fmt.Errorf("jid %q: domain %s is not served here (this server serves %s)", s, j.Domainpart(), domain)
	}
	return j, nil
}

func (s *Server) parseJID(s0 string, bare bool) (jid.JID, error) {
	return CheckJID(s0, s.opts.Domain, bare)
}

// accountError answers an error from Accounts with its status.
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, j jid.JID, err error) {
	switch {
	case errors.Is(err, auth.ErrExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("user %s already exists", j))
	case errors.Is(err, auth.ErrNoSuchUser):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such user %s", j))
	case errors.Is(err, auth.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		s.opts.Log.Error("admin api: account operation failed", "method", r.Method, "path", r.URL.Path, "jid", j.String(), "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	names, err := s.opts.Accounts.List(r.Context())
	if err != nil {
		s.opts.Log.Error("admin api: list users failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	users := make([]string, len(names))
	for i, n := range names {
		users[i] = n + "@" + s.opts.Domain
	}
	sort.Strings(users)
	writeJSON(w, http.StatusOK, UsersResponse{Users: users})
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if !decodeBody(w, r, &req) {
		return
	}
	j, err := s.parseJID(req.JID, true)
	if err == nil && req.Password == "" {
		err = errors.New("password: missing")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.changeUser(w, r, j, http.StatusCreated, "user added", func(ctx context.Context, user string) error {
		return s.opts.Accounts.Add(ctx, user, req.Password)
	})
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	j, ok := s.pathUser(w, r)
	if !ok {
		return
	}
	var req PasswordRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Password == "" {
		writeError(w, http.StatusBadRequest, "password: missing")
		return
	}
	s.changeUser(w, r, j, http.StatusOK, "password changed", func(ctx context.Context, user string) error {
		return s.opts.Accounts.SetPassword(ctx, user, req.Password)
	})
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	j, ok := s.pathUser(w, r)
	if !ok {
		return
	}
	s.changeUser(w, r, j, http.StatusOK, "user deleted", s.opts.Accounts.Delete)
}

// changeUser applies op to the account of j and answers with status and
// the JID, or with the error's status.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, j jid.JID, status int, what string, op func(ctx context.Context, user string) error) {
	if err := op(r.Context(), j.Localpart()); err != nil {
		s.accountError(w, r, j, err)
		return
	}
	s.audit(r, what, "jid", j.String())
	writeJSON(w, status, UserResponse{JID: j.String()})
}

// pathUser parses the {jid} of the path; on failure it has answered 400.
func (s *Server) pathUser(w http.ResponseWriter, r *http.Request) (jid.JID, bool) {
	j, err := s.parseJID(r.PathValue("jid"), true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return jid.JID{}, false
	}
	return j, true
}

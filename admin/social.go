package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"mellium.im/xmpp/jid"
)

// Rosters reads users' rosters; cmd/xmppd adapts the roster feature. user
// is a normalised bare JID; a user without a roster has no contacts. The
// Contact type has no field for a roster note, so none can leak here.
type Rosters interface {
	Contacts(ctx context.Context, user string) ([]Contact, error)
}

// A Contact is one item of a user's roster as the API shows it: the
// subscription state from the owner's side (RFC 6121 §2.1.2).
type Contact struct {
	JID    string   `json:"jid"`
	Name   string   `json:"name,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Subscription is none, to (the owner sees the contact's presence),
	// from (the contact sees the owner's) or both.
	Subscription string `json:"subscription"`
	// PendingOut: the owner asked to see the contact's presence and the
	// contact has not answered. PendingIn: the other way round.
	PendingOut bool `json:"pending_out"`
	PendingIn  bool `json:"pending_in"`
	// Listed: the contact is on the owner's roster (not only a request).
	Listed bool `json:"listed"`
}

// mutual reports a subscription in both directions.
func (c Contact) mutual() bool { return c.Subscription == "both" }

// ContactsResponse is the body of GET /api/v1/users/{jid}/roster and
// /friends.
type ContactsResponse struct {
	User     string    `json:"user"`
	Contacts []Contact `json:"contacts"`
}

// Friendship is the answer of a friendship check between User and Contact:
// Friends when each is subscribed to the other's presence. UserSide is the
// contact's item on the user's roster, ContactSide the user's item on the
// contact's roster; Subscription "none" with Listed false when absent.
type Friendship struct {
	User        string  `json:"user"`
	Contact     string  `json:"contact"`
	Friends     bool    `json:"friends"`
	UserSide    Contact `json:"user_side"`
	ContactSide Contact `json:"contact_side"`
}

// FriendshipPair is one pair of a batch check.
type FriendshipPair struct {
	User    string `json:"user"`
	Contact string `json:"contact"`
}

// FriendshipBatchRequest is the body of POST /api/v1/friendships/check.
type FriendshipBatchRequest struct {
	Pairs []FriendshipPair `json:"pairs"`
}

// FriendshipResult is one answer of a batch: the Friendship, or Error
// (with Status, the code the single check would have answered) when the
// pair could not be checked.
type FriendshipResult struct {
	Friendship
	Error  string `json:"error,omitempty"`
	Status int    `json:"status"`
}

// FriendshipBatchResponse answers a batch check, results in request order.
type FriendshipBatchResponse struct {
	Results []FriendshipResult `json:"results"`
}

// MaxBatchPairs bounds one batch check.
const MaxBatchPairs = 1000

// A httpError is an answer the handler has decided on.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// answer writes err: its own status for an httpError, 500 otherwise.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.status, he.msg)
		return
	}
	s.opts.Log.Error("admin api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// existingUser parses s as a bare JID of this domain whose account exists:
// a 400 httpError for a malformed JID, 404 for an unknown user.
func (s *Server) existingUser(ctx context.Context, s0 string) (jid.JID, error) {
	j, err := s.parseJID(s0, true)
	if err != nil {
		return jid.JID{}, &httpError{http.StatusBadRequest, err.Error()}
	}
	ok, err := s.opts.Accounts.Exists(ctx, j.Localpart())
	if err != nil {
		return jid.JID{}, fmt.Errorf("account %s: %w", j, err)
	}
	if !ok {
		return jid.JID{}, &httpError{http.StatusNotFound, fmt.Sprintf("no such user %s", j)}
	}
	return j, nil
}

func (s *Server) haveRosters(w http.ResponseWriter) bool {
	if s.opts.Rosters == nil {
		writeError(w, http.StatusServiceUnavailable, "rosters are not available on this server")
		return false
	}
	return true
}

// contactsCache loads each user's roster at most once per request.
type contactsCache struct {
	s    *Server
	docs map[string][]Contact
}

func (c *contactsCache) item(ctx context.Context, owner, contact string) (Contact, error) {
	list, ok := c.docs[owner]
	if !ok {
		var err error
		if list, err = c.s.opts.Rosters.Contacts(ctx, owner); err != nil {
			return Contact{}, fmt.Errorf("roster of %s: %w", owner, err)
		}
		c.docs[owner] = list
	}
	for _, it := range list {
		if it.JID == contact {
			return it, nil
		}
	}
	return Contact{JID: contact, Subscription: "none"}, nil
}

// check answers one friendship check.
func (s *Server) check(ctx context.Context, cache *contactsCache, user, contact string) (Friendship, error) {
	a, err := s.existingUser(ctx, user)
	if err != nil {
		return Friendship{}, err
	}
	b, err := s.existingUser(ctx, contact)
	if err != nil {
		return Friendship{}, err
	}
	if a.Equal(b) {
		return Friendship{}, &httpError{http.StatusBadRequest, fmt.Sprintf("user and contact are both %s", a)}
	}
	f := Friendship{User: a.String(), Contact: b.String()}
	if f.UserSide, err = cache.item(ctx, f.User, f.Contact); err != nil {
		return Friendship{}, err
	}
	if f.ContactSide, err = cache.item(ctx, f.Contact, f.User); err != nil {
		return Friendship{}, err
	}
	f.Friends = f.UserSide.mutual() && f.ContactSide.mutual()
	return f, nil
}

func (s *Server) friendship(w http.ResponseWriter, r *http.Request) {
	if !s.haveRosters(w) {
		return
	}
	cache := &contactsCache{s: s, docs: map[string][]Contact{}}
	f, err := s.check(r.Context(), cache, r.PathValue("jid"), r.PathValue("other"))
	if err != nil {
		s.answer(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) checkFriendships(w http.ResponseWriter, r *http.Request) {
	if !s.haveRosters(w) {
		return
	}
	var req FriendshipBatchRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch n := len(req.Pairs); {
	case n == 0:
		writeError(w, http.StatusBadRequest, `pairs: missing or empty, want [{"user": "a@`+s.opts.Domain+`", "contact": "b@`+s.opts.Domain+`"}, ...]`)
		return
	case n > MaxBatchPairs:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("pairs: %d pairs, at most %d per request", n, MaxBatchPairs))
		return
	}
	cache := &contactsCache{s: s, docs: map[string][]Contact{}}
	resp := FriendshipBatchResponse{Results: make([]FriendshipResult, len(req.Pairs))}
	for i, p := range req.Pairs {
		f, err := s.check(r.Context(), cache, p.User, p.Contact)
		var he *httpError
		switch {
		case err == nil:
			resp.Results[i] = FriendshipResult{Friendship: f, Status: http.StatusOK}
		case errors.As(err, &he):
			resp.Results[i] = FriendshipResult{Friendship: Friendship{User: p.User, Contact: p.Contact}, Error: he.msg, Status: he.status}
		default: // storage failing: the whole batch fails
			s.answer(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// contacts answers the roster of the path's user, filtered by keep.
func (s *Server) contacts(w http.ResponseWriter, r *http.Request, keep func(Contact) bool) {
	if !s.haveRosters(w) {
		return
	}
	u, err := s.existingUser(r.Context(), r.PathValue("jid"))
	if err != nil {
		s.answer(w, r, err)
		return
	}
	list, err := s.opts.Rosters.Contacts(r.Context(), u.String())
	if err != nil {
		s.answer(w, r, fmt.Errorf("roster of %s: %w", u, err))
		return
	}
	out := []Contact{}
	for _, c := range list {
		if keep(c) {
			out = append(out, c)
		}
	}
	writeJSON(w, http.StatusOK, ContactsResponse{User: u.String(), Contacts: out})
}

func (s *Server) friends(w http.ResponseWriter, r *http.Request) { s.contacts(w, r, Contact.mutual) }

func (s *Server) roster(w http.ResponseWriter, r *http.Request) {
	s.contacts(w, r, func(c Contact) bool { return c.Listed })
}

// PresenceResponse is the body of GET /api/v1/users/{jid}/presence:
// Online when a session is bound, Available when one of them has sent
// available presence, and each bound resource.
type PresenceResponse struct {
	User      string         `json:"user"`
	Online    bool           `json:"online"`
	Available bool           `json:"available"`
	Resources []ResourceInfo `json:"resources"`
}

// ResourceInfo is the presence of one bound resource (RFC 6121 §4.7):
// Show is "" (online), away, chat, dnd or xa.
type ResourceInfo struct {
	JID       string `json:"jid"`
	Available bool   `json:"available"`
	Priority  int    `json:"priority"`
	Show      string `json:"show,omitempty"`
	Status    string `json:"status,omitempty"`
}

func (s *Server) presence(w http.ResponseWriter, r *http.Request) {
	if !s.haveSessions(w) {
		return
	}
	u, err := s.existingUser(r.Context(), r.PathValue("jid"))
	if err != nil {
		s.answer(w, r, err)
		return
	}
	resp := PresenceResponse{User: u.String(), Resources: []ResourceInfo{}}
	for _, si := range s.opts.Sessions.List(u.String()) {
		resp.Online = true
		resp.Available = resp.Available || si.Available
		resp.Resources = append(resp.Resources, ResourceInfo{
			JID: si.JID, Available: si.Available, Priority: si.Priority, Show: si.Show, Status: si.Status,
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

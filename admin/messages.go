package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/xmppd/xmppd/stanza"
)

// A Router delivers a stanza as the server would deliver one a client sent
// (RFC 6121 §8: to the right resources, to offline storage, or an error
// back to its 'from'); cmd/xmppd adapts c2s.Server.Route.
type Router interface {
	Route(ctx context.Context, st *stanza.Element)
}

// MessageRequest is the body of POST /api/v1/messages. To is a local
// user's bare or full JID; From, when set, is a local user's JID (bare or
// full) that the message appears to come from, else the server's domain.
// Type is chat (the default), normal or headline. Body or Subject must be
// given.
type MessageRequest struct {
	To      string `json:"to"`
	From    string `json:"from,omitempty"`
	Type    string `json:"type,omitempty"`
	Body    string `json:"body,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// MessageResponse answers a message accepted for routing.
type MessageResponse struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
}

// MaxMessageText bounds body plus subject, well below the stanza limit.
const MaxMessageText = 32 << 10

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Router == nil {
		writeError(w, http.StatusServiceUnavailable, "message routing is not available on this server")
		return
	}
	var req MessageRequest
	if !decodeBody(w, r, &req) {
		return
	}
	msg, err := s.buildMessage(r.Context(), req)
	if err != nil {
		s.answer(w, r, err)
		return
	}
	s.opts.Router.Route(r.Context(), msg)
	resp := MessageResponse{ID: msg.Get("id"), From: msg.Get("from"), To: msg.Get("to"), Type: msg.Get("type")}
	s.audit(r, "message sent", "from", resp.From, "to", resp.To, "type", resp.Type, "stanza_id", resp.ID)
	writeJSON(w, http.StatusAccepted, resp)
}

// buildMessage checks req and returns the stanza; errors are httpErrors
// for what the caller got wrong.
func (s *Server) buildMessage(ctx context.Context, req MessageRequest) (*stanza.Element, error) {
	bad := func(format string, args ...any) error {
		return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
	}
	if req.Type == "" {
		req.Type = "chat"
	}
	switch req.Type {
	case "chat", "normal", "headline":
	default:
		return nil, bad("type: %q must be chat, normal or headline", req.Type)
	}
	if req.Body == "" && req.Subject == "" {
		return nil, bad("body: missing (a message needs a body or a subject)")
	}
	if !utf8.ValidString(req.Body) || !utf8.ValidString(req.Subject) {
		return nil, bad("body: not valid UTF-8")
	}
	if len(req.Body)+len(req.Subject) > MaxMessageText {
		return nil, bad("body: %d bytes of body and subject, at most %d", len(req.Body)+len(req.Subject), MaxMessageText)
	}
	for _, t := range []string{req.Body, req.Subject} {
		for _, c := range t {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0xFFFE || c == 0xFFFF {
				return nil, bad("body: character %U is not allowed in XML", c)
			}
		}
	}
	to, err := s.localJID(ctx, "to", req.To)
	if err != nil {
		return nil, err
	}
	from := s.opts.Domain
	if req.From != "" {
		f, err := s.localJID(ctx, "from", req.From)
		if err != nil {
			return nil, err
		}
		from = f
	}
	var id [8]byte
	rand.Read(id[:])
	msg := stanza.New(stanza.NSClient, "message", "from", from, "to", to, "type", req.Type, "id", "api-"+hex.EncodeToString(id[:]))
	if req.Subject != "" {
		msg.Append(stanza.New(stanza.NSClient, "subject").SetText(req.Subject))
	}
	if req.Body != "" {
		msg.Append(stanza.New(stanza.NSClient, "body").SetText(req.Body))
	}
	return msg, nil
}

// localJID checks that v (field key) is the bare or full JID of an existing
// local user and returns it normalised.
func (s *Server) localJID(ctx context.Context, key, v string) (string, error) {
	if v == "" {
		return "", &httpError{http.StatusBadRequest, key + ": missing"}
	}
	j, err := s.parseJID(v, false)
	if err != nil {
		return "", &httpError{http.StatusBadRequest, key + ": " + err.Error()}
	}
	if _, err := s.existingUser(ctx, j.Bare().String()); err != nil {
		return "", err
	}
	return j.String(), nil
}

package c2s

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/stanza"
)

// In-band registration (XEP-0077). Before authentication it creates
// accounts, and only when the operator switched it on; after
// authentication it changes the password or cancels the account, which
// is always allowed for one's own account.

// handleRegistration serves a jabber:iq:register IQ on an unauthenticated
// (but TLS-secured) stream.
func (s *Session) handleRegistration(iq *stanza.Element) error {
	ctx := context.Background()
	q := iq.Child(nsIQRegister, "query")
	reply := func(st *stanza.Element) error { return s.write(st.AppendXML(nil, stanza.NSClient)) }
	switch {
	case q == nil || iq.Get("id") == "" || len(iq.Elements()) != 1:
		return &streamError{cond: streamNotAuthorized, text: "authenticate or register first"}
	case iq.Get("type") == "get":
		res := stanza.New(stanza.NSClient, "iq", "type", "result", "id", iq.Get("id"))
		res.Append(stanza.New(nsIQRegister, "query").Append(
			stanza.New(nsIQRegister, "instructions").SetText("Choose a username and password."),
			stanza.New(nsIQRegister, "username"),
			stanza.New(nsIQRegister, "password"),
		))
		return reply(res)
	case iq.Get("type") == "set":
		if s.srv.thr != nil {
			// Registration attempts count like authentication attempts, so
			// one address cannot mass-create accounts at full speed.
			s.srv.thr.Failure(s.remoteIP)
		}
		user, pass := q.ChildText(nsIQRegister, "username"), q.ChildText(nsIQRegister, "password")
		if q.Child(nsIQRegister, "remove") != nil {
			return reply(ErrorReply(iq, NotAuthorized("authenticate to remove an account"), ""))
		}
		if user == "" || pass == "" {
			return reply(ErrorReply(iq, NotAcceptable("username and password are required"), ""))
		}
		if s.srv.regGate != nil {
			if j, err := jid.New(user, s.srv.domain.String(), ""); err == nil && !s.srv.regGate(j) {
				return reply(ErrorReply(iq, NotAllowed("registration is not open"), ""))
			}
		}
		err := s.srv.acc.Add(ctx, user, pass)
		switch {
		case errors.Is(err, auth.ErrExists):
			return reply(ErrorReply(iq, Conflict("the username is taken"), ""))
		case errors.Is(err, auth.ErrInvalid):
			return reply(ErrorReply(iq, NotAcceptable("invalid username or password"), ""))
		case err != nil:
			s.log.Error("registration failed", "err", err)
			return reply(ErrorReply(iq, InternalServerError(""), ""))
		}
		s.log.Info("account registered in-band", "user", user)
		return reply(stanza.New(stanza.NSClient, "iq", "type", "result", "id", iq.Get("id")))
	}
	return reply(ErrorReply(iq, BadRequest(""), ""))
}

// accountRegistration serves jabber:iq:register for an authenticated user:
// get says the account is registered; set changes the password or, with
// <remove/>, deletes the account and closes the stream.
func (s *Server) accountRegistration(ctx context.Context, iq *IQ) (*stanza.Element, error) {
	user := iq.From.Localpart()
	switch iq.Type {
	case "get":
		return stanza.New(nsIQRegister, "query").Append(
			stanza.New(nsIQRegister, "registered"),
			stanza.New(nsIQRegister, "username").SetText(user),
		), nil
	case "set":
		if iq.Payload.Child(nsIQRegister, "remove") != nil {
			if err := s.acc.Delete(ctx, user); err != nil {
				return nil, err
			}
			iq.Session.log.Info("account removed in-band")
			s.accountRemoved(iq.From.Bare().String())
			return nil, nil
		}
		name, pass := iq.Payload.ChildText(nsIQRegister, "username"), iq.Payload.ChildText(nsIQRegister, "password")
		if pass == "" || (name != "" && name != user) {
			return nil, BadRequest("give your own username and a new password")
		}
		if err := s.acc.SetPassword(ctx, user, pass); err != nil {
			if errors.Is(err, auth.ErrInvalid) {
				return nil, NotAcceptable("invalid password")
			}
			return nil, err
		}
		return nil, nil
	}
	return nil, BadRequest("")
}

package roster

// A State is one side of a presence subscription: what the owner of a
// roster knows about one contact (RFC 6121 Appendix A). To and From are the
// two directions of the subscription ("to": the owner receives the
// contact's presence; "from": the contact receives the owner's);
// PendingOut is the owner's unanswered request (ask='subscribe'),
// PendingIn the contact's unanswered request, and Approved a pre-approval
// of a request the contact has not sent yet (§3.4).
type State struct {
	To, From   bool
	PendingOut bool
	PendingIn  bool
	Approved   bool
}

// Subscription returns the 'subscription' attribute value of s.
func (s State) Subscription() string {
	switch {
	case s.To && s.From:
		return "both"
	case s.To:
		return "to"
	case s.From:
		return "from"
	}
	return "none"
}

// parseSubscription sets To and From from a stored 'subscription' value.
func (s *State) parseSubscription(v string) {
	s.To = v == "to" || v == "both"
	s.From = v == "from" || v == "both"
}

// The outbound transitions run on the sender's roster when its client
// sends a subscription stanza (Appendix A.2); route says whether the
// stanza goes on to the contact.

// OutSubscribe applies an outbound subscribe (§3.1.2, A.2.1). The request
// is always routed: the contact's server answers it even when nothing
// changes here.
func (s State) OutSubscribe() (next State, route bool) {
	if !s.To {
		s.PendingOut = true
	}
	return s, true
}

// OutUnsubscribe applies an outbound unsubscribe (§3.3.2, A.2.2); always
// routed.
func (s State) OutUnsubscribe() (next State, route bool) {
	s.To, s.PendingOut = false, false
	return s, true
}

// OutSubscribed applies an outbound subscribed (§3.1.5, A.2.3): it
// approves a pending request, or pre-approves one (§3.4) that is not
// routed. Without a change nothing is routed.
func (s State) OutSubscribed() (next State, route bool) {
	switch {
	case s.PendingIn:
		s.From, s.PendingIn, s.Approved = true, false, false
		return s, true
	case !s.From:
		s.Approved = true
	}
	return s, false
}

// OutUnsubscribed applies an outbound unsubscribed (§3.2.2, A.2.4): it
// cancels the contact's subscription, denies its pending request, or
// withdraws a pre-approval. It is routed only when the contact had a
// subscription or a request to lose.
func (s State) OutUnsubscribed() (next State, route bool) {
	route = s.From || s.PendingIn
	s.From, s.PendingIn, s.Approved = false, false, false
	return s, route
}

// The inbound transitions run on the recipient's roster when a
// subscription stanza arrives from a contact (Appendix A.3); deliver says
// whether the recipient's clients see it, autoReply whether the server
// answers 'subscribed' on the recipient's behalf.

// InSubscribe applies an inbound subscribe (§3.1.3, A.3.1). An existing
// subscription or a pre-approval is answered by the server; a new request
// is remembered (delivered now and at each login until answered).
func (s State) InSubscribe() (next State, deliver, autoReply bool) {
	switch {
	case s.From:
		return s, false, true
	case s.Approved:
		s.From, s.Approved, s.PendingIn = true, false, false
		return s, false, true
	case s.PendingIn:
		return s, false, false
	}
	s.PendingIn = true
	return s, true, false
}

// InUnsubscribe applies an inbound unsubscribe (§3.3.3, A.3.2): the
// contact no longer wants the recipient's presence.
func (s State) InUnsubscribe() (next State, deliver bool) {
	if !s.From && !s.PendingIn {
		return s, false
	}
	s.From, s.PendingIn = false, false
	return s, true
}

// InSubscribed applies an inbound subscribed (§3.1.6, A.3.3): the contact
// approved the recipient's request. Without a pending request it is
// ignored.
func (s State) InSubscribed() (next State, deliver bool) {
	if !s.PendingOut {
		return s, false
	}
	s.To, s.PendingOut = true, false
	return s, true
}

// InUnsubscribed applies an inbound unsubscribed (§3.2.3, A.3.4): the
// contact cancelled or denied the recipient's subscription.
func (s State) InUnsubscribed() (next State, deliver bool) {
	if !s.To && !s.PendingOut {
		return s, false
	}
	s.To, s.PendingOut = false, false
	return s, true
}

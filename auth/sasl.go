package auth

import (
	"context"

	"mellium.im/xmpp/jid"
)

// SASL mechanism names, strongest first.
const (
	MechSCRAMSHA256 = "SCRAM-SHA-256"
	MechSCRAMSHA1   = "SCRAM-SHA-1"
	MechPLAIN       = "PLAIN"
)

// maxMessage bounds one client message of any mechanism. It leaves room
// for a 1023-byte localpart and authzid fully escaped (RFC 7622 §3.3).
const maxMessage = 8 << 10

// A Negotiation is one SASL exchange with one client. It is used by one
// goroutine (the session's); it is not safe for concurrent use.
type Negotiation interface {
	// Next takes the client's data (already base64-decoded; nil when the
	// client sent no initial response, a zero-length slice for an empty one
	// "=") and returns the server's next data: a challenge to send, or with
	// done=true the additional data for <success/> (SCRAM's "v=…"; nil for
	// PLAIN). A zero-length, non-nil challenge asks the client for data it
	// has not sent yet (the initial response); how it is written on the
	// wire is the caller's business (RFC 6120 §6.4).
	//
	// An error is always a *Failure whose Condition is one of RFC 6120 §6.5:
	// not-authorized for an unknown user and a wrong password alike,
	// malformed-request for data that breaks the mechanism's syntax,
	// invalid-authzid, temporary-auth-failure when storage fails. After
	// an error or success the negotiation is over and Next returns a
	// failure; a new attempt starts with Accounts.Start.
	Next(ctx context.Context, data []byte) (challenge []byte, done bool, err error)
	// Username is the authenticated, prepared localpart once Next returned
	// done=true, and "" before.
	Username() string
}

// Mechanisms returns the mechanisms to offer, strongest first. PLAIN sends
// the password itself and is offered only when secure (the stream is
// TLS-protected). The -PLUS variants are not offered.
func (a *Accounts) Mechanisms(secure bool) []string {
	m := []string{MechSCRAMSHA256, MechSCRAMSHA1}
	if secure {
		m = append(m, MechPLAIN)
	}
	return m
}

// Start begins a negotiation with the mechanism the client chose. A
// mechanism not offered fails with invalid-mechanism; PLAIN on a stream
// that is not secure fails with encryption-required.
func (a *Accounts) Start(mechanism string, secure bool) (Negotiation, error) {
	switch {
	case mechanism == MechPLAIN && !secure:
		return nil, fail(CondEncryptionRequired, "PLAIN requires TLS")
	case mechanism == MechSCRAMSHA256:
		return &scram{a: a, h: sha256Alg}, nil
	case mechanism == MechSCRAMSHA1:
		return &scram{a: a, h: sha1Alg}, nil
	case mechanism == MechPLAIN:
		return &plain{a: a}, nil
	}
	return nil, fail(CondInvalidMechanism, "")
}

// checkAuthzid accepts an empty authorization identity or one equal to the
// authenticated bare JID local@domain (after JID preparation); RFC 6120
// §6.3.8. Anything else, including another user or a full JID, fails with
// invalid-authzid: xmppd has no proxy authorisation.
func (a *Accounts) checkAuthzid(authzid, local string) *Failure {
	if authzid == "" {
		return nil
	}
	j, err := jid.Parse(authzid)
	if err != nil || j.Resourcepart() != "" || j.Localpart() != local || j.Domainpart() != a.domain {
		return fail(CondInvalidAuthzid, "")
	}
	return nil
}

// finished is the failure returned by Next after the negotiation ended.
func finished() *Failure {
	return fail(CondMalformedRequest, "negotiation already finished")
}

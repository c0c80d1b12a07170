package c2s

import (
	"errors"

	"github.com/xmppd/xmppd/stanza"
)

// An ErrorType is the type attribute of a stanza error (RFC 6120 §8.3.2).
type ErrorType string

// Stanza error types.
const (
	Cancel   ErrorType = "cancel"
	Continue ErrorType = "continue"
	Modify   ErrorType = "modify"
	Auth     ErrorType = "auth"
	Wait     ErrorType = "wait"
)

// A Condition is a defined stanza error condition (RFC 6120 §8.3.3).
type Condition string

// Stanza error conditions.
const (
	CondBadRequest            Condition = "bad-request"
	CondConflict              Condition = "conflict"
	CondFeatureNotImplemented Condition = "feature-not-implemented"
	CondForbidden             Condition = "forbidden"
	CondGone                  Condition = "gone"
	CondInternalServerError   Condition = "internal-server-error"
	CondItemNotFound          Condition = "item-not-found"
	CondJIDMalformed          Condition = "jid-malformed"
	CondNotAcceptable         Condition = "not-acceptable"
	CondNotAllowed            Condition = "not-allowed"
	CondNotAuthorized         Condition = "not-authorized"
	CondPolicyViolation       Condition = "policy-violation"
	CondRecipientUnavailable  Condition = "recipient-unavailable"
	CondRegistrationRequired  Condition = "registration-required"
	CondRemoteServerNotFound  Condition = "remote-server-not-found"
	CondResourceConstraint    Condition = "resource-constraint"
	CondServiceUnavailable    Condition = "service-unavailable"
	CondSubscriptionRequired  Condition = "subscription-required"
	CondUndefinedCondition    Condition = "undefined-condition"
	CondUnexpectedRequest     Condition = "unexpected-request"
)

// A StanzaError is sent to the sender as <error type=…><condition/></error>.
// Handlers return one to answer with an error; any other error becomes
// internal-server-error and is logged once by the session.
type StanzaError struct {
	Type      ErrorType
	Condition Condition
	Text      string // optional, sent to the client
	Err       error  // cause: logged, never sent
	// App is an optional application-specific condition element
	// (e.g. XEP-0191's <blocked/>), sent after the defined condition.
	App *stanza.Element
}

func (e *StanzaError) Error() string {
	msg := "stanza error: " + string(e.Condition)
	if e.Text != "" {
		msg += ": " + e.Text
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *StanzaError) Unwrap() error { return e.Err }

// Element returns the <error/> child for this error.
func (e *StanzaError) Element() *stanza.Element {
	el := stanza.New(stanza.NSClient, "error", "type", string(e.Type))
	el.Append(stanza.New(stanza.NSStanzas, string(e.Condition)))
	if e.Text != "" {
		el.Append(stanza.New(stanza.NSStanzas, "text").SetText(e.Text))
	}
	if e.App != nil {
		el.Append(e.App)
	}
	return el
}

// AsStanzaError returns err as a *StanzaError; errors that are not one
// become internal-server-error with err as the cause.
func AsStanzaError(err error) *StanzaError {
	var se *StanzaError
	if errors.As(err, &se) {
		return se
	}
	return &StanzaError{Type: Cancel, Condition: CondInternalServerError, Err: err}
}

func newErr(t ErrorType, c Condition, text string) *StanzaError {
	return &StanzaError{Type: t, Condition: c, Text: text}
}

// Constructors for the conditions handlers use, with the default types of
// RFC 6120 §8.3.3. text may be empty.
func BadRequest(text string) *StanzaError   { return newErr(Modify, CondBadRequest, text) }
func Conflict(text string) *StanzaError     { return newErr(Cancel, CondConflict, text) }
func Forbidden(text string) *StanzaError    { return newErr(Auth, CondForbidden, text) }
func ItemNotFound(text string) *StanzaError { return newErr(Cancel, CondItemNotFound, text) }
func JIDMalformed(text string) *StanzaError { return newErr(Modify, CondJIDMalformed, text) }
func NotAcceptable(text string) *StanzaError {
	return newErr(Modify, CondNotAcceptable, text)
}
func NotAllowed(text string) *StanzaError    { return newErr(Cancel, CondNotAllowed, text) }
func NotAuthorized(text string) *StanzaError { return newErr(Auth, CondNotAuthorized, text) }
func PolicyViolation(text string) *StanzaError {
	return newErr(Modify, CondPolicyViolation, text)
}
func ResourceConstraint(text string) *StanzaError {
	return newErr(Wait, CondResourceConstraint, text)
}
func ServiceUnavailable(text string) *StanzaError {
	return newErr(Cancel, CondServiceUnavailable, text)
}
func FeatureNotImplemented(text string) *StanzaError {
	return newErr(Cancel, CondFeatureNotImplemented, text)
}
func UnexpectedRequest(text string) *StanzaError {
	return newErr(Wait, CondUnexpectedRequest, text)
}
func RecipientUnavailable(text string) *StanzaError {
	return newErr(Wait, CondRecipientUnavailable, text)
}
func RemoteServerNotFound(text string) *StanzaError {
	return newErr(Cancel, CondRemoteServerNotFound, text)
}
func InternalServerError(text string) *StanzaError {
	return newErr(Cancel, CondInternalServerError, text)
}

// ErrorReply builds the error response to st: addressed back to its
// sender, from its recipient (or from, when st had no 'to'), carrying the
// original payload and the error. It returns nil when st is itself an
// error, which must never be answered (RFC 6120 §8.3.1).
func ErrorReply(st *stanza.Element, serr *StanzaError, from string) *stanza.Element {
	if st.Get("type") == "error" {
		return nil
	}
	r := st.Copy()
	if to := st.Get("to"); to != "" {
		from = to
	}
	r.Set("from", from)
	r.Set("to", st.Get("from"))
	r.Set("type", "error")
	r.RemoveChildren(stanza.NSClient, "error")
	r.Append(serr.Element())
	return r
}

// A streamCondition is a stream error condition (RFC 6120 §4.9.3).
type streamCondition string

const (
	streamBadFormat           streamCondition = "bad-format"
	streamConflict            streamCondition = "conflict"
	streamConnectionTimeout   streamCondition = "connection-timeout"
	streamHostUnknown         streamCondition = "host-unknown"
	streamInternalServerError streamCondition = "internal-server-error"
	streamInvalidFrom         streamCondition = "invalid-from"
	streamInvalidNamespace    streamCondition = "invalid-namespace"
	streamInvalidXML          streamCondition = "invalid-xml"
	streamNotAuthorized       streamCondition = "not-authorized"
	streamNotWellFormed       streamCondition = "not-well-formed"
	streamPolicyViolation     streamCondition = "policy-violation"
	streamReset               streamCondition = "reset"
	streamResourceConstraint  streamCondition = "resource-constraint"
	streamRestrictedXML       streamCondition = "restricted-xml"
	streamSystemShutdown      streamCondition = "system-shutdown"
	streamUnsupportedEncoding streamCondition = "unsupported-encoding"
	streamUnsupportedStanza   streamCondition = "unsupported-stanza-type"
	streamUnsupportedVersion  streamCondition = "unsupported-version"
	streamUndefinedCondition  streamCondition = "undefined-condition"
)

const nsStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"

// A streamError closes the stream: sent, then </stream:stream>.
type streamError struct {
	cond streamCondition
	text string
	app  *stanza.Element // optional application-specific condition
	err  error           // cause: logged, never sent
}

func (e *streamError) Error() string {
	msg := "stream error: " + string(e.cond)
	if e.text != "" {
		msg += ": " + e.text
	}
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *streamError) Unwrap() error { return e.err }

// bytes returns <stream:error> with the condition and text, ready to write.
func (e *streamError) bytes() []byte {
	b := []byte("<stream:error><")
	b = append(b, e.cond...)
	b = append(b, " xmlns='"+nsStreamErrors+"'/>"...)
	if e.text != "" {
		b = append(b, "<text xmlns='"+nsStreamErrors+"'>"...)
		b = append(b, stanza.Escape(e.text)...)
		b = append(b, "</text>"...)
	}
	if e.app != nil {
		b = e.app.AppendXML(b, stanza.NSStream)
	}
	return append(b, "</stream:error>"...)
}

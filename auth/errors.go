package auth

import (
	"errors"
	"strings"
)

// Sentinel errors of the account operations. They are wrapped with context;
// test with errors.Is.
var (
	// ErrExists: Add found the account already present.
	ErrExists = errors.New("auth: account exists")
	// ErrNoSuchUser: the account does not exist.
	ErrNoSuchUser = errors.New("auth: no such user")
	// ErrInvalid: the username is not a valid JID localpart, or the password
	// is not valid under the PRECIS OpaqueString profile (empty, control
	// characters, …).
	ErrInvalid = errors.New("auth: invalid username or password")
)

// SASL failure conditions of RFC 6120 §6.5, the values of Failure.Condition.
const (
	CondAborted              = "aborted"
	CondAccountDisabled      = "account-disabled"
	CondCredentialsExpired   = "credentials-expired"
	CondEncryptionRequired   = "encryption-required"
	CondIncorrectEncoding    = "incorrect-encoding"
	CondInvalidAuthzid       = "invalid-authzid"
	CondInvalidMechanism     = "invalid-mechanism"
	CondMalformedRequest     = "malformed-request"
	CondMechanismTooWeak     = "mechanism-too-weak"
	CondNotAuthorized        = "not-authorized"
	CondTemporaryAuthFailure = "temporary-auth-failure"
)

// A Failure ends a SASL negotiation. The stream layer sends
// <failure><{Condition}/><text>{Text}</text></failure> (the text only when
// not empty) and may let the client try again.
//
// Text is safe to send to the client: for SCRAM it is the RFC 5802
// server-error-value when one fits ("invalid-proof",
// "channel-bindings-dont-match", …), otherwise a short description. It never
// says whether an account exists. Err is the internal cause (a storage
// error, say): logged, never sent.
type Failure struct {
	Condition string
	Text      string
	Err       error
}

// Error returns "auth: <condition>[: <text>][: <err>]".
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString("auth: ")
	b.WriteString(f.Condition)
	if f.Text != "" {
		b.WriteString(": ")
		b.WriteString(f.Text)
	}
	if f.Err != nil {
		b.WriteString(": ")
		b.WriteString(f.Err.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause, if any.
func (f *Failure) Unwrap() error { return f.Err }

func fail(condition, text string) *Failure {
	return &Failure{Condition: condition, Text: text}
}

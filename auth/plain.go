package auth

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// plain is the server side of PLAIN (RFC 4616):
//
//	message = [authzid] NUL authcid NUL passwd
//
// The password is checked against the stored SCRAM-SHA-256 keys.
type plain struct {
	a        *Accounts
	asked    bool // sent the empty challenge that asks for the message
	over     bool
	username string
}

func (p *plain) Username() string { return p.username }

func (p *plain) Next(ctx context.Context, data []byte) ([]byte, bool, error) {
	if p.over {
		return nil, false, finished()
	}
	if data == nil && !p.asked {
		// No initial response: ask for the message with an empty challenge
		// (RFC 4422 §5, RFC 6120 §6.4.2).
		p.asked = true
		return []byte{}, false, nil
	}
	p.over = true
	local, f := p.verify(ctx, data)
	if f != nil {
		return nil, false, f
	}
	p.username = local
	return nil, true, nil
}

func (p *plain) verify(ctx context.Context, data []byte) (string, *Failure) {
	if len(data) > maxMessage {
		return "", fail(CondMalformedRequest, "message too long")
	}
	parts := bytes.Split(data, []byte{0})
	if len(parts) != 3 {
		return "", fail(CondMalformedRequest, "want authzid NUL authcid NUL passwd")
	}
	authzid, authcid, passwd := parts[0], parts[1], parts[2]
	if len(authcid) == 0 || len(passwd) == 0 {
		return "", fail(CondMalformedRequest, "empty authcid or password")
	}
	if !utf8.Valid(authzid) || !utf8.Valid(authcid) || !utf8.Valid(passwd) {
		return "", fail(CondMalformedRequest, "invalid UTF-8")
	}
	local, err := p.a.prepareUsername(string(authcid))
	if err != nil {
		// No account can have this name; saying so reveals nothing.
		return "", fail(CondNotAuthorized, "")
	}
	pw, err := preparePassword(string(passwd))
	if err != nil {
		return "", fail(CondNotAuthorized, "")
	}
	rec, err := p.a.lookup(ctx, local)
	if err != nil {
		return "", &Failure{Condition: CondTemporaryAuthFailure, Err: err}
	}
	var keys *scramKeys
	if rec != nil {
		keys = rec.SHA256
	} else {
		// Spend the same work on a missing user as on a present one.
		if keys, err = p.a.fakeKeys(ctx, sha256Alg, local); err != nil {
			return "", &Failure{Condition: CondTemporaryAuthFailure, Err: err}
		}
	}
	if !sha256Alg.verifyPassword(keys, pw) || rec == nil {
		return "", fail(CondNotAuthorized, "")
	}
	if f := p.a.checkAuthzid(string(authzid), local); f != nil {
		return "", f
	}
	return local, nil
}

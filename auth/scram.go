package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
)

// scram is the server side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802,
// RFC 7677) without channel binding:
//
//	C: n,,n=user,r=cnonce                     client-first-message
//	S: r=cnonce+snonce,s=salt,i=4096          server-first-message
//	C: c=biws,r=cnonce+snonce,p=proof         client-final-message
//	S: v=signature                            server-final-message
type scram struct {
	a *Accounts
	h *hashAlg

	state    scramState
	asked    bool // sent the empty challenge that asks for client-first
	username string

	// Set by the client-first step.
	local      string     // prepared localpart
	exists     bool       // false: keys are fake and no proof can succeed
	keys       *scramKeys // stored or fake credentials
	gs2Header  string     // what c= must carry, base64-encoded
	authzid    string     // decoded, unchecked
	nonce      string     // client nonce + server nonce
	authPrefix string     // client-first-bare "," server-first ","
}

type scramState int

const (
	scramStart scramState = iota // waiting for client-first
	scramFinal                   // sent server-first, waiting for client-final
	scramOver                    // succeeded or failed
)

func (s *scram) Username() string { return s.username }

func (s *scram) Next(ctx context.Context, data []byte) ([]byte, bool, error) {
	switch s.state {
	case scramStart:
		if data == nil && !s.asked {
			s.asked = true
			return []byte{}, false, nil
		}
		out, f := s.first(ctx, data)
		if f != nil {
			s.state = scramOver
			return nil, false, f
		}
		s.state = scramFinal
		return out, false, nil
	case scramFinal:
		s.state = scramOver
		out, f := s.final(data)
		if f != nil {
			return nil, false, f
		}
		s.username = s.local
		return out, true, nil
	}
	return nil, false, finished()
}

// first handles client-first-message and returns server-first-message.
func (s *scram) first(ctx context.Context, data []byte) ([]byte, *Failure) {
	if len(data) == 0 {
		return nil, fail(CondMalformedRequest, "empty client-first-message")
	}
	if len(data) > maxMessage {
		return nil, fail(CondMalformedRequest, "message too long")
	}
	cf, f := parseClientFirst(string(data))
	if f != nil {
		return nil, f
	}
	if cf.cbName != "" {
		// RFC 5802 §6: the client requires channel binding, which this
		// (non-PLUS) mechanism does not do.
		return nil, fail(CondNotAuthorized, "channel-binding-not-supported")
	}
	local, err := s.a.prepareUsername(cf.username)
	if err != nil {
		return nil, fail(CondNotAuthorized, "invalid-username-encoding")
	}
	rec, err := s.a.lookup(ctx, local)
	if err != nil {
		return nil, &Failure{Condition: CondTemporaryAuthFailure, Err: err}
	}
	keys, exists := (*scramKeys)(nil), rec != nil
	if exists {
		keys = rec.keys(s.h)
	} else if keys, err = s.a.fakeKeys(ctx, s.h, local); err != nil {
		return nil, &Failure{Condition: CondTemporaryAuthFailure, Err: err}
	}
	snonce, err := s.a.nonce()
	if err != nil {
		return nil, &Failure{Condition: CondTemporaryAuthFailure, Err: err}
	}
	s.local, s.exists, s.keys = local, exists, keys
	s.gs2Header, s.authzid = cf.gs2Header, cf.authzid
	s.nonce = cf.nonce + snonce
	serverFirst := "r=" + s.nonce +
		",s=" + base64.StdEncoding.EncodeToString(keys.Salt) +
		",i=" + strconv.Itoa(keys.Iterations)
	s.authPrefix = cf.bare + "," + serverFirst + ","
	return []byte(serverFirst), nil
}

// final handles client-final-message and returns server-final-message.
func (s *scram) final(data []byte) ([]byte, *Failure) {
	if len(data) > maxMessage {
		return nil, fail(CondMalformedRequest, "message too long")
	}
	cf, f := parseClientFinal(string(data))
	if f != nil {
		return nil, f
	}
	// Without channel binding c= is exactly the gs2 header (RFC 5802 §7),
	// which also stops a client from switching its flag or authzid.
	if subtle.ConstantTimeCompare(cf.channelBinding, []byte(s.gs2Header)) != 1 {
		return nil, fail(CondNotAuthorized, "channel-bindings-dont-match")
	}
	if subtle.ConstantTimeCompare([]byte(cf.nonce), []byte(s.nonce)) != 1 {
		return nil, fail(CondNotAuthorized, "nonce mismatch")
	}
	if len(cf.proof) != s.h.size {
		return nil, fail(CondNotAuthorized, "invalid-proof")
	}
	authMessage := s.authPrefix + cf.withoutProof
	// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof
	// is good if H(ClientKey) = StoredKey (RFC 5802 §3).
	clientKey := s.h.hmac(s.keys.StoredKey, authMessage)
	subtle.XORBytes(clientKey, clientKey, cf.proof)
	if subtle.ConstantTimeCompare(s.h.sum(clientKey), s.keys.StoredKey) != 1 || !s.exists {
		return nil, fail(CondNotAuthorized, "invalid-proof")
	}
	if f := s.a.checkAuthzid(s.authzid, s.local); f != nil {
		return nil, f
	}
	sig := s.h.hmac(s.keys.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(sig)), nil
}

package auth

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

// scramClient is a minimal SCRAM client (RFC 5802 §3, §7) that drives the
// server side in tests. It is written from the RFC independently of the
// server's parsers.
type scramClient struct {
	h        *hashAlg
	user     string // sent as n=, escaped here
	password string
	gs2      string // gs2 header; "n,," when empty
	cnonce   string

	// Set while running.
	bare      string
	serverSig []byte
	salted    []byte // cached SaltedPassword, reused when salt and i match
	saltedFor string
}

func escapeSaslname(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func (c *scramClient) first() string {
	if c.gs2 == "" {
		c.gs2 = "n,,"
	}
	c.bare = "n=" + escapeSaslname(c.user) + ",r=" + c.cnonce
	return c.gs2 + c.bare
}

// final answers server-first-message with client-final-message.
func (c *scramClient) final(serverFirst string) (string, error) {
	attrs := strings.Split(serverFirst, ",")
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "r=") || !strings.HasPrefix(attrs[1], "s=") || !strings.HasPrefix(attrs[2], "i=") {
		return "", fmt.Errorf("bad server-first-message %q", serverFirst)
	}
	nonce := attrs[0][2:]
	if !strings.HasPrefix(nonce, c.cnonce) || len(nonce) == len(c.cnonce) {
		return "", fmt.Errorf("server nonce %q does not extend %q", nonce, c.cnonce)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs[1][2:])
	if err != nil {
		return "", fmt.Errorf("salt: %v", err)
	}
	iter, err := strconv.Atoi(attrs[2][2:])
	if err != nil || iter < 1 {
		return "", fmt.Errorf("iteration count %q", attrs[2])
	}
	pw, err := precis.OpaqueString.String(c.password)
	if err != nil {
		return "", fmt.Errorf("prepare password: %v", err)
	}
	if key := attrs[1] + "," + attrs[2]; c.saltedFor != key {
		c.salted = c.h.saltedPassword(pw, salt, iter)
		c.saltedFor = key
	}
	clientKey := c.h.hmac(c.salted, "Client Key")
	storedKey := c.h.sum(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2)) + ",r=" + nonce
	authMessage := c.bare + "," + serverFirst + "," + withoutProof
	proof := c.h.hmac(storedKey, authMessage)
	subtle.XORBytes(proof, proof, clientKey)
	c.serverSig = c.h.hmac(c.h.hmac(c.salted, "Server Key"), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

// verify checks server-final-message.
func (c *scramClient) verify(serverFinal string) error {
	v, ok := strings.CutPrefix(serverFinal, "v=")
	if !ok {
		return fmt.Errorf("server-final-message %q has no v=", serverFinal)
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !hmac.Equal(sig, c.serverSig) {
		return fmt.Errorf("server signature %q does not verify", v)
	}
	return nil
}

package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// scramClient is the client side of SCRAM (RFC 5802, RFC 7677) without
// channel binding ("n,,"). Salted passwords are cached per user, salt and
// iteration count, the way real clients keep them, so that repeated logins
// of the same user cost the load generator HMACs, not PBKDF2.
type scramClient struct {
	newHash func() hash.Hash
	user    string
	pass    string
	nonce   string
	first   string // client-first-message-bare
	server  []byte // ServerSignature, to check the final message
	cache   *saltCache
}

// A saltCache remembers SaltedPassword per user, salt and iterations.
// Safe for concurrent use.
type saltCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newSaltCache() *saltCache { return &saltCache{m: map[string][]byte{}} }

func (c *saltCache) get(key string, derive func() ([]byte, error)) ([]byte, error) {
	if c == nil {
		return derive()
	}
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := derive()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

func newSCRAM(mech, user, pass string, cache *saltCache) (*scramClient, error) {
	var h func() hash.Hash
	switch mech {
	case "SCRAM-SHA-1":
		h = sha1.New
	case "SCRAM-SHA-256":
		h = sha256.New
	default:
		return nil, fmt.Errorf("scram: unsupported mechanism %q", mech)
	}
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	return &scramClient{newHash: h, user: user, pass: pass, nonce: base64.RawStdEncoding.EncodeToString(raw[:]), cache: cache}, nil
}

// saslName escapes a username for SCRAM (RFC 5802 §5.1).
func saslName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// start returns the client-first-message.
func (s *scramClient) start() []byte {
	s.first = "n=" + saslName(s.user) + ",r=" + s.nonce
	return []byte("n,," + s.first)
}

// step answers the server-first-message with the client-final-message.
func (s *scramClient) step(serverFirst []byte) ([]byte, error) {
	var nonce, salt64 string
	iter := 0
	for _, attr := range strings.Split(string(serverFirst), ",") {
		k, v, ok := strings.Cut(attr, "=")
		if !ok {
			continue
		}
		switch k {
		case "r":
			nonce = v
		case "s":
			salt64 = v
		case "i":
			iter, _ = strconv.Atoi(v)
		case "m":
			return nil, errors.New("scram: server requires an unsupported extension")
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return nil, errors.New("scram: server nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || iter <= 0 {
		return nil, fmt.Errorf("scram: bad server-first-message %q", serverFirst)
	}
	size := s.newHash().Size()
	salted, err := s.cache.get(s.user+"\x00"+salt64+"\x00"+strconv.Itoa(iter)+"\x00"+strconv.Itoa(size), func() ([]byte, error) {
		return pbkdf2.Key(s.newHash, s.pass, salt, iter, size)
	})
	if err != nil {
		return nil, fmt.Errorf("scram: derive key: %w", err)
	}
	withoutProof := "c=biws,r=" + nonce
	authMsg := s.first + "," + string(serverFirst) + "," + withoutProof
	clientKey := s.hmac(salted, "Client Key")
	h := s.newHash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	sig := s.hmac(storedKey, authMsg)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	s.server = s.hmac(s.hmac(salted, "Server Key"), authMsg)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks the server-final-message ("v=…").
func (s *scramClient) verify(serverFinal []byte) error {
	v, ok := strings.CutPrefix(string(serverFinal), "v=")
	if !ok {
		return fmt.Errorf("scram: unexpected server-final-message %q", serverFinal)
	}
	got, err := base64.StdEncoding.DecodeString(v)
	if err != nil || subtle.ConstantTimeCompare(got, s.server) != 1 {
		return errors.New("scram: server signature does not verify")
	}
	return nil
}

func (s *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

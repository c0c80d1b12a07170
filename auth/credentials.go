package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/pbkdf2"
)

// recordVersion is the version of the stored account format (see the
// package documentation).
const recordVersion = 1

// saltSize is the length of the random per-user salts.
const saltSize = 16

// A hashAlg is one SCRAM hash function.
type hashAlg struct {
	mechanism string // SASL mechanism name
	new       func() hash.Hash
	size      int
}

var (
	sha1Alg   = &hashAlg{mechanism: "SCRAM-SHA-1", new: sha1.New, size: sha1.Size}
	sha256Alg = &hashAlg{mechanism: "SCRAM-SHA-256", new: sha256.New, size: sha256.Size}
)

func (h *hashAlg) hmac(key []byte, parts ...string) []byte {
	m := hmac.New(h.new, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (h *hashAlg) sum(b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}

// scramKeys are what SCRAM needs to verify one hash's proofs (RFC 5802 §3).
type scramKeys struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"i"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

// record is the stored form of one account.
type record struct {
	Version int        `json:"v"`
	SHA1    *scramKeys `json:"sha1"`
	SHA256  *scramKeys `json:"sha256"`
}

func (r *record) keys(h *hashAlg) *scramKeys {
	if h == sha1Alg {
		return r.SHA1
	}
	return r.SHA256
}

// saltedPassword is Hi(password, salt, i) of RFC 5802 §2.2, which is
// PBKDF2 with HMAC-H and an output the size of H.
func (h *hashAlg) saltedPassword(password string, salt []byte, iterations int) []byte {
	return pbkdf2.Key([]byte(password), salt, iterations, h.size, h.new)
}

// deriveKeys computes the stored keys for a password already prepared with
// OpaqueString.
func (h *hashAlg) deriveKeys(password string, salt []byte, iterations int) *scramKeys {
	salted := h.saltedPassword(password, salt, iterations)
	clientKey := h.hmac(salted, "Client Key")
	return &scramKeys{
		Salt:       salt,
		Iterations: iterations,
		StoredKey:  h.sum(clientKey),
		ServerKey:  h.hmac(salted, "Server Key"),
	}
}

// verifyPassword reports, in constant time in the key bytes, whether a
// prepared password matches k.
func (h *hashAlg) verifyPassword(k *scramKeys, password string) bool {
	salted := h.saltedPassword(password, k.Salt, k.Iterations)
	stored := h.sum(h.hmac(salted, "Client Key"))
	return subtle.ConstantTimeCompare(stored, k.StoredKey) == 1
}

func (k *scramKeys) check(h *hashAlg) error {
	switch {
	case k == nil:
		return fmt.Errorf("missing %s keys", h.mechanism)
	case len(k.Salt) == 0:
		return fmt.Errorf("%s: empty salt", h.mechanism)
	case k.Iterations < 1 || k.Iterations > MaxIterations:
		return fmt.Errorf("%s: iteration count %d out of range", h.mechanism, k.Iterations)
	case len(k.StoredKey) != h.size || len(k.ServerKey) != h.size:
		return fmt.Errorf("%s: key length wrong", h.mechanism)
	}
	return nil
}

func encodeRecord(r *record) ([]byte, error) {
	return json.Marshal(r)
}

func decodeRecord(b []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode account record: %w", err)
	}
	if r.Version != recordVersion {
		return nil, fmt.Errorf("decode account record: unsupported version %d", r.Version)
	}
	if err := errors.Join(r.SHA1.check(sha1Alg), r.SHA256.check(sha256Alg)); err != nil {
		return nil, fmt.Errorf("decode account record: %w", err)
	}
	return &r, nil
}

package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/storage"
)

// Storage kinds used by Accounts.
const (
	kindAccount = "account"
	kindSecret  = "auth-secret"
)

// secretSize is the length of the server secret behind fake salts.
const secretSize = 32

// Accounts is the credential store of one domain and the factory of SASL
// negotiations against it. It is safe for concurrent use.
//
// Accounts keeps no state of its own beyond a cached server secret: every
// operation reads or writes the KV, so several server nodes over one store
// see the same accounts. The KV has no compare-and-set, so SetPassword
// racing with Delete may recreate the account; operators serialise account
// administration.
type Accounts struct {
	kv     storage.KV
	domain string
	cfg    Config

	// Sources of randomness, replaced by tests to reproduce the RFC
	// examples: random fills salts and the server secret; nonce returns the
	// server's part of a SCRAM nonce.
	random io.Reader
	nonce  func() (string, error)

	secretMu sync.Mutex
	secret   []byte // nil until loaded or created
}

// NewAccounts returns the accounts of domain stored in kv. The domain is
// prepared as a JID domainpart; cfg should have passed Validate (an
// iteration count out of range is clamped into it).
func NewAccounts(kv storage.KV, domain string, cfg Config) *Accounts {
	if d, err := jid.New("", domain, ""); err == nil {
		domain = d.Domainpart()
	}
	cfg.Iterations = min(max(cfg.iterations(), MinIterations), MaxIterations)
	a := &Accounts{kv: kv, domain: domain, cfg: cfg, random: rand.Reader}
	a.nonce = a.randomNonce
	return a
}

// Domain returns the prepared domain the accounts belong to.
func (a *Accounts) Domain() string { return a.domain }

// prepareUsername returns the PRECIS-prepared localpart for name, which is
// a localpart or a bare JID of this domain. ErrInvalid otherwise.
func (a *Accounts) prepareUsername(name string) (string, error) {
	local, domain := name, a.domain
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		local, domain = name[:i], name[i+1:]
	}
	if local == "" {
		return "", fmt.Errorf("%w: empty username", ErrInvalid)
	}
	j, err := jid.New(local, domain, "")
	if err != nil {
		return "", fmt.Errorf("%w: username %q: %v", ErrInvalid, name, err)
	}
	if j.Domainpart() != a.domain {
		return "", fmt.Errorf("%w: username %q: not in domain %s", ErrInvalid, name, a.domain)
	}
	return j.Localpart(), nil
}

// preparePassword applies the PRECIS OpaqueString profile (RFC 8265 §4.2).
func preparePassword(password string) (string, error) {
	// The profile lets invalid UTF-8 through; refuse it here.
	if !utf8.ValidString(password) {
		return "", fmt.Errorf("%w: password: invalid UTF-8", ErrInvalid)
	}
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return "", fmt.Errorf("%w: password: %v", ErrInvalid, err)
	}
	return p, nil
}

func (a *Accounts) key(local string) storage.Key {
	return storage.Key{Kind: kindAccount, User: local + "@" + a.domain}
}

// newRecord derives fresh credentials for a prepared password.
func (a *Accounts) newRecord(password string) (*record, error) {
	r := &record{Version: recordVersion}
	for _, h := range []*hashAlg{sha1Alg, sha256Alg} {
		salt := make([]byte, saltSize)
		if _, err := io.ReadFull(a.random, salt); err != nil {
			return nil, fmt.Errorf("generate salt: %w", err)
		}
		k := h.deriveKeys(password, salt, a.cfg.iterations())
		if h == sha1Alg {
			r.SHA1 = k
		} else {
			r.SHA256 = k
		}
	}
	return r, nil
}

func (a *Accounts) prepare(username, password string) (string, []byte, error) {
	local, err := a.prepareUsername(username)
	if err != nil {
		return "", nil, err
	}
	pw, err := preparePassword(password)
	if err != nil {
		return "", nil, err
	}
	r, err := a.newRecord(pw)
	if err != nil {
		return "", nil, err
	}
	b, err := encodeRecord(r)
	if err != nil {
		return "", nil, fmt.Errorf("encode account record: %w", err)
	}
	return local, b, nil
}

// Add creates an account. username is a localpart (or a bare JID of this
// domain) and is prepared with PRECIS UsernameCaseMapped, so "Juliet" and
// "juliet" are the same account. It returns ErrExists if the account is
// present and ErrInvalid for an unusable username or password.
func (a *Accounts) Add(ctx context.Context, username, password string) error {
	local, b, err := a.prepare(username, password)
	if err != nil {
		return fmt.Errorf("auth: add %q: %w", username, err)
	}
	if err := a.kv.Create(ctx, a.key(local), b); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("auth: add %s: %w", local, ErrExists)
		}
		return fmt.Errorf("auth: add %s: %w", local, err)
	}
	return nil
}

// SetPassword replaces the password of an existing account with fresh
// salts and the configured iteration count. It returns ErrNoSuchUser if
// the account does not exist and ErrInvalid for an unusable password.
func (a *Accounts) SetPassword(ctx context.Context, username, password string) error {
	local, b, err := a.prepare(username, password)
	if err != nil {
		return fmt.Errorf("auth: set password of %q: %w", username, err)
	}
	k := a.key(local)
	if _, err := a.kv.Get(ctx, k); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("auth: set password of %s: %w", local, ErrNoSuchUser)
		}
		return fmt.Errorf("auth: set password of %s: %w", local, err)
	}
	if err := a.kv.Put(ctx, k, b); err != nil {
		return fmt.Errorf("auth: set password of %s: %w", local, err)
	}
	return nil
}

// Delete removes an account; ErrNoSuchUser if it does not exist. Other
// data of the user (roster, offline messages) belongs to other packages.
func (a *Accounts) Delete(ctx context.Context, username string) error {
	local, err := a.prepareUsername(username)
	if err != nil {
		return fmt.Errorf("auth: delete %q: %w", username, ErrNoSuchUser)
	}
	if err := a.kv.Delete(ctx, a.key(local)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("auth: delete %s: %w", local, ErrNoSuchUser)
		}
		return fmt.Errorf("auth: delete %s: %w", local, err)
	}
	return nil
}

// Exists reports whether the account exists. A username that cannot be a
// localpart does not exist.
func (a *Accounts) Exists(ctx context.Context, username string) (bool, error) {
	local, err := a.prepareUsername(username)
	if err != nil {
		return false, nil
	}
	if _, err := a.kv.Get(ctx, a.key(local)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("auth: exists %s: %w", local, err)
	}
	return true, nil
}

// List returns the localparts of all accounts of the domain, sorted. It
// lists the whole KV kind and may be slow on large stores (admin tools).
func (a *Accounts) List(ctx context.Context) ([]string, error) {
	users, err := a.kv.List(ctx, kindAccount)
	if err != nil {
		return nil, fmt.Errorf("auth: list accounts: %w", err)
	}
	suffix := "@" + a.domain
	locals := make([]string, 0, len(users))
	for _, u := range users {
		if local, ok := strings.CutSuffix(u, suffix); ok && local != "" && !strings.Contains(local, "@") {
			locals = append(locals, local)
		}
	}
	slices.Sort(locals)
	return locals, nil
}

// lookup returns the stored record of a prepared localpart, nil if the
// account does not exist.
func (a *Accounts) lookup(ctx context.Context, local string) (*record, error) {
	b, err := a.kv.Get(ctx, a.key(local))
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("load account %s: %w", local, err)
	}
	r, err := decodeRecord(b)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", local, err)
	}
	return r, nil
}

// serverSecret returns the domain's server secret, creating it on first
// use. Errors are not cached, so a storage outage heals.
func (a *Accounts) serverSecret(ctx context.Context) ([]byte, error) {
	a.secretMu.Lock()
	defer a.secretMu.Unlock()
	if a.secret != nil {
		return a.secret, nil
	}
	k := storage.Key{Kind: kindSecret, User: a.domain}
	s, err := a.kv.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		fresh := make([]byte, secretSize)
		if _, err := io.ReadFull(a.random, fresh); err != nil {
			return nil, fmt.Errorf("generate server secret: %w", err)
		}
		err = a.kv.Create(ctx, k, fresh)
		switch {
		case err == nil:
			s = fresh
		case errors.Is(err, storage.ErrExists): // another node won the race
			s, err = a.kv.Get(ctx, k)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load server secret: %w", err)
	}
	if len(s) < secretSize {
		return nil, fmt.Errorf("load server secret: %d bytes, want %d", len(s), secretSize)
	}
	a.secret = s
	return s, nil
}

// fakeKeys returns the deterministic credentials announced for a user that
// does not exist: salt = HMAC-SHA-256(secret, hash name ‖ 0 ‖ localpart),
// truncated to the real salt size, and the configured iteration count. The
// keys are random-looking and never match a proof.
func (a *Accounts) fakeKeys(ctx context.Context, h *hashAlg, local string) (*scramKeys, error) {
	secret, err := a.serverSecret(ctx)
	if err != nil {
		return nil, err
	}
	mac := sha256Alg.hmac(secret, h.mechanism, "\x00", local)
	keys := sha256Alg.hmac(secret, "keys", "\x00", h.mechanism, "\x00", local)
	return &scramKeys{
		Salt:       mac[:saltSize],
		Iterations: a.cfg.iterations(),
		StoredKey:  h.sum(keys),
		ServerKey:  h.hmac(keys, "Server Key"),
	}, nil
}

// randomNonce returns 18 random bytes as base64 (24 printable characters,
// none of them ',').
func (a *Accounts) randomNonce() (string, error) {
	b := make([]byte, 18)
	if _, err := io.ReadFull(a.random, b); err != nil {
		return "", fmt.Errorf("generate nonce: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

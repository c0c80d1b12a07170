package notes

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/hkdf"
)

// HKDF info strings: one subkey per purpose, so the configured key is never
// used directly, and never for two things.
const (
	infoEnc = "xmppd notes v1 aes-ctr"
	infoMAC = "xmppd notes v1 hmac-sha256"
)

// A Keyring holds the configured note keys and seals and opens notes with
// them. It is safe for concurrent use; Reload swaps the whole key set at
// once, so a Seal or Open sees either the old set or the new one.
//
// A Keyring prints as its key ids only (fmt, slog): key material never
// reaches a log.
type Keyring struct {
	cfg     Config
	metrics *Metrics
	set     atomic.Pointer[keySet]
}

// A keySet is one immutable loading of the keys.
type keySet struct {
	current *key
	byID    map[string]*key
	ids     []string // in configuration order, current first
}

// A key is one configured key, kept only as its derived subkeys.
type key struct {
	id    string
	bits  int          // 128 or 256
	block cipher.Block // AES with the derived encryption subkey
	// macKey is the derived HMAC-SHA256 subkey. A pointer, so that fmt,
	// which cannot call Format through unexported fields, prints an
	// address rather than the bytes.
	macKey *[sha256.Size]byte
	macs   sync.Pool // of *macState keyed with macKey
}

// Format prints a key as its id whatever the verb, so no %v, %+v or %#v of
// a struct holding one can show key material.
func (k *key) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "key(%s, AES-%d)", k.id, k.bits) }

// An Option configures a Keyring.
type Option func(*Keyring)

// WithMetrics makes the keyring count what it seals, opens and rejects in
// m (see NewMetrics). Without it nothing is counted.
func WithMetrics(m *Metrics) Option { return func(k *Keyring) { k.metrics = m } }

// LoadKeyring reads the keys cfg points at: the key file, then the
// environment variable. It fails if cfg is invalid, a source cannot be read
// or parsed (naming the line or entry, never the key), an id is given two
// different keys, Current names no configured key, or no key is found at
// all (ErrNoKeys).
func LoadKeyring(cfg Config, opts ...Option) (*Keyring, error) {
	k := &Keyring{cfg: cfg}
	for _, o := range opts {
		o(k)
	}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the keys again from the keyring's configuration and, if
// they load without error, replaces the key set; otherwise the keyring
// keeps the keys it had. Notes sealed before keep opening as long as their
// key is still configured.
func (k *Keyring) Reload() error {
	set, err := loadSet(k.cfg)
	if err != nil {
		return err
	}
	k.set.Store(set)
	k.metrics.setKeys(len(set.ids))
	return nil
}

func loadSet(cfg Config) (*keySet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	var raws []rawKey
	if cfg.KeyFile != "" {
		r, err := readKeyFile(cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		raws = append(raws, r...)
	}
	env := cfg.keyEnv()
	if v, ok := os.LookupEnv(env); ok && strings.TrimSpace(v) != "" {
		entries := strings.Split(strings.ReplaceAll(v, ";", "\n"), "\n")
		r, err := parseKeys(entries, "$"+env, "entry")
		if err != nil {
			return nil, err
		}
		raws = append(raws, r...)
	}
	defer func() {
		for _, r := range raws {
			clear(r.secret)
		}
	}()
	if len(raws) == 0 {
		if cfg.KeyFile != "" {
			return nil, fmt.Errorf("%w: %s holds no key and $%s is empty", ErrNoKeys, cfg.KeyFile, env)
		}
		return nil, fmt.Errorf("%w: set notes.key_file or $%s", ErrNoKeys, env)
	}

	set := &keySet{byID: make(map[string]*key, len(raws))}
	secrets := make(map[string][]byte, len(raws))
	for _, r := range raws {
		if prev, ok := secrets[r.id]; ok {
			if !hmac.Equal(prev, r.secret) {
				return nil, fmt.Errorf("notes: %s: key id %q is already configured with a different key", r.where, r.id)
			}
			continue
		}
		secrets[r.id] = r.secret
		dk, err := deriveKey(r.id, r.secret)
		if err != nil {
			return nil, fmt.Errorf("notes: %s: %w", r.where, err)
		}
		set.byID[r.id] = dk
		set.ids = append(set.ids, r.id)
	}
	cur := set.ids[0]
	if cfg.Current != "" {
		if _, ok := set.byID[cfg.Current]; !ok {
			return nil, fmt.Errorf("notes.current_key: %q is not one of the configured keys %v", cfg.Current, set.ids)
		}
		cur = cfg.Current
	}
	set.current = set.byID[cur]
	// Current first, the rest in configuration order.
	ids := []string{cur}
	for _, id := range set.ids {
		if id != cur {
			ids = append(ids, id)
		}
	}
	set.ids = ids
	return set, nil
}

// deriveKey expands secret into the encryption and MAC subkeys (RFC 5869,
// no salt: the configured key is already uniformly random).
func deriveKey(id string, secret []byte) (*key, error) {
	enc := make([]byte, len(secret))
	mac := new([sha256.Size]byte)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(infoEnc)), enc); err != nil {
		return nil, fmt.Errorf("derive key %q: %w", id, err)
	}
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(infoMAC)), mac[:]); err != nil {
		return nil, fmt.Errorf("derive key %q: %w", id, err)
	}
	block, err := aes.NewCipher(enc)
	clear(enc)
	if err != nil {
		return nil, fmt.Errorf("derive key %q: %w", id, err)
	}
	return &key{id: id, bits: len(secret) * 8, block: block, macKey: mac}, nil
}

// CurrentID returns the id of the key new notes are sealed under.
func (k *Keyring) CurrentID() string { return k.set.Load().current.id }

// IDs returns the configured key ids, the current one first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.set.Load().ids...) }

// String describes the keyring by its key ids.
func (k *Keyring) String() string {
	s := k.set.Load()
	return fmt.Sprintf("notes.Keyring{current: %s, keys: %s}", s.current.id, strings.Join(s.ids, ","))
}

// Format prints the keyring as String does, whatever the verb.
func (k *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs the keyring as its key ids.
func (k *Keyring) LogValue() slog.Value {
	s := k.set.Load()
	return slog.GroupValue(slog.String("current", s.current.id), slog.Any("keys", s.ids))
}

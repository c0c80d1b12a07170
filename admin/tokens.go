package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// A Scope is what a token may do. Read tokens (a store, a matchmaking
// service) may call the GET endpoints that read the social graph,
// presence, sessions and users; admin tokens may call everything.
type Scope string

// The scopes.
const (
	ScopeRead  Scope = "read"
	ScopeAdmin Scope = "admin"
)

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeRead, ScopeAdmin:
		return Scope(s), nil
	}
	return "", fmt.Errorf("scope: %q must be %q or %q", s, ScopeRead, ScopeAdmin)
}

// allows reports whether a token of scope s may call an endpoint that
// needs need.
func (s Scope) allows(need Scope) bool { return s == ScopeAdmin || s == need }

// TokensFile is the name of the named-token file inside the data directory.
const TokensFile = "api-tokens.json"

// BuiltinTokenName names the first-start token of TokenFile in listings; it
// always has the admin scope and cannot be revoked through the API (delete
// the file and restart to replace it).
const BuiltinTokenName = "admin-token"

// Errors of the token store.
var (
	ErrTokenExists  = errors.New("admin: token exists")
	ErrNoSuchToken  = errors.New("admin: no such token")
	ErrBuiltinToken = errors.New("admin: the built-in admin token cannot be revoked")
	// ErrBadToken marks a name or scope that Add refuses.
	ErrBadToken = errors.New("admin: bad token name or scope")
	// errTokenWrite wraps failures to write the token file.
	errTokenWrite = errors.New("admin: write tokens")
)

// badToken is an error that says what is wrong with a name or scope; it
// matches ErrBadToken.
type badToken string

func (e badToken) Error() string        { return string(e) }
func (e badToken) Is(target error) bool { return target == ErrBadToken }

// TokenInfo describes one token; the secret itself is shown only once,
// when it is created.
type TokenInfo struct {
	Name    string    `json:"name"`
	Scope   Scope     `json:"scope"`
	Created time.Time `json:"created,omitzero"`
	Builtin bool      `json:"builtin,omitempty"`
}

// storedToken is one entry of TokensFile. Only the SHA-256 of the secret is
// kept, so a leaked file does not leak working tokens.
type storedToken struct {
	TokenInfo
	Hash string `json:"sha256"`
}

// tokenFile is the JSON form of TokensFile.
type tokenFile struct {
	Tokens []storedToken `json:"tokens"`
}

var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Tokens is the set of API tokens: the built-in admin token of the data
// directory plus named tokens kept in TokensFile. It is safe for concurrent
// use. Changes are written to the file (mode 0600, replaced atomically)
// before they take effect; a Tokens without a file keeps them in memory.
type Tokens struct {
	path    string // "" for memory only
	builtin [sha256.Size]byte
	now     func() time.Time

	mu   sync.RWMutex
	list []storedToken
}

// OpenTokens returns the tokens of dataDir: builtin (the first-start admin
// token) and those in dataDir/TokensFile, which may be absent. An empty
// dataDir keeps named tokens in memory only.
func OpenTokens(dataDir, builtin string) (*Tokens, error) {
	t := &Tokens{builtin: sha256.Sum256([]byte(builtin)), now: time.Now}
	if dataDir != "" {
		t.path = filepath.Join(dataDir, TokensFile)
	}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload re-reads the token file; on error the tokens in force stay.
func (t *Tokens) Reload() error {
	if t.path == "" {
		return nil
	}
	b, err := os.ReadFile(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		t.mu.Lock()
		t.list = nil
		t.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin: read tokens: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("admin: %s: %w", t.path, err)
	}
	for _, e := range f.Tokens {
		if _, err := ParseScope(string(e.Scope)); err != nil || !tokenName.MatchString(e.Name) || len(e.Hash) != 2*sha256.Size {
			return fmt.Errorf("admin: %s: bad entry %q", t.path, e.Name)
		}
	}
	t.mu.Lock()
	t.list = f.Tokens
	t.mu.Unlock()
	return nil
}

// Check returns the token whose secret is secret. Every known token is
// compared, each in constant time, so the answer's timing says nothing
// about which token nearly matched.
func (t *Tokens) Check(secret string) (TokenInfo, bool) {
	sum := sha256.Sum256([]byte(secret))
	found, info := 0, TokenInfo{}
	if subtle.ConstantTimeCompare(sum[:], t.builtin[:]) == 1 {
		found, info = 1, TokenInfo{Name: BuiltinTokenName, Scope: ScopeAdmin, Builtin: true}
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.list {
		want, _ := hex.DecodeString(e.Hash)
		if subtle.ConstantTimeCompare(sum[:], want) == 1 {
			found, info = 1, e.TokenInfo
		}
	}
	return info, found == 1
}

// List returns the tokens, the built-in one first, then by name.
func (t *Tokens) List() []TokenInfo {
	out := []TokenInfo{{Name: BuiltinTokenName, Scope: ScopeAdmin, Builtin: true}}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.list {
		out = append(out, e.TokenInfo)
	}
	slices.SortFunc(out[1:], func(a, b TokenInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Add creates a token called name with scope and returns its secret (32
// random bytes in hex), which is not kept. The name is 1–64 characters of
// a-z, 0-9, '.', '_', '-'; a taken name is ErrTokenExists.
func (t *Tokens) Add(name string, scope Scope) (string, TokenInfo, error) {
	if !tokenName.MatchString(name) || name == BuiltinTokenName {
		return "", TokenInfo{}, badToken(fmt.Sprintf("name: %q must be 1-64 characters of a-z, 0-9, '.', '_', '-' (and not %q)", name, BuiltinTokenName))
	}
	if _, err := ParseScope(string(scope)); err != nil {
		return "", TokenInfo{}, badToken(err.Error())
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", TokenInfo{}, fmt.Errorf("admin: token: %w", err)
	}
	secret := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	info := TokenInfo{Name: name, Scope: scope, Created: t.now().UTC().Truncate(time.Second)}

	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.ContainsFunc(t.list, func(e storedToken) bool { return e.Name == name }) {
		return "", TokenInfo{}, fmt.Errorf("token %q: %w", name, ErrTokenExists)
	}
	next := append(slices.Clone(t.list), storedToken{TokenInfo: info, Hash: hex.EncodeToString(sum[:])})
	if err := t.save(next); err != nil {
		return "", TokenInfo{}, err
	}
	t.list = next
	return secret, info, nil
}

// Revoke deletes the token called name; it stops working at once.
func (t *Tokens) Revoke(name string) error {
	if name == BuiltinTokenName {
		return ErrBuiltinToken
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.list, func(e storedToken) bool { return e.Name == name })
	if i < 0 {
		return fmt.Errorf("token %q: %w", name, ErrNoSuchToken)
	}
	next := slices.Delete(slices.Clone(t.list), i, i+1)
	if err := t.save(next); err != nil {
		return err
	}
	t.list = next
	return nil
}

// save writes list to the file: a temporary file renamed over it, so a
// crash leaves the old or the new set, never half of one.
func (t *Tokens) save(list []storedToken) error {
	if t.path == "" {
		return nil
	}
	if list == nil {
		list = []storedToken{}
	}
	b, err := json.MarshalIndent(tokenFile{Tokens: list}, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", errTokenWrite, err)
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return fmt.Errorf("%w: %w", errTokenWrite, err)
	}
	f, err := os.CreateTemp(filepath.Dir(t.path), TokensFile+".*")
	if err != nil {
		return fmt.Errorf("%w: %w", errTokenWrite, err)
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing to remove
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), t.path)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errTokenWrite, err)
	}
	return nil
}

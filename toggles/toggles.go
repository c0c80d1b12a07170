// Package toggles holds xmppd's feature toggles: named switches in the
// configuration that turn a behaviour on for everyone, for named users, or
// for a percentage of users, and that an operator changes without a
// restart (SIGHUP or POST /api/v1/toggles/reload swap in a new Config).
//
// A toggle is on for a user when it is enabled (everyone), when the user
// is listed, or when the user falls in the rollout percentage. The
// percentage uses a stable hash of the toggle name and the bare JID
// (FNV-1a, 64 bit, mod 100): a user stays in or out across restarts and
// nodes, raising the percentage only adds users, and two toggles at the
// same percentage do not pick the same users. A toggle that the
// configuration does not name is off.
//
// Evaluation reads an immutable snapshot through an atomic pointer, so
// features may call Enabled on every stanza; reloading never blocks them.
// Every evaluation is counted in xmppd_toggles_evaluations_total by toggle
// and result.
package toggles

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"
)

// A Toggle is the configuration of one switch ([toggles.NAME]).
type Toggle struct {
	// Enabled turns the toggle on for everyone.
	Enabled bool `toml:"enabled" json:"enabled"`
	// Users are bare JIDs for whom the toggle is on.
	Users []string `toml:"users" json:"users,omitempty"`
	// Percent (0–100) of users, by stable hash, for whom it is on.
	Percent int `toml:"percent" json:"percent"`
}

// Config maps toggle names to their settings. The zero value has no
// toggles.
type Config map[string]Toggle

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate reports every toggle that cannot work, each naming its key.
func (c Config) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c)) {
		t := c[name]
		if !validName.MatchString(name) {
			errs = append(errs, fmt.Errorf("toggles.%s: name must be lower_snake_case, 1-64 characters", name))
		}
		if t.Percent < 0 || t.Percent > 100 {
			errs = append(errs, fmt.Errorf("toggles.%s.percent: %d must be 0 to 100", name, t.Percent))
		}
		for _, u := range t.Users {
			j, err := jid.Parse(u)
			if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
				errs = append(errs, fmt.Errorf("toggles.%s.users: %q is not a bare user JID", name, u))
			}
		}
	}
	return errors.Join(errs...)
}

// state is one immutable snapshot of the configuration.
type state struct {
	toggles    map[string]Toggle
	users      map[string]map[string]bool // toggle → normalised bare JIDs
	overridden map[string]bool            // set by Override since the last Update
}

// A Set evaluates toggles. It is safe for concurrent use.
type Set struct {
	cur   atomic.Pointer[state]
	mu    sync.Mutex // serialises Update and Override; evaluation does not take it
	evals *prometheus.CounterVec
}

// New returns a Set with cfg in force, its metrics registered on reg.
func New(cfg Config, reg prometheus.Registerer) (*Set, error) {
	s := &Set{evals: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xmppd_toggles_evaluations_total",
		Help: "Feature toggle evaluations, by toggle and result (on, off).",
	}, []string{"toggle", "result"})}
	if err := reg.Register(s.evals); err != nil {
		return nil, fmt.Errorf("toggles: metrics: %w", err)
	}
	if err := s.Update(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Update validates cfg and puts it in force for every later evaluation,
// replacing every override; on error the previous configuration stays.
func (s *Set) Update(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Store(newState(cfg, nil))
	return nil
}

// Override puts t in force for toggle name, leaving the others as they
// are, until the next Update (a reload of the configuration file): a
// runtime change an operator makes through the API. On error nothing
// changes.
func (s *Set) Override(name string, t Toggle) error {
	if err := (Config{name: t}).Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	cfg := Config{name: t}
	maps.Copy(cfg, old.toggles)
	cfg[name] = t
	over := map[string]bool{name: true}
	maps.Copy(over, old.overridden)
	s.cur.Store(newState(cfg, over))
	return nil
}

// newState builds a snapshot of a validated cfg.
func newState(cfg Config, overridden map[string]bool) *state {
	if overridden == nil {
		overridden = map[string]bool{}
	}
	st := &state{toggles: maps.Clone(cfg), users: map[string]map[string]bool{}, overridden: overridden}
	for name, t := range cfg {
		set := map[string]bool{}
		for _, u := range t.Users {
			set[jid.MustParse(u).String()] = true // validated by the caller
		}
		st.users[name] = set
	}
	return st
}

// Enabled reports whether toggle name is on for the user bareJID (a bare
// JID; a full one is reduced to its bare part, an unparsable one is only
// on when the toggle is enabled for everyone).
func (s *Set) Enabled(name, bareJID string) bool {
	on := s.eval(name, bareJID)
	result := "off"
	if on {
		result = "on"
	}
	s.evals.WithLabelValues(name, result).Inc()
	return on
}

func (s *Set) eval(name, user string) bool {
	st := s.cur.Load()
	t, ok := st.toggles[name]
	switch {
	case !ok:
		return false
	case t.Enabled:
		return true
	}
	j, err := jid.Parse(user)
	if err != nil {
		return false
	}
	bare := j.Bare().String()
	return st.users[name][bare] || Bucket(name, bare) < t.Percent
}

// Allows reports whether the behaviour behind toggle name is on for the
// user bareJID when the behaviour is on by default: on unless the
// configuration names the toggle and it is off for the user. Features
// that existed before their toggle use it, so that nothing changes until
// an operator configures one.
func (s *Set) Allows(name, bareJID string) bool {
	if !s.Configured(name) {
		return true
	}
	return s.Enabled(name, bareJID)
}

// Configured reports whether the configuration in force names toggle
// name, so that a feature can keep its default when the operator has not
// set a toggle for it. It is not an evaluation and is not counted.
func (s *Set) Configured(name string) bool {
	_, ok := s.cur.Load().toggles[name]
	return ok
}

// Bucket returns the rollout bucket (0–99) of user for toggle name: the
// toggle is on for user at any Percent above it.
func Bucket(name, bare string) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(bare))
	return int(h.Sum64() % 100)
}

// Info is a toggle as listed for operators. Overridden says it was set
// at runtime (Override) and differs from the file until the next reload.
type Info struct {
	Name string `json:"name"`
	Toggle
	Overridden bool `json:"overridden,omitempty"`
}

// List returns the toggles in force, sorted by name.
func (s *Set) List() []Info {
	st := s.cur.Load()
	out := make([]Info, 0, len(st.toggles))
	for _, name := range slices.Sorted(maps.Keys(st.toggles)) {
		out = append(out, Info{Name: name, Toggle: st.toggles[name], Overridden: st.overridden[name]})
	}
	return out
}

// A Gate is a toggle the server consults, and what it gates.
type Gate struct {
	Name  string `json:"name"`
	Gates string `json:"gates"`
}

// A Feature is a toggle with its state, as GET /api/v1/features lists it.
type Feature struct {
	Info
	// Gates says what the server does with the toggle; empty for a
	// toggle in the configuration that nothing consults.
	Gates string `json:"gates,omitempty"`
	// Configured is false for a gate the configuration does not name:
	// its behaviour is on for everyone (Allows).
	Configured bool `json:"configured"`
	// State sums it up: "everyone", "rollout" (some users) or "nobody".
	State string `json:"state"`
}

// Features lists the gates and every configured toggle, sorted by name.
func (s *Set) Features(gates []Gate) []Feature {
	doc := map[string]string{}
	for _, g := range gates {
		doc[g.Name] = g.Gates
	}
	byName := map[string]Feature{}
	for _, g := range gates {
		byName[g.Name] = Feature{Info: Info{Name: g.Name, Toggle: Toggle{Enabled: true}}, Gates: g.Gates, State: "everyone"}
	}
	for _, in := range s.List() {
		f := Feature{Info: in, Gates: doc[in.Name], Configured: true}
		switch {
		case in.Enabled || in.Percent == 100:
			f.State = "everyone"
		case len(in.Users) > 0 || in.Percent > 0:
			f.State = "rollout"
		default:
			f.State = "nobody"
		}
		byName[in.Name] = f
	}
	out := make([]Feature, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[name])
	}
	return out
}

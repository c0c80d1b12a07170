package toggles

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/metrics"
)

func newSet(t *testing.T, cfg Config) *Set {
	t.Helper()
	s, err := New(cfg, metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnabled(t *testing.T) {
	s := newSet(t, Config{
		"everyone": {Enabled: true},
		"named":    {Users: []string{"Alice@Example.com"}},
		"nobody":   {},
		"all":      {Percent: 100},
		"none":     {Percent: 0, Users: nil},
	})
	tests := []struct {
		name, toggle, user string
		want               bool
	}{
		{name: "enabled", toggle: "everyone", user: "zed@example.com", want: true},
		{name: "enabled, bad jid", toggle: "everyone", user: "@@", want: true},
		{name: "listed user normalised", toggle: "named", user: "alice@example.com", want: true},
		{name: "listed user full jid", toggle: "named", user: "alice@example.com/phone", want: true},
		{name: "unlisted user", toggle: "named", user: "bob@example.com", want: false},
		{name: "off", toggle: "nobody", user: "alice@example.com", want: false},
		{name: "percent 100", toggle: "all", user: "bob@example.com", want: true},
		{name: "percent 0", toggle: "none", user: "bob@example.com", want: false},
		{name: "unknown toggle", toggle: "missing", user: "alice@example.com", want: false},
	}
	for _, tt := range tests {
		if got := s.Enabled(tt.toggle, tt.user); got != tt.want {
			t.Errorf("%s: Enabled(%q, %q) = %v, want %v", tt.name, tt.toggle, tt.user, got, tt.want)
		}
	}
	if got := testutil.ToFloat64(s.evals.WithLabelValues("named", "on")); got != 2 {
		t.Errorf("evaluations{named,on} = %v, want 2", got)
	}
}

// TestPercentRollout checks that a percentage picks about that share of
// users, the same users every time, a superset when raised, and different
// users for different toggles.
func TestPercentRollout(t *testing.T) {
	users := make([]string, 2000)
	for i := range users {
		users[i] = fmt.Sprintf("player%d@example.com", i)
	}
	on := func(s *Set, toggle string) map[string]bool {
		m := map[string]bool{}
		for _, u := range users {
			if s.Enabled(toggle, u) {
				m[u] = true
			}
		}
		return m
	}
	s := newSet(t, Config{"a": {Percent: 10}, "b": {Percent: 10}})
	a10, b10 := on(s, "a"), on(s, "b")
	if n := len(a10); n < 140 || n > 260 {
		t.Errorf("10%% of %d users = %d", len(users), n)
	}
	same := 0
	for u := range a10 {
		if b10[u] {
			same++
		}
	}
	if same > len(a10)/2 {
		t.Errorf("toggles a and b share %d of %d users: the hash ignores the toggle name", same, len(a10))
	}
	if err := s.Update(Config{"a": {Percent: 30}, "b": {Percent: 10}}); err != nil {
		t.Fatal(err)
	}
	a30 := on(s, "a")
	for u := range a10 {
		if !a30[u] {
			t.Fatalf("%s was in at 10%% and out at 30%%", u)
		}
	}
	if again := on(s, "b"); len(again) != len(b10) {
		t.Errorf("b changed across an update that did not touch it: %d then %d", len(b10), len(again))
	}
}

func TestUpdateKeepsOldOnError(t *testing.T) {
	s := newSet(t, Config{"x": {Enabled: true}})
	err := s.Update(Config{"x": {Percent: 101}, "Bad-Name": {}, "y": {Users: []string{"example.com", "a@b/c"}}})
	for _, want := range []string{"toggles.x.percent", "toggles.Bad-Name", `toggles.y.users: "example.com"`, `"a@b/c"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Update error %v lacks %q", err, want)
		}
	}
	if !s.Enabled("x", "a@example.com") {
		t.Error("a failed update replaced the toggles in force")
	}
	if l := s.List(); len(l) != 1 || l[0].Name != "x" || !l[0].Enabled {
		t.Errorf("List = %+v", l)
	}
}

func TestMetricNames(t *testing.T) {
	reg := metrics.New()
	s, err := New(Config{"x": {}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	s.Enabled("x", "a@example.com")
	if err := metrics.Lint(reg, "toggles"); err != nil {
		t.Error(err)
	}
}

func TestOverrideUntilReload(t *testing.T) {
	s := newSet(t, Config{"a": {Percent: 0}, "b": {Enabled: true}})
	const u = "alice@example.net"
	if err := s.Override("a", Toggle{Users: []string{u}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Override("c", Toggle{Percent: 101}); err == nil {
		t.Error("an invalid override was accepted")
	}
	if err := s.Override("Bad-Name", Toggle{}); err == nil {
		t.Error("an invalid name was accepted")
	}
	if !s.Enabled("a", u) || s.Enabled("a", "bob@example.net") || !s.Enabled("b", u) {
		t.Error("override not in force, or others changed")
	}
	got := s.List()
	if len(got) != 2 || !got[0].Overridden || got[1].Overridden {
		t.Errorf("List = %+v, want a overridden, b not", got)
	}
	if err := s.Update(Config{"a": {}}); err != nil {
		t.Fatal(err)
	}
	if s.Enabled("a", u) || s.List()[0].Overridden {
		t.Error("the override survived a reload")
	}
}

func TestOverrideWithoutConfig(t *testing.T) {
	s := newSet(t, nil)
	if err := s.Override("a", Toggle{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if !s.Enabled("a", "alice@example.net") {
		t.Error("override of an empty configuration not in force")
	}
}

func TestAllowsAndFeatures(t *testing.T) {
	s := newSet(t, Config{
		"off":     {},
		"some":    {Percent: 30},
		"all":     {Percent: 100},
		"unknown": {Users: []string{"alice@example.net"}},
	})
	gates := []Gate{{"off", "x"}, {"some", "y"}, {"all", "z"}, {"default_on", "w"}}
	for _, tc := range []struct {
		name  string
		allow bool // for a user
		state string
		conf  bool
	}{
		{"off", false, "nobody", true},
		{"all", true, "everyone", true},
		{"default_on", true, "everyone", false},
		{"unknown", true, "rollout", true},
	} {
		if got := s.Allows(tc.name, "alice@example.net"); got != tc.allow {
			t.Errorf("Allows(%s) = %v, want %v", tc.name, got, tc.allow)
		}
		var f *Feature
		for _, x := range s.Features(gates) {
			if x.Name == tc.name {
				f = &x
			}
		}
		if f == nil || f.State != tc.state || f.Configured != tc.conf {
			t.Errorf("feature %s = %+v, want state %s configured %v", tc.name, f, tc.state, tc.conf)
		}
	}
	if fs := s.Features(gates); len(fs) != 5 || fs[0].Name != "all" || fs[1].Gates != "w" || fs[4].Gates != "" {
		t.Errorf("Features = %+v", fs)
	}
}

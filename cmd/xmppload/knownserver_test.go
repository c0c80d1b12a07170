package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/certs"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/muc"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage/pebble"
)

// The known server: xmppd's own c2s server with roster and MUC, started in
// the test process, plus a faults feature that drops, delays and
// duplicates chosen measured messages by a rule on their sequence number.
// What the load generator reports is then checked against what the
// server was made to do, message by message.

// A faultRule says what the server does to measured message seq: drop it,
// hold it for delay before routing it, or route it twice. At most one
// applies; drop wins over delay, delay over duplicate.
type faultRule struct {
	drop  func(seq int) bool
	delay func(seq int) time.Duration
	dup   func(seq int) bool
}

// runFaults is what the faults feature saw and did in one run.
type runFaults struct {
	seen int
	seqs map[int]int // times each sequence number reached the server
	// held maps each sequence number the server routed (not dropped)
	// to how long it held it first.
	held     map[int]time.Duration
	dropped  int
	delayed  int
	dupped   int
	maxDelay time.Duration
}

// faults is a c2s.Feature for tests only: an outbound filter on every
// message a client sends that carries xmppload's marker.
type faults struct {
	rule faultRule
	srv  *c2s.Server // set once the server is built, before it serves

	mu   sync.Mutex
	runs map[int]*runFaults
	// held counts delayed messages not yet routed; a test waits for them
	// before the server shuts down.
	held sync.WaitGroup
}

func newFaults(rule faultRule) *faults { return &faults{rule: rule, runs: map[int]*runFaults{}} }

func (f *faults) Register(r *c2s.Registry) error {
	r.FilterOutbound(f.filter)
	return nil
}

var _ c2s.Feature = (*faults)(nil)

func (f *faults) filter(_ context.Context, s *c2s.Session, st *stanza.Element, _ jid.JID) (bool, *c2s.StanzaError) {
	if st.Name.Local != "message" {
		return false, nil
	}
	body, ok := strings.CutPrefix(st.ChildText("", "body"), marker)
	if !ok {
		return false, nil
	}
	run, seq, _, ok := parseMarker([]byte(body))
	if !ok {
		return false, nil
	}
	f.mu.Lock()
	rf := f.runs[run]
	if rf == nil {
		rf = &runFaults{seqs: map[int]int{}, held: map[int]time.Duration{}}
		f.runs[run] = rf
	}
	rf.seen++
	rf.seqs[seq]++
	var delay time.Duration
	var drop, dup bool
	switch {
	case f.rule.drop != nil && f.rule.drop(seq):
		drop = true
		rf.dropped++
	case f.rule.delay != nil && f.rule.delay(seq) > 0:
		delay = f.rule.delay(seq)
		rf.delayed++
		rf.maxDelay = max(rf.maxDelay, delay)
	case f.rule.dup != nil && f.rule.dup(seq):
		dup = true
		rf.dupped++
	}
	if !drop {
		rf.held[seq] = delay
	}
	f.mu.Unlock()
	switch {
	case drop:
		return true, nil
	case delay > 0:
		// Held off the sender's goroutine: other messages flow meanwhile.
		held := st.Copy()
		f.held.Add(1)
		time.AfterFunc(delay, func() {
			defer f.held.Done()
			f.srv.Route(context.Background(), s, held)
		})
		return true, nil
	case dup:
		// The copy goes first; the original follows as usual.
		f.srv.Route(context.Background(), s, st.Copy())
	}
	return false, nil
}

// run returns a copy of what the feature saw of run.
func (f *faults) run(run int) runFaults {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rf := f.runs[run]; rf != nil {
		c := *rf
		c.seqs, c.held = maps.Clone(rf.seqs), maps.Clone(rf.held)
		return c
	}
	return runFaults{}
}

// knownServer is one in-process xmppd with load users provisioned.
type knownServer struct {
	addr   string
	faults *faults
}

const (
	testPrefix   = "ld"
	testPassword = "loadpass"
)

// startKnownServer starts the server with users testPrefix0 … (users-1)
// and the given fault rule. Rate limits are off: the tests measure
// accounting, not throttles.
func startKnownServer(t *testing.T, users int, rule faultRule) *knownServer {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := auth.NewAccounts(db.KV(), "localhost", auth.Config{})
	for i := range users {
		if err := acc.Add(t.Context(), fmt.Sprintf("%s%d", testPrefix, i), testPassword); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	rosters, err := roster.New(roster.Options{
		Store:   crdtstore.New(db.Documents(), roster.Kind, crdt.NewWriter("roster@test", crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Metrics: reg,
		Log:     log,
	})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := muc.New(muc.Options{
		ServerDomain: "localhost",
		Metrics:      reg,
		Log:          log,
		Config:       muc.Config{MessagesPerSecond: 10000, MessageBurst: 10000},
	})
	if err != nil {
		t.Fatal(err)
	}
	// With no files configured, certs makes a self-signed certificate.
	tlsCerts, err := certs.Open(certs.Config{}, certs.Options{Domain: "localhost", DataDir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	f := newFaults(rule)
	cfg := c2s.Config{StanzasPerSecond: -1, BytesPerSecond: -1, AllowRegistration: true}
	srv, err := c2s.NewServer(cfg, c2s.Options{
		Log:      log,
		Metrics:  reg,
		Accounts: acc,
		TLS:      tlsCerts.TLSConfig(),
		Features: []c2s.Feature{rosters, rooms, f},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeSTARTTLS(ln)
	t.Cleanup(func() {
		f.held.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &knownServer{addr: ln.Addr().String(), faults: f}
}

// load runs xmppload's workload against ks with the common flags and
// decodes the JSON result's metrics into metrics. wantErr says whether
// the workload is expected to fail; either way the result is decoded.
func (ks *knownServer) load(t *testing.T, metrics any, wantErr bool, args ...string) Result {
	t.Helper()
	args = append(args[:1:1], append([]string{"--addr", ks.addr, "--prefix", testPrefix, "--password", testPassword, "--max-time", "2m"}, args[1:]...)...)
	var out, errb bytes.Buffer
	err := run(t.Context(), args, &out, &errb)
	if (err != nil) != wantErr {
		t.Fatalf("xmppload %s: err = %v, want error: %v\n%s", strings.Join(args, " "), err, wantErr, errb.String())
	}
	if err != nil {
		return Result{}
	}
	var res struct {
		Result
		Metrics json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, out.String())
	}
	if err := json.Unmarshal(res.Metrics, metrics); err != nil {
		t.Fatalf("metrics: %v\n%s", err, res.Metrics)
	}
	if res.Workload != args[0] || res.Target != ks.addr {
		t.Errorf("result names workload %q target %q, want %q %q", res.Workload, res.Target, args[0], ks.addr)
	}
	t.Logf("%s", out.String())
	return res.Result
}

// checkLogins checks a login summary of n users that all succeeded.
func checkLogins(t *testing.T, l Logins, n int) {
	t.Helper()
	if l.Attempted != n || l.OK != n || l.Failed != 0 || l.FirstError != "" {
		t.Errorf("logins = %+v, want %d attempted and ok, none failed", l, n)
	}
	if l.Latency.Count != n || l.Latency.P50 <= 0 || l.Latency.Max < l.Latency.P99 || l.Latency.P99 < l.Latency.P50 {
		t.Errorf("login latency %+v: not %d ordered samples", l.Latency, n)
	}
}

// count returns how many seq in [0, n) satisfy f.
func count(n int, f func(int) bool) int {
	c := 0
	for seq := range n {
		if f(seq) {
			c++
		}
	}
	return c
}

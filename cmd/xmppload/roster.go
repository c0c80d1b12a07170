package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// contactsOf returns the contacts of user i among n users: the c/2 users
// on each side of i on a ring, so every contact relation is mutual and
// every user has exactly c contacts (c even, c < n).
func contactsOf(i, n, c int) []int {
	out := make([]int, 0, c)
	for d := 1; d <= c/2; d++ {
		out = append(out, (i+d)%n, (i-d+n)%n)
	}
	return out
}

func checkContacts(n, c int) error {
	if c < 2 || c%2 != 0 || c >= n {
		return fmt.Errorf("%w: --contacts %d: want an even number ≥ 2 and below --users (%d)", errUsage, c, n)
	}
	return nil
}

// SetupMetrics is the result of roster-setup.
type SetupMetrics struct {
	Logins Logins `json:"logins"`
	// Pairs is the number of mutual contact relations wanted; PairsDone
	// those completed by this run's handshakes (the rest were already in
	// the rosters).
	Pairs         int     `json:"pairs"`
	PairsDone     int     `json:"pairs_done"`
	Window        int     `json:"window"`
	Complete      int     `json:"users_complete"`
	BothItems     int     `json:"both_items"`
	WantBothItems int     `json:"want_both_items"`
	WallS         float64 `json:"wall_s"`
	PairsPerS     float64 `json:"pairs_per_s"`
}

// setup is the shared state of one roster-setup run: who asked whom, which
// contacts each user's roster holds with subscription='both', and the
// handshakes in flight. One mutex guards it all: the handlers of every
// session touch two users' state at once, and the rate is bounded by the
// server, not by this lock.
type setup struct {
	n, c    int
	bareIdx map[string]int
	mu      sync.Mutex
	asked   []map[int]bool // asked[i][j]: i sent subscribe to j
	both    []map[int]bool // both[i][j]: i's roster holds j with subscription='both'
	pending map[[2]int]bool
	done    int // handshakes completed
	slots   chan struct{}
}

func pairOf(i, j int) [2]int {
	if i > j {
		i, j = j, i
	}
	return [2]int{i, j}
}

// markBoth records that i's roster holds j with subscription='both' and,
// when j's holds i too, ends the pair's handshake and frees its slot.
func (s *setup) markBoth(i, j int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.both[i][j] = true
	p := pairOf(i, j)
	if s.pending[p] && s.both[j][i] {
		delete(s.pending, p)
		s.done++
		<-s.slots
	}
}

// complete counts the users whose rosters hold all c contacts.
func (s *setup) complete() (users, items int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.both {
		items += len(b)
		if len(b) >= s.c {
			users++
		}
	}
	return users, items
}

func rosterSetupFlags(fs *flag.FlagSet) workloadFunc {
	contacts := fs.Int("contacts", 50, "mutual contacts per user (even)")
	timeout := fs.Duration("setup-timeout", 5*time.Minute, "bound on the subscription handshakes")
	window := fs.Int("window", 32, "subscription handshakes in flight at once")
	stall := fs.Duration("stall", time.Minute, "give up when no handshake completes for this long")
	return func(ctx context.Context, e *env) (any, any, error) {
		if err := checkContacts(e.users, *contacts); err != nil {
			return nil, nil, err
		}
		if *window < 1 {
			return nil, nil, fmt.Errorf("%w: --window %d: want at least 1", errUsage, *window)
		}
		n, c := e.users, *contacts
		params := map[string]any{"users": n, "contacts": c, "window": *window}
		s := &setup{n: n, c: c, bareIdx: make(map[string]int, n), asked: make([]map[int]bool, n),
			both: make([]map[int]bool, n), pending: map[[2]int]bool{}, slots: make(chan struct{}, *window)}
		for i := range n {
			s.bareIdx[e.bareJID(i)] = i
			s.asked[i], s.both[i] = map[int]bool{}, map[int]bool{}
		}
		// A roster get first: servers push roster changes only to
		// resources that asked for the roster (RFC 6121 §2.1.6).
		// What the roster already holds counts, so that setup can be run
		// again on a provisioned server and only completes what is missing.
		conns, logins := loginAll(ctx, e, indexes(n), e.concurrency, "setup", func(k int, cn *conn) error {
			res, err := cn.iq("<iq type='get' id='roster0'><query xmlns='" + nsRoster + "'/></iq>")
			if err != nil {
				return fmt.Errorf("roster get: %w", err)
			}
			if q := res.Child(nsRoster, "query"); q != nil {
				s.mu.Lock()
				for _, it := range q.Elements() {
					if j, ok := s.bareIdx[it.Get("jid")]; ok && it.Get("subscription") == "both" {
						s.both[k][j] = true
					}
				}
				s.mu.Unlock()
			}
			return cn.send([]byte("<presence/>"))
		})
		m := SetupMetrics{Logins: logins, Pairs: n * c / 2, WantBothItems: n * c, Window: *window}
		if logins.Failed > 0 {
			closeAll(conns, nil)
			return params, m, fmt.Errorf("%d logins failed (first: %s)", logins.Failed, logins.FirstError)
		}
		wait := serveAll(conns, func(k int, kind string, b []byte) {
			switch kind {
			case "presence":
				if rawAttr(b, "type") != "subscribe" {
					return
				}
				from := bareOf(rawAttr(b, "from"))
				conns[k].send([]byte("<presence type='subscribed' to='" + from + "'/>"))
				j, ok := s.bareIdx[from]
				if !ok {
					return
				}
				s.mu.Lock()
				ask := !s.asked[k][j]
				s.asked[k][j] = true
				s.mu.Unlock()
				if ask {
					conns[k].send([]byte("<presence type='subscribe' to='" + from + "'/>"))
				}
			case "iq":
				if rawAttr(b, "type") != "set" {
					return
				}
				el, err := parseElement(b)
				if err != nil {
					return
				}
				q := el.Child(nsRoster, "query")
				if q == nil {
					return
				}
				for _, it := range q.Elements() {
					if j, ok := s.bareIdx[it.Get("jid")]; ok && it.Get("subscription") == "both" {
						s.markBoth(k, j)
					}
				}
			}
		})
		start := time.Now()
		// Each pair is started once, by the lower ring neighbour: a roster
		// set (RFC 6121 §2.4), then a subscription request (§3.1); the
		// contact's session approves and asks back, and this one approves.
		// At most --window handshakes are in flight. Sent all at once,
		// thousands of roster sets and subscription requests only queue
		// up in the server (ejabberd and Prosody write one roster change
		// at a time, at a cost that grows with the roster), no handshake
		// completes until the queues drain, and a server still draining
		// them after the client gave up is busy through the next workload.
		err := s.run(ctx, e, conns, time.Now().Add(*timeout), *stall)
		m.WallS = round3(time.Since(start).Seconds())
		s.mu.Lock()
		m.PairsDone = s.done
		s.mu.Unlock()
		if m.WallS > 0 {
			m.PairsPerS = round3(float64(m.PairsDone) / m.WallS)
		}
		m.Complete, m.BothItems = s.complete()
		// Leave cleanly, so the storm starts with everyone offline.
		for _, cn := range conns {
			if cn != nil {
				cn.send([]byte("<presence type='unavailable'/>"))
			}
		}
		closeAll(conns, wait)
		if err != nil {
			return params, m, err
		}
		if m.Complete < n {
			return params, m, fmt.Errorf("only %d of %d users reached %d mutual contacts", m.Complete, n, c)
		}
		return params, m, ctx.Err()
	}
}

// run starts every missing pair's handshake, at most cap(s.slots) at a
// time, and waits for them all; it gives up at deadline, or when no
// handshake has completed for stall.
func (s *setup) run(ctx context.Context, e *env, conns []*conn, deadline time.Time, stall time.Duration) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastDone, lastChange, lastLog := -1, time.Now(), time.Time{}
	// check reports progress and says why to stop, if it is time to.
	check := func() error {
		s.mu.Lock()
		done, inFlight := s.done, len(s.pending)
		s.mu.Unlock()
		if done != lastDone {
			lastDone, lastChange = done, time.Now()
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			e.log.Info("roster setup", "pairs_done", done, "in_flight", inFlight)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("setup timeout: %d handshakes done, %d in flight", done, inFlight)
		case time.Since(lastChange) > stall:
			return fmt.Errorf("no handshake completed for %s: %d done, %d in flight", stall, done, inFlight)
		}
		return nil
	}
	for i := range s.n {
		for d := 1; d <= s.c/2; d++ {
			j := (i + d) % s.n
			s.mu.Lock()
			have := s.both[i][j] && s.both[j][i]
			s.mu.Unlock()
			if have {
				continue
			}
			for acquired := false; !acquired; {
				select {
				case s.slots <- struct{}{}:
					acquired = true
				case <-tick.C:
					if err := check(); err != nil {
						return err
					}
				}
			}
			s.mu.Lock()
			s.pending[pairOf(i, j)] = true
			s.asked[i][j] = true
			s.mu.Unlock()
			bare := e.bareJID(j)
			msg := fmt.Sprintf("<iq type='set' id='rs%d'><query xmlns='%s'><item jid='%s' name='%s'><group>Friends</group></item></query></iq><presence type='subscribe' to='%s'/>", j, nsRoster, bare, e.userName(j), bare)
			if err := conns[i].send([]byte(msg)); err != nil {
				return fmt.Errorf("provision %s: %w", e.userName(i), err)
			}
		}
	}
	for {
		s.mu.Lock()
		left := len(s.pending)
		s.mu.Unlock()
		if left == 0 {
			return nil
		}
		<-tick.C
		if err := check(); err != nil {
			return err
		}
	}
}

// bareOf strips the resource from a JID.
func bareOf(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// StormMetrics is the result of roster-storm.
type StormMetrics struct {
	Logins Logins `json:"logins"`
	// Roster items received in the roster get, and those with
	// subscription='both'; per user, minimum and mean.
	RosterItemsMin  int     `json:"roster_items_min"`
	RosterItemsMean float64 `json:"roster_items_mean"`
	BothItemsMin    int     `json:"both_items_min"`
	// Available presence stanzas received from contacts after login, in
	// total (a contact whose login overlaps the user's may be seen twice:
	// by its broadcast and in answer to the user's probe, RFC 6121
	// §4.2.2–4.3), the distinct (user, contact) pairs among them, of
	// PresenceWant, and the fewest distinct available contacts any user saw.
	PresenceReceived   int     `json:"presence_received"`
	PresenceDistinct   int     `json:"presence_distinct"`
	PresenceWant       int     `json:"presence_want"`
	ContactsOnlineMin  int     `json:"contacts_seen_online_min"`
	AllPresenceAfterS  float64 `json:"all_presence_after_s"`
	Server             Server  `json:"server"`
	CPUPerLoginMs      float64 `json:"cpu_per_login_ms"`
	PresencePerSession float64 `json:"presence_per_session"`
}

func rosterStormFlags(fs *flag.FlagSet) workloadFunc {
	contacts := fs.Int("contacts", 50, "mutual contacts per user, as provisioned by roster-setup")
	settle := fs.Duration("settle", 30*time.Second, "bound on waiting for every contact's presence")
	return func(ctx context.Context, e *env) (any, any, error) {
		if err := checkContacts(e.users, *contacts); err != nil {
			return nil, nil, err
		}
		n, c := e.users, *contacts
		params := map[string]any{"users": n, "contacts": c, "concurrency": e.concurrency, "mech": e.dial.mech, "tls": e.dial.tlsMode}
		items := make([]int, n)
		both := make([]int, n)
		seen := make([]map[string]bool, n)
		var seenMu sync.Mutex
		var full, received atomic.Int64
		for i := range seen {
			seen[i] = map[string]bool{}
		}
		before, err := readProc(e.pid)
		if err != nil {
			return nil, nil, err
		}
		start := time.Now()
		conns, logins := loginAll(ctx, e, indexes(n), e.concurrency, "storm", func(k int, cn *conn) error {
			res, err := cn.iq("<iq type='get' id='roster1'><query xmlns='" + nsRoster + "'/></iq>")
			if err != nil {
				return fmt.Errorf("roster get: %w", err)
			}
			if q := res.Child(nsRoster, "query"); q != nil {
				for _, it := range q.Elements() {
					items[k]++
					if it.Get("subscription") == "both" {
						both[k]++
					}
				}
			}
			return cn.send([]byte("<presence/>"))
		})
		m := StormMetrics{Logins: logins, PresenceWant: n * c}
		wait := serveAll(conns, func(k int, kind string, b []byte) {
			if kind != "presence" || rawAttr(b, "type") != "" {
				return
			}
			from := bareOf(rawAttr(b, "from"))
			if from == bareOf(conns[k].jid) {
				return // our own presence, reflected
			}
			received.Add(1)
			seenMu.Lock()
			had := seen[k][from]
			seen[k][from] = true
			done := !had && len(seen[k]) == c
			seenMu.Unlock()
			if done {
				full.Add(1)
			}
		})
		defer closeAll(conns, wait)
		deadline := time.Now().Add(*settle)
		for full.Load() < int64(logins.OK) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		after, err := readProc(e.pid)
		if err != nil {
			return params, m, err
		}
		if full.Load() >= int64(logins.OK) {
			m.AllPresenceAfterS = round3(time.Since(start).Seconds())
		}
		m.Server = serverDelta(e.pid, before, after)
		m.PresenceReceived = int(received.Load())
		m.RosterItemsMin, m.BothItemsMin, m.ContactsOnlineMin = -1, -1, -1
		sum := 0
		seenMu.Lock()
		for k, cn := range conns {
			if cn == nil {
				continue
			}
			sum += items[k]
			m.RosterItemsMin = minOr(m.RosterItemsMin, items[k])
			m.BothItemsMin = minOr(m.BothItemsMin, both[k])
			m.ContactsOnlineMin = minOr(m.ContactsOnlineMin, len(seen[k]))
			m.PresenceDistinct += len(seen[k])
		}
		seenMu.Unlock()
		if logins.OK > 0 {
			m.RosterItemsMean = round3(float64(sum) / float64(logins.OK))
			m.PresencePerSession = round3(float64(m.PresenceReceived) / float64(logins.OK))
			if e.pid != 0 {
				m.CPUPerLoginMs = round3(m.Server.CPUSeconds * 1000 / float64(logins.OK))
			}
		}
		if logins.Failed > 0 {
			return params, m, fmt.Errorf("%d logins failed (first: %s)", logins.Failed, logins.FirstError)
		}
		if m.BothItemsMin < c {
			return params, m, errors.New("rosters are not provisioned: run roster-setup with the same --users, --contacts and --prefix first")
		}
		return params, m, ctx.Err()
	}
}

func minOr(cur, v int) int {
	if cur < 0 || v < cur {
		return v
	}
	return cur
}

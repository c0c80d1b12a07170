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

// rosterUser is one provisioning session's subscription state.
type rosterUser struct {
	mu        sync.Mutex
	asked     map[string]bool // bare JIDs we sent subscribe to
	both      map[string]bool // contacts pushed with subscription='both'
	completed bool
}

// SetupMetrics is the result of roster-setup.
type SetupMetrics struct {
	Logins        Logins  `json:"logins"`
	Pairs         int     `json:"pairs"`
	Complete      int     `json:"users_complete"`
	BothItems     int     `json:"both_items"`
	WantBothItems int     `json:"want_both_items"`
	WallS         float64 `json:"wall_s"`
}

func rosterSetupFlags(fs *flag.FlagSet) workloadFunc {
	contacts := fs.Int("contacts", 50, "mutual contacts per user (even)")
	timeout := fs.Duration("setup-timeout", 5*time.Minute, "bound on the subscription handshakes")
	return func(ctx context.Context, e *env) (any, any, error) {
		if err := checkContacts(e.users, *contacts); err != nil {
			return nil, nil, err
		}
		n, c := e.users, *contacts
		params := map[string]any{"users": n, "contacts": c}
		bareIdx := make(map[string]int, n)
		for i := range n {
			bareIdx[e.bareJID(i)] = i
		}
		state := make([]*rosterUser, n)
		for i := range state {
			state[i] = &rosterUser{asked: map[string]bool{}, both: map[string]bool{}}
		}
		var complete, bothItems atomic.Int64
		// A roster get first: servers push roster changes only to
		// resources that asked for the roster (RFC 6121 §2.1.6).
		// What the roster already holds counts, so that setup can be run
		// again on a provisioned server and only completes what is missing.
		conns, logins := loginAll(ctx, e, indexes(n), e.concurrency, "setup", func(k int, c *conn) error {
			res, err := c.iq("<iq type='get' id='roster0'><query xmlns='" + nsRoster + "'/></iq>")
			if err != nil {
				return fmt.Errorf("roster get: %w", err)
			}
			if q := res.Child(nsRoster, "query"); q != nil {
				for _, it := range q.Elements() {
					if _, ok := bareIdx[it.Get("jid")]; ok && it.Get("subscription") == "both" {
						state[k].both[it.Get("jid")] = true
					}
				}
			}
			if len(state[k].both) >= *contacts {
				state[k].completed = true
				complete.Add(1)
			}
			return c.send([]byte("<presence/>"))
		})
		m := SetupMetrics{Logins: logins, Pairs: n * c / 2, WantBothItems: n * c}
		if logins.Failed > 0 {
			closeAll(conns, nil)
			return params, m, fmt.Errorf("%d logins failed (first: %s)", logins.Failed, logins.FirstError)
		}
		wait := serveAll(conns, func(k int, kind string, b []byte) {
			u := state[k]
			switch kind {
			case "presence":
				if rawAttr(b, "type") != "subscribe" {
					return
				}
				from := bareOf(rawAttr(b, "from"))
				conns[k].send([]byte("<presence type='subscribed' to='" + from + "'/>"))
				u.mu.Lock()
				ask := !u.asked[from]
				u.asked[from] = true
				u.mu.Unlock()
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
					jid := it.Get("jid")
					if _, ok := bareIdx[jid]; !ok {
						continue
					}
					u.mu.Lock()
					if it.Get("subscription") == "both" && !u.both[jid] {
						u.both[jid] = true
						bothItems.Add(1)
					}
					done := !u.completed && len(u.both) == c
					if done {
						u.completed = true
					}
					u.mu.Unlock()
					if done {
						complete.Add(1)
					}
				}
			}
		})
		start := time.Now()
		// Each pair is started once, by the lower ring neighbour: a roster
		// set (RFC 6121 §2.4), then a subscription request (§3.1); the
		// contact's session approves and asks back, and this one approves.
		for i := range n {
			var sb strings.Builder
			for d := 1; d <= c/2; d++ {
				j := (i + d) % n
				bare := e.bareJID(j)
				state[i].mu.Lock()
				done := state[i].both[bare]
				state[i].asked[bare] = true
				state[i].mu.Unlock()
				if done {
					continue
				}
				fmt.Fprintf(&sb, "<iq type='set' id='rs%d'><query xmlns='%s'><item jid='%s' name='%s'><group>Friends</group></item></query></iq><presence type='subscribe' to='%s'/>", j, nsRoster, bare, e.userName(j), bare)
			}
			if sb.Len() == 0 {
				continue
			}
			if err := conns[i].send([]byte(sb.String())); err != nil {
				closeAll(conns, wait)
				return params, m, fmt.Errorf("provision %s: %w", e.userName(i), err)
			}
			if i%50 == 49 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		deadline := time.Now().Add(*timeout)
		last, lastChange := int64(-1), time.Now()
		for complete.Load() < int64(n) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			if got := bothItems.Load(); got != last {
				last, lastChange = got, time.Now()
				e.log.Info("roster setup", "both_items", got, "complete_users", complete.Load(), "of", n)
			} else if time.Since(lastChange) > 30*time.Second {
				break // no progress: report what there is
			}
		}
		m.WallS = round3(time.Since(start).Seconds())
		m.Complete = int(complete.Load())
		for _, u := range state {
			u.mu.Lock()
			m.BothItems += len(u.both)
			u.mu.Unlock()
		}
		// Leave cleanly, so the storm starts with everyone offline.
		for _, cn := range conns {
			if cn != nil {
				cn.send([]byte("<presence type='unavailable'/>"))
			}
		}
		closeAll(conns, wait)
		if m.Complete < n {
			return params, m, fmt.Errorf("only %d of %d users reached %d mutual contacts", m.Complete, n, c)
		}
		return params, m, ctx.Err()
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
	// Presence stanzas received from contacts after login, in total, and
	// the fewest distinct available contacts any user saw.
	PresenceReceived   int     `json:"presence_received"`
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

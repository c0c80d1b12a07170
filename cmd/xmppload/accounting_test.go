package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// The load generator's loss, duplicate and latency accounting, checked
// against the known server (knownserver_test.go): every number the
// generator reports must equal what the server was made to do. The
// assertions are about accounting: the injected delay is a lower bound
// that must show in the percentiles, never a bound on the machine's speed.

const injectedDelay = 300 * time.Millisecond

// checkDelivery checks one run's accounting against what the faults
// feature saw and did, for messages expected at receivers each.
func checkDelivery(t *testing.T, d Delivery, rf runFaults, receivers int) {
	t.Helper()
	if rf.seen != d.Sent || len(rf.seqs) != d.Sent {
		t.Errorf("generator reports %d sent; the server saw %d messages with %d sequence numbers", d.Sent, rf.seen, len(rf.seqs))
	}
	for seq, n := range rf.seqs {
		if n != 1 || seq < 0 || seq >= d.Sent {
			t.Errorf("sequence number %d reached the server %d times (sent %d)", seq, n, d.Sent)
		}
	}
	if d.Expected != d.Sent*receivers {
		t.Errorf("expected deliveries %d, want sent %d × %d receivers", d.Expected, d.Sent, receivers)
	}
	if want := rf.dropped * receivers; d.Lost != want {
		t.Errorf("lost = %d, want %d (%d messages dropped × %d receivers)", d.Lost, want, rf.dropped, receivers)
	}
	if want := (d.Sent - rf.dropped) * receivers; d.Delivered != want {
		t.Errorf("delivered = %d, want %d", d.Delivered, want)
	}
	if want := rf.dupped * receivers; d.Duplicates != want {
		t.Errorf("duplicates = %d, want %d (%d messages routed twice × %d receivers)", d.Duplicates, want, rf.dupped, receivers)
	}
	if d.Errors != 0 || d.Foreign != 0 {
		t.Errorf("error bounces %d, deliveries from other runs %d; want none", d.Errors, d.Foreign)
	}
	if d.Latency.Count != d.Delivered {
		t.Errorf("latency samples %d, want one per delivery (%d)", d.Latency.Count, d.Delivered)
	}
	// Message seq is due seq/rate after the start, goes out at most 1 ms
	// early and is held as long as the server held it: the last delivery
	// cannot come sooner than the latest of those.
	var bound float64
	for seq, held := range rf.held {
		bound = max(bound, float64(seq)/d.TargetRate+held.Seconds()-0.001)
	}
	if d.Delivered > 0 && (d.LastDeliveryS < round3(bound) || math.Abs(d.DeliveredPerS*d.LastDeliveryS/float64(d.Delivered)-1) > 0.002) {
		t.Errorf("last delivery %v s (no sooner than %.3f s), %v delivered/s: inconsistent with %d deliveries", d.LastDeliveryS, bound, d.DeliveredPerS, d.Delivered)
	}
	l := d.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
}

// checkDelayShows checks that the injected delay shows in the tail and
// not in the median, given more than 1% of deliveries were delayed.
func checkDelayShows(t *testing.T, d Delivery, rf runFaults) {
	t.Helper()
	if rf.delayed == 0 || rf.delayed*100 <= d.Sent {
		t.Fatalf("test setup: %d of %d messages delayed, want over 1%%", rf.delayed, d.Sent)
	}
	delay := ms(rf.maxDelay)
	if d.Latency.Max < delay || d.Latency.P99 < delay {
		t.Errorf("p99 %.3f ms, max %.3f ms: the injected %.0f ms delay does not show", d.Latency.P99, d.Latency.Max, delay)
	}
	if d.Latency.P50 >= delay {
		t.Errorf("p50 %.3f ms is not under the %.0f ms delay of %d messages in %d", d.Latency.P50, delay, rf.delayed, d.Sent)
	}
}

func TestChatAccountingWithFaults(t *testing.T) {
	rule := faultRule{
		drop:  func(seq int) bool { return seq%7 == 6 },
		delay: func(seq int) time.Duration { return map[bool]time.Duration{true: injectedDelay}[seq%50 == 25] },
		dup:   func(seq int) bool { return seq%11 == 5 },
	}
	ks := startKnownServer(t, 6, rule)
	var m ChatMetrics
	ks.load(t, &m, false, "chat", "--users", "6", "--rate", "200", "--duration", "2s", "--drain", "1500ms", "--mech", "PLAIN")
	checkLogins(t, m.Logins, 6)
	if len(m.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(m.Runs))
	}
	d, rf := m.Runs[0], ks.faults.run(0)
	if d.Sent != 400 {
		t.Errorf("sent %d, want 200/s × 2 s = 400", d.Sent)
	}
	// The rules, counted independently of the feature's own tally.
	if want := count(d.Sent, rule.drop); rf.dropped != want {
		t.Errorf("server dropped %d, rule says %d", rf.dropped, want)
	}
	if want := count(d.Sent, func(s int) bool { return !rule.drop(s) && rule.delay(s) == 0 && rule.dup(s) }); rf.dupped != want {
		t.Errorf("server duplicated %d, rule says %d", rf.dupped, want)
	}
	if want := count(d.Sent, func(s int) bool { return !rule.drop(s) && rule.delay(s) > 0 }); rf.delayed != want {
		t.Errorf("server delayed %d, rule says %d", rf.delayed, want)
	}
	if rf.dropped == 0 || rf.dupped == 0 {
		t.Fatalf("test setup: faults %+v injected nothing", rf)
	}
	checkDelivery(t, d, rf, 1)
	checkDelayShows(t, d, rf)
	if d.Pass != nil || d.FailReason != "" {
		t.Errorf("chat (not chat-max) judged the run: pass %v, reason %q", d.Pass, d.FailReason)
	}
}

func TestChatCleanRunLosesNothing(t *testing.T) {
	ks := startKnownServer(t, 4, faultRule{})
	var m ChatMetrics
	ks.load(t, &m, false, "chat", "--users", "4", "--rates", "100, 150", "--duration", "1s", "--drain", "5s")
	checkLogins(t, m.Logins, 4)
	if len(m.Runs) != 2 {
		t.Fatalf("%d runs, want 2 (--rates 100,150)", len(m.Runs))
	}
	for run, d := range m.Runs {
		rf := ks.faults.run(run)
		checkDelivery(t, d, rf, 1)
		if want := []int{100, 150}[run]; d.Sent != want || d.TargetRate != float64(want) {
			t.Errorf("run %d: sent %d at target %v, want %d", run, d.Sent, d.TargetRate, want)
		}
		if d.Lost != 0 || d.Delivered != d.Sent || d.Duplicates != 0 {
			t.Errorf("run %d on a faultless server: lost %d, delivered %d of %d, duplicates %d", run, d.Lost, d.Delivered, d.Sent, d.Duplicates)
		}
		if d.Latency.Min < 0 {
			t.Errorf("run %d: a latency of %v ms: a message was stamped later than it was sent", run, d.Latency.Min)
		}
		if d.AchievedRate <= 0 || d.SendWallS <= 0 || d.DeliveredPerS <= 0 {
			t.Errorf("run %d: rates not measured: %+v", run, d)
		}
		// The generator never sends more than 1 ms ahead of schedule, so
		// however fast the machine, it cannot report beating the target.
		if limit := float64(d.Sent-1) / (float64(d.Sent-1)/d.TargetRate - 0.001); d.AchievedRate > round3(limit) {
			t.Errorf("run %d: achieved %v/s, over the %v/s target beyond the 1 ms send slack", run, d.AchievedRate, d.TargetRate)
		}
	}
}

func TestMUCAccountingWithFaults(t *testing.T) {
	rule := faultRule{
		drop:  func(seq int) bool { return seq%7 == 6 },
		delay: func(seq int) time.Duration { return map[bool]time.Duration{true: injectedDelay}[seq%20 == 10] },
		dup:   func(seq int) bool { return seq%10 == 3 },
	}
	const rooms, occupants = 2, 3
	ks := startKnownServer(t, rooms*occupants, rule)
	var m MUCMetrics
	ks.load(t, &m, false, "muc", "--rooms", fmt.Sprint(rooms), "--occupants", fmt.Sprint(occupants),
		"--rate", "40", "--duration", "1s", "--drain", "1500ms")
	checkLogins(t, m.Logins, rooms*occupants)
	if m.Joined != rooms*occupants || m.Created != rooms {
		t.Errorf("joined %d, created %d rooms; want %d and %d", m.Joined, m.Created, rooms*occupants, rooms)
	}
	d, rf := m.Run, ks.faults.run(0)
	if d.Sent != 40 {
		t.Errorf("sent %d, want 40", d.Sent)
	}
	if rf.dropped != 5 || rf.dupped != 3 || rf.delayed != 2 {
		t.Errorf("server dropped %d, duplicated %d, delayed %d; the rules say 5, 3, 2", rf.dropped, rf.dupped, rf.delayed)
	}
	checkDelivery(t, d, rf, occupants)
	checkDelayShows(t, d, rf)
}

// chat-max stops at the first step that loses a message or whose p99 is
// over the limit, and says why.
func TestChatMaxStopsAtFirstFailingStep(t *testing.T) {
	tests := []struct {
		name     string
		rule     faultRule
		p99Limit string
		reason   func(string) bool
		delayed  bool
	}{
		{
			name:     "loss",
			rule:     faultRule{drop: func(seq int) bool { return seq%7 == 6 }},
			p99Limit: "10s",
			reason:   func(r string) bool { return r == "lost 7 of 50" },
		},
		{
			name: "latency",
			rule: faultRule{delay: func(seq int) time.Duration {
				return map[bool]time.Duration{true: injectedDelay}[seq%25 == 12]
			}},
			p99Limit: "200ms",
			reason: func(r string) bool {
				return strings.HasPrefix(r, "p99 ") && strings.HasSuffix(r, "over 200.000 ms") && !strings.Contains(r, ";")
			},
			delayed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := startKnownServer(t, 4, tt.rule)
			var m ChatMetrics
			ks.load(t, &m, false, "chat-max", "--users", "4", "--rate", "50", "--step-factor", "2", "--max-rate", "200",
				"--duration", "1s", "--drain", "1s", "--p99-limit", tt.p99Limit)
			if len(m.Runs) != 1 {
				t.Fatalf("%d steps, want a stop at the first", len(m.Runs))
			}
			d, rf := m.Runs[0], ks.faults.run(0)
			if d.Pass == nil || *d.Pass || m.MaxRate != 0 || !tt.reason(d.FailReason) {
				t.Errorf("first step pass %v, reason %q, max passing rate %v; want a failure for %s alone and no passing rate",
					d.Pass, d.FailReason, m.MaxRate, tt.name)
			}
			checkDelivery(t, d, rf, 1)
			if tt.delayed {
				checkDelayShows(t, d, rf)
			}
		})
	}
}

func TestChatMaxClimbsWhileClean(t *testing.T) {
	ks := startKnownServer(t, 4, faultRule{})
	var m ChatMetrics
	// A p99 limit no loopback run reaches: this checks the stepping, not speed.
	ks.load(t, &m, false, "chat-max", "--users", "4", "--rate", "50", "--step-factor", "2", "--max-rate", "100",
		"--duration", "1s", "--drain", "5s", "--p99-limit", "10s")
	if len(m.Runs) != 2 || m.MaxRate != 100 {
		t.Fatalf("%d steps, max passing rate %v; want 2 steps (50, 100) and 100", len(m.Runs), m.MaxRate)
	}
	for run, d := range m.Runs {
		if d.Pass == nil || !*d.Pass || d.FailReason != "" {
			t.Errorf("step %d: pass %v, reason %q; want a pass", run, d.Pass, d.FailReason)
		}
		checkDelivery(t, d, ks.faults.run(run), 1)
	}
}

func TestStepFailure(t *testing.T) {
	ok := Delivery{TargetRate: 100, AchievedRate: 100, Expected: 10, Latency: Latency{P99: 5}}
	tests := []struct {
		name   string
		d      func(d Delivery) Delivery
		send   error
		reason string
	}{
		{name: "pass", d: func(d Delivery) Delivery { return d }},
		{name: "loss", d: func(d Delivery) Delivery { d.Lost = 2; return d }, reason: "lost 2 of 10"},
		{name: "bounce", d: func(d Delivery) Delivery { d.Errors = 1; return d }, reason: "1 error bounces"},
		{name: "duplicate", d: func(d Delivery) Delivery { d.Duplicates = 3; return d }, reason: "3 duplicates"},
		{name: "p99 at the limit passes", d: func(d Delivery) Delivery { d.Latency.P99 = 100; return d }},
		{name: "p99 over", d: func(d Delivery) Delivery { d.Latency.P99 = 100.5; return d }, reason: "p99 100.500 ms over 100.000 ms"},
		{name: "slow generator", d: func(d Delivery) Delivery { d.AchievedRate = 90; return d }, reason: "sent at 90.0/s, under 95% of 100.0/s"},
		{name: "send error and loss", d: func(d Delivery) Delivery { d.Lost = 1; return d }, send: fmt.Errorf("send: broken pipe"), reason: "send: broken pipe; lost 1 of 10"},
	}
	for _, tt := range tests {
		if got := stepFailure(tt.d(ok), tt.send, 100*time.Millisecond); got != tt.reason {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.reason)
		}
	}
}

func TestSmokeRegisterThenIdle(t *testing.T) {
	ks := startKnownServer(t, 0, faultRule{})
	var r Registration
	ks.load(t, &r, false, "register", "--users", "3", "--concurrency", "2")
	if r.Created != 3 || r.Existing != 0 || r.Failed != 0 || r.PerSecond <= 0 {
		t.Errorf("first registration %+v, want 3 created", r)
	}
	ks.load(t, &r, false, "register", "--users", "3")
	if r.Created != 0 || r.Existing != 3 || r.Failed != 0 {
		t.Errorf("second registration %+v, want 3 existing", r)
	}
	pid := os.Getpid()
	var m IdleMetrics
	ks.load(t, &m, false, "idle", "--users", "3", "--concurrency", "2", "--hold", "300ms", "--mech", "SCRAM-SHA-256", "--server-pid", fmt.Sprint(pid))
	checkLogins(t, m.Logins, 3)
	if m.Alive != 3 {
		t.Errorf("%d sessions alive after the hold, want 3", m.Alive)
	}
	if m.Server.PID != pid || m.Server.RSSBefore <= 0 || m.Server.RSSAfter <= 0 || m.Server.CPUSeconds < 0 || m.Server.WallS <= 0 {
		t.Errorf("server sample %+v: not this process's /proc", m.Server)
	}
	if m.CPUPerLoginMs < 0 || m.CPUPerLoginMs != round3(m.Server.CPUSeconds*1000/3) {
		t.Errorf("cpu per login %v ms, want server CPU %v s / 3 logins", m.CPUPerLoginMs, m.Server.CPUSeconds)
	}
	// Users that do not exist: every login fails, and says so.
	ks.load(t, &m, false, "idle", "--users", "2", "--prefix", "nobody", "--hold", "10ms")
	if m.Logins.OK != 0 || m.Logins.Failed != 2 || !strings.Contains(m.Logins.FirstError, "not-authorized") || m.Alive != 0 {
		t.Errorf("idle with unknown users: %+v, alive %d; want 2 failed logins (not-authorized)", m.Logins, m.Alive)
	}
}

func TestSmokeRosterSetupThenStorm(t *testing.T) {
	const users, contacts = 6, 4
	ks := startKnownServer(t, users, faultRule{})
	n, c := fmt.Sprint(users), fmt.Sprint(contacts)
	// The storm refuses to run on unprovisioned rosters.
	ks.load(t, &StormMetrics{}, true, "roster-storm", "--users", n, "--contacts", c, "--settle", "300ms")
	var s SetupMetrics
	ks.load(t, &s, false, "roster-setup", "--users", n, "--contacts", c)
	checkLogins(t, s.Logins, users)
	if s.Pairs != users*contacts/2 || s.Complete != users || s.BothItems != users*contacts || s.WantBothItems != users*contacts {
		t.Errorf("setup %+v: want %d pairs, %d users complete, %d both items", s, users*contacts/2, users, users*contacts)
	}
	pid := os.Getpid()
	var m StormMetrics
	ks.load(t, &m, false, "roster-storm", "--users", n, "--contacts", c, "--server-pid", fmt.Sprint(pid))
	checkLogins(t, m.Logins, users)
	if m.RosterItemsMin != contacts || m.RosterItemsMean != contacts || m.BothItemsMin != contacts {
		t.Errorf("rosters: min %d, mean %v, both min %d; want %d each", m.RosterItemsMin, m.RosterItemsMean, m.BothItemsMin, contacts)
	}
	// Each user sees each contact available at least once: by the
	// contact's broadcast or by the answer to its own probe, or both when
	// the two logins overlap.
	if m.PresenceWant != users*contacts || m.ContactsOnlineMin != contacts ||
		m.PresenceReceived < m.PresenceWant || m.PresenceReceived > 2*m.PresenceWant {
		t.Errorf("presence: received %d, want %d to %d; fewest contacts seen online %d, want %d",
			m.PresenceReceived, m.PresenceWant, 2*m.PresenceWant, m.ContactsOnlineMin, contacts)
	}
	if m.AllPresenceAfterS <= 0 || m.PresencePerSession != round3(float64(m.PresenceReceived)/users) {
		t.Errorf("all presence after %v s, %v per session: inconsistent with %d received", m.AllPresenceAfterS, m.PresencePerSession, m.PresenceReceived)
	}
	if m.Server.PID != pid || m.Server.RSSAfter <= 0 {
		t.Errorf("server sample %+v: not this process's /proc", m.Server)
	}
	// Setup again on provisioned rosters completes at once from what the
	// rosters hold.
	ks.load(t, &s, false, "roster-setup", "--users", n, "--contacts", c)
	if s.Complete != users || s.BothItems != users*contacts {
		t.Errorf("second setup %+v: want everyone complete", s)
	}
}

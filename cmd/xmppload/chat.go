package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The marker that starts the body of every measured message:
// "xl <run> <seq> <ns>", where ns is the scheduled send time in
// nanoseconds since the generator's clock base.
const marker = "xl "

// clockBase is the origin of send times; time.Since(clockBase) is
// monotonic, so latency is unaffected by wall-clock steps.
var clockBase = time.Now()

// A tracker accounts for one run of measured messages. Each message is
// expected once at each of expect receivers (one for chat, every occupant
// of the room for MUC), told apart by a slot in [0, expect): the first
// copy a receiver gets is a delivery, any further copy to the same
// receiver a duplicate, so a duplicate at one receiver never hides a loss
// at another.
type tracker struct {
	run     int
	expect  int             // receivers per message
	counts  []atomic.Uint32 // copies seen, per message and slot
	dups    atomic.Int64    // copies past the first at a receiver
	errors  atomic.Int64    // error bounces of measured messages
	foreign atomic.Int64    // deliveries from another run or to no slot
	// mu guards lat; a delivery's latency is appended under it, so the
	// number of deliveries is len(lat) and a snapshot sees both at once.
	mu  sync.Mutex
	lat []time.Duration
	// last is when the latest first delivery arrived (since clockBase).
	last time.Duration
}

func newTracker(run, messages, expect int) *tracker {
	return &tracker{run: run, expect: expect, counts: make([]atomic.Uint32, messages*expect), lat: make([]time.Duration, 0, messages*expect)}
}

// messages is the number of messages the run may send.
func (t *tracker) messages() int { return len(t.counts) / t.expect }

// delivered returns the number of first deliveries so far.
func (t *tracker) delivered() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(len(t.lat))
}

// body returns the body text of message seq scheduled at ns.
func (t *tracker) body(seq int, ns int64) string {
	return marker + strconv.Itoa(t.run) + " " + strconv.Itoa(seq) + " " + strconv.FormatInt(ns, 10)
}

// observe accounts for one received <message/> as framed from the
// stream by the receiver in slot. It reports whether the stanza carried a
// measured body.
func (t *tracker) observe(b []byte, slot int, now time.Duration) bool {
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		return false
	}
	run, seq, ns, ok := parseMarker(b[i+len(marker):])
	if !ok {
		return false
	}
	if run != t.run || seq < 0 || seq >= t.messages() || slot < 0 || slot >= t.expect {
		t.foreign.Add(1)
		return true
	}
	if rawAttr(b, "type") == "error" {
		t.errors.Add(1)
		return true
	}
	if t.counts[seq*t.expect+slot].Add(1) > 1 {
		t.dups.Add(1)
		return true
	}
	t.mu.Lock()
	t.lat = append(t.lat, now-time.Duration(ns))
	t.last = max(t.last, now)
	t.mu.Unlock()
	return true
}

// parseMarker reads "<run> <seq> <ns>" from the start of b.
func parseMarker(b []byte) (run, seq int, ns int64, ok bool) {
	var f [3]int64
	for k := range f {
		j := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			f[k] = f[k]*10 + int64(b[j]-'0')
			j++
		}
		if j == 0 || j > 18 {
			return 0, 0, 0, false
		}
		b = b[j:]
		if k < 2 {
			if len(b) == 0 || b[0] != ' ' {
				return 0, 0, 0, false
			}
			b = b[1:]
		}
	}
	return int(f[0]), int(f[1]), f[2], true
}

// Delivery is the accounting of one measured run.
type Delivery struct {
	TargetRate   float64 `json:"target_rate"`
	Sent         int     `json:"sent"`
	SendWallS    float64 `json:"send_wall_s"`
	AchievedRate float64 `json:"achieved_send_rate"`
	Expected     int     `json:"expected_deliveries"`
	Delivered    int     `json:"delivered"`
	Lost         int     `json:"lost"`
	Duplicates   int     `json:"duplicates"`
	Errors       int     `json:"error_bounces"`
	Foreign      int     `json:"from_other_runs"`
	// LastDeliveryS is when the last delivery arrived, in seconds from
	// the start of sending; DeliveredPerS is Delivered over it, so time
	// spent waiting for messages that never come does not dilute it.
	LastDeliveryS float64 `json:"last_delivery_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	Latency       Latency `json:"latency"`
	Server        Server  `json:"server"`
	// GeneratorCPUUtil is this process's own CPU over the run, in cores:
	// near 1 with the generator pinned to one core, the generator (not
	// the server) set the pace, and latency includes its queueing.
	GeneratorCPUUtil float64 `json:"generator_cpu_util"`
	// CPUPer10k is server CPU seconds per 10,000 deliveries.
	CPUPer10k float64 `json:"cpu_s_per_10k"`
	Pass      *bool   `json:"pass,omitempty"`
	// FailReason says why a chat-max step failed.
	FailReason string `json:"fail_reason,omitempty"`
}

// A sendFunc sends measured message seq with the given body.
type sendFunc func(seq int, body string) error

// measure sends messages at rate for dur through send, waits up to drain
// for the deliveries, and accounts for them. Send times are the scheduled
// times, so a generator or server that falls behind shows as latency
// rather than hiding it (no coordinated omission).
func measure(ctx context.Context, e *env, t *tracker, cur *atomic.Pointer[tracker], rate float64, dur, drain time.Duration, send sendFunc) (Delivery, error) {
	total := t.messages()
	cur.Store(t)
	before, err := readProc(e.pid)
	if err != nil {
		return Delivery{}, err
	}
	selfBefore, err := readProc(os.Getpid())
	if err != nil {
		return Delivery{}, err
	}
	start := time.Now()
	startNs := time.Since(clockBase)
	sent := 0
	var sendErr error
	for seq := 0; seq < total && ctx.Err() == nil; seq++ {
		due := startNs + time.Duration(float64(seq)/rate*float64(time.Second))
		now := time.Since(clockBase)
		if d := due - now; d > time.Millisecond {
			time.Sleep(d)
			now = time.Since(clockBase)
		}
		// Latency counts from the scheduled time when the generator is
		// late, but from the real send time when it is early: sends
		// within a millisecond of their time go at once rather than
		// sleeping, and must not show negative latencies.
		if err := send(seq, t.body(seq, int64(min(due, now)))); err != nil {
			sendErr = err
			break
		}
		sent++
	}
	sendWall := time.Since(start)
	want := int64(sent * t.expect)
	deadline := time.Now().Add(drain)
	for t.delivered() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	after, err := readProc(e.pid)
	if err != nil {
		return Delivery{}, err
	}
	selfAfter, err := readProc(os.Getpid())
	if err != nil {
		return Delivery{}, err
	}
	// One snapshot: deliveries and their latencies under the same lock,
	// so that Latency.Count == Delivered even while late copies arrive.
	t.mu.Lock()
	delivered := len(t.lat)
	last := t.last
	lat := summarize(t.lat) // sorts t.lat in place, harmless
	t.mu.Unlock()
	d := Delivery{
		TargetRate: rate, Sent: sent, SendWallS: round3(sendWall.Seconds()),
		Expected: int(want), Delivered: delivered,
		Duplicates: int(t.dups.Load()), Errors: int(t.errors.Load()), Foreign: int(t.foreign.Load()),
		Latency: lat, Server: serverDelta(e.pid, before, after),
		GeneratorCPUUtil: serverDelta(os.Getpid(), selfBefore, selfAfter).CPUUtil,
	}
	d.Lost = d.Expected - d.Delivered
	// The first message goes at the start, so sent messages on schedule
	// span sent−1 intervals of 1/rate: that is the rate they achieved.
	if sent > 1 && sendWall > 0 {
		d.AchievedRate = round3(float64(sent-1) / sendWall.Seconds())
	}
	if delivered > 0 {
		span := last - startNs
		d.LastDeliveryS = round3(span.Seconds())
		if span > 0 {
			d.DeliveredPerS = round3(float64(delivered) / span.Seconds())
		}
	}
	if d.Delivered > 0 && e.pid != 0 {
		d.CPUPer10k = round3(d.Server.CPUSeconds * 10000 / float64(d.Delivered))
	}
	if sendErr != nil {
		return d, fmt.Errorf("send: %w", sendErr)
	}
	return d, nil
}

// ChatMetrics is the result of the chat and chat-max workloads.
type ChatMetrics struct {
	Logins Logins     `json:"logins"`
	Runs   []Delivery `json:"runs"`
	// MaxRate is the highest rate that passed (chat-max only).
	MaxRate float64 `json:"max_passing_rate,omitempty"`
}

func chatFlags(fs *flag.FlagSet, findMax bool) workloadFunc {
	rate := fs.Float64("rate", 1000, "aggregate messages per second (chat-max: the first step)")
	dur := fs.Duration("duration", 10*time.Second, "how long each run sends")
	drain := fs.Duration("drain", 5*time.Second, "how long to wait for deliveries after sending")
	rates := fs.String("rates", "", "chat: comma-separated rates to run one after another (overrides --rate)")
	factor := fs.Float64("step-factor", 1.5, "chat-max: rate multiplier between steps")
	maxRate := fs.Float64("max-rate", 200000, "chat-max: highest rate tried")
	p99Limit := fs.Duration("p99-limit", 100*time.Millisecond, "chat-max: a step fails when p99 latency exceeds this")
	seed := fs.Uint64("seed", 1, "random seed for the choice of senders and recipients")
	return func(ctx context.Context, e *env) (any, any, error) {
		if e.users < 2 {
			return nil, nil, errors.New("chat needs at least 2 users")
		}
		plan, err := ratePlan(*rate, *rates, findMax, *factor, *maxRate)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		var cur atomic.Pointer[tracker]
		conns, logins := loginAll(ctx, e, indexes(e.users), e.concurrency, "chat", func(_ int, c *conn) error { return c.send([]byte("<presence/>")) })
		var online []*conn
		for _, c := range conns {
			if c != nil {
				online = append(online, c)
			}
		}
		wait := serveAll(conns, func(_ int, kind string, b []byte) {
			if kind == "message" {
				if t := cur.Load(); t != nil {
					t.observe(b, 0, time.Since(clockBase))
				}
			}
		})
		defer closeAll(conns, wait)
		m := ChatMetrics{Logins: logins}
		params := map[string]any{"users": e.users, "duration_s": dur.Seconds(), "drain_s": drain.Seconds(), "rates": plan, "find_max": findMax, "p99_limit_ms": ms(*p99Limit), "mech": e.dial.mech, "tls": e.dial.tlsMode}
		if len(online) < 2 {
			return params, m, fmt.Errorf("only %d sessions logged in (first error: %s)", len(online), logins.FirstError)
		}
		time.Sleep(500 * time.Millisecond) // let initial presence settle
		rng := rand.New(rand.NewPCG(*seed, 0))
		prefixes := make([]string, len(online))
		for k, c := range online {
			prefixes[k] = "<message type='chat' to='" + c.jid + "'><body>"
		}
		for run, r := range plan {
			if ctx.Err() != nil {
				break
			}
			n := int(r * dur.Seconds())
			t := newTracker(run, n, 1)
			d, err := measure(ctx, e, t, &cur, r, *dur, *drain, func(seq int, body string) error {
				from := rng.IntN(len(online))
				to := rng.IntN(len(online) - 1)
				if to >= from {
					to++
				}
				return online[from].send([]byte(prefixes[to] + body + "</body></message>"))
			})
			if findMax {
				d.FailReason = stepFailure(d, err, *p99Limit)
				pass := d.FailReason == ""
				d.Pass = &pass
				if pass {
					m.MaxRate = r
				}
				m.Runs = append(m.Runs, d)
				e.log.Info("chat-max step", "rate", r, "p99_ms", d.Latency.P99, "lost", d.Lost, "pass", pass, "reason", d.FailReason)
				if !pass {
					break
				}
				time.Sleep(time.Second)
				continue
			}
			m.Runs = append(m.Runs, d)
			e.log.Info("chat run", "rate", r, "p99_ms", d.Latency.P99, "lost", d.Lost)
			if err != nil {
				return params, m, err
			}
		}
		return params, m, ctx.Err()
	}
}

// stepFailure returns why a chat-max step did not pass, or "" if it did:
// a send error, anything lost, bounced or delivered twice, p99 latency
// over limit, or the generator falling more than 5% short of the rate
// (then the step measured the generator, not the server).
func stepFailure(d Delivery, sendErr error, limit time.Duration) string {
	var why []string
	if sendErr != nil {
		why = append(why, sendErr.Error())
	}
	if d.Lost > 0 {
		why = append(why, fmt.Sprintf("lost %d of %d", d.Lost, d.Expected))
	}
	if d.Errors > 0 {
		why = append(why, fmt.Sprintf("%d error bounces", d.Errors))
	}
	if d.Duplicates > 0 {
		why = append(why, fmt.Sprintf("%d duplicates", d.Duplicates))
	}
	if d.Latency.P99 > ms(limit) {
		why = append(why, fmt.Sprintf("p99 %.3f ms over %.3f ms", d.Latency.P99, ms(limit)))
	}
	if d.AchievedRate < 0.95*d.TargetRate {
		why = append(why, fmt.Sprintf("sent at %.1f/s, under 95%% of %.1f/s", d.AchievedRate, d.TargetRate))
	}
	return strings.Join(why, "; ")
}

// ratePlan lists the rates to run.
func ratePlan(rate float64, list string, findMax bool, factor, maxRate float64) ([]float64, error) {
	if findMax {
		if rate <= 0 || factor <= 1 || maxRate < rate {
			return nil, errors.New("chat-max needs --rate > 0, --step-factor > 1 and --max-rate >= --rate")
		}
		var plan []float64
		for r := rate; r <= maxRate && len(plan) < 100; r *= factor {
			plan = append(plan, float64(int(r)))
		}
		return plan, nil
	}
	if list == "" {
		if rate <= 0 {
			return nil, errors.New("--rate must be positive")
		}
		return []float64{rate}, nil
	}
	var plan []float64
	for _, f := range bytes.Split([]byte(list), []byte(",")) {
		r, err := strconv.ParseFloat(string(bytes.TrimSpace(f)), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("--rates: bad rate %q", f)
		}
		plan = append(plan, r)
	}
	return plan, nil
}

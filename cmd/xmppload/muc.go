package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// XEP-0045 namespaces.
const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCOwner = "http://jabber.org/protocol/muc#owner"
)

// MUCMetrics is the result of the muc workload.
type MUCMetrics struct {
	Logins    Logins   `json:"logins"`
	Joined    int      `json:"joined"`
	JoinWallS float64  `json:"join_wall_s"`
	Created   int      `json:"rooms_created"`
	Run       Delivery `json:"run"`
}

// mucSeat is one occupant's join state, written by its reader.
type mucSeat struct {
	room, nick string
	occupant   string // room/nick
	joined     chan struct{}
	once       sync.Once
	created    atomic.Bool
	failed     atomic.Bool
	configured chan struct{}
}

func mucFlags(fs *flag.FlagSet) workloadFunc {
	rooms := fs.Int("rooms", 10, "number of rooms")
	occupants := fs.Int("occupants", 10, "occupants per room (users = rooms × occupants; --users is ignored)")
	service := fs.String("service", "", "MUC service domain (default conference.DOMAIN)")
	roomPrefix := fs.String("room-prefix", "loadroom", "room localparts are PREFIX0, PREFIX1, …")
	rate := fs.Float64("rate", 100, "aggregate groupchat messages per second")
	dur := fs.Duration("duration", 10*time.Second, "how long to send")
	drain := fs.Duration("drain", 5*time.Second, "how long to wait for deliveries after sending")
	seed := fs.Uint64("seed", 1, "random seed for the choice of senders")
	return func(ctx context.Context, e *env) (any, any, error) {
		if *rooms < 1 || *occupants < 1 || *rate <= 0 {
			return nil, nil, fmt.Errorf("%w: --rooms, --occupants and --rate must be positive", errUsage)
		}
		svc := *service
		if svc == "" {
			svc = "conference." + e.dial.domain
		}
		n := *rooms * *occupants
		e.users = n
		seats := make([]*mucSeat, n)
		for k := range seats {
			room := fmt.Sprintf("%s%d@%s", *roomPrefix, k / *occupants, svc)
			nick := fmt.Sprintf("n%d", k)
			seats[k] = &mucSeat{room: room, nick: nick, occupant: room + "/" + nick, joined: make(chan struct{}), configured: make(chan struct{})}
		}
		params := map[string]any{"rooms": *rooms, "occupants": *occupants, "users": n, "rate": *rate, "duration_s": dur.Seconds(), "service": svc, "mech": e.dial.mech, "tls": e.dial.tlsMode}
		var cur atomic.Pointer[tracker]
		conns, logins := loginAll(ctx, e, indexes(n), e.concurrency, "muc", func(_ int, c *conn) error { return c.send([]byte("<presence/>")) })
		m := MUCMetrics{Logins: logins}
		wait := serveAll(conns, func(k int, kind string, b []byte) {
			s := seats[k]
			switch kind {
			case "message":
				if t := cur.Load(); t != nil {
					// An occupant's slot is its place in its room; a
					// message from another room fits no slot.
					slot := k % *occupants
					if bareOf(rawAttr(b, "from")) != s.room {
						slot = -1
					}
					t.observe(b, slot, time.Since(clockBase))
				}
			case "presence":
				if rawAttr(b, "from") != s.occupant {
					return
				}
				if rawAttr(b, "type") == "error" {
					s.failed.Store(true)
				} else if hasStatus(b, "201") {
					s.created.Store(true)
				}
				s.once.Do(func() { close(s.joined) })
			case "iq":
				if rawAttr(b, "id") == "cfg-"+s.nick {
					close(s.configured)
				}
			}
		})
		defer closeAll(conns, wait)
		if logins.Failed > 0 {
			return params, m, fmt.Errorf("%d logins failed (first: %s)", logins.Failed, logins.FirstError)
		}
		joinStart := time.Now()
		join := func(k int) error {
			s := seats[k]
			conns[k].send([]byte("<presence to='" + s.occupant + "'><x xmlns='" + nsMUC + "'><history maxstanzas='0'/></x></presence>"))
			select {
			case <-s.joined:
			case <-time.After(e.dial.timeout):
				return fmt.Errorf("join %s: no self-presence", s.occupant)
			case <-ctx.Done():
				return ctx.Err()
			}
			if s.failed.Load() {
				return fmt.Errorf("join %s: refused", s.occupant)
			}
			if !s.created.Load() {
				return nil
			}
			// XEP-0045 §10.1.2: accept the default configuration (instant
			// room), or the room stays locked.
			conns[k].send([]byte("<iq type='set' id='cfg-" + s.nick + "' to='" + s.room + "'><query xmlns='" + nsMUCOwner + "'><x xmlns='jabber:x:data' type='submit'/></query></iq>"))
			select {
			case <-s.configured:
				return nil
			case <-time.After(e.dial.timeout):
				return fmt.Errorf("configure %s: no answer", s.room)
			}
		}
		// The first occupant of each room creates it, then the rest join.
		var firsts, rest []int
		for k := range seats {
			if k%*occupants == 0 {
				firsts = append(firsts, k)
			} else {
				rest = append(rest, k)
			}
		}
		for _, group := range [][]int{firsts, rest} {
			if err := parallel(ctx, group, e.concurrency, join); err != nil {
				return params, m, err
			}
		}
		m.JoinWallS = round3(time.Since(joinStart).Seconds())
		for _, s := range seats {
			if s.created.Load() {
				m.Created++
			}
			m.Joined++
		}
		time.Sleep(500 * time.Millisecond) // join presence broadcasts settle
		rng := rand.New(rand.NewPCG(*seed, 0))
		prefixes := make([]string, *rooms)
		for r := range prefixes {
			prefixes[r] = "<message type='groupchat' to='" + seats[r**occupants].room + "'><body>"
		}
		t := newTracker(0, int(*rate*dur.Seconds()), *occupants)
		d, err := measure(ctx, e, t, &cur, *rate, *dur, *drain, func(seq int, body string) error {
			k := rng.IntN(n)
			return conns[k].send([]byte(prefixes[k / *occupants] + body + "</body></message>"))
		})
		m.Run = d
		return params, m, errors.Join(err, ctx.Err())
	}
}

// hasStatus reports whether a framed MUC presence carries <status code=code/>.
func hasStatus(b []byte, code string) bool {
	return bytes.Contains(b, []byte("code='"+code+"'")) || bytes.Contains(b, []byte(`code="`+code+`"`))
}

// parallel runs f over items, concurrency at a time, stopping at the first
// error.
func parallel(ctx context.Context, items []int, concurrency int, f func(int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(concurrency, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if i >= len(items) || stop || ctx.Err() != nil {
					return
				}
				if err := f(items[i]); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Logins summarises one round of logins.
type Logins struct {
	Attempted  int     `json:"attempted"`
	OK         int     `json:"ok"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	WallS      float64 `json:"wall_s"`
	PerSecond  float64 `json:"logins_per_s"`
	Latency    Latency `json:"latency"`
}

// loginAll logs users idx in, concurrency at a time. after runs on each
// new session inside the measured login time (initial presence, roster
// get, …). conns[k] is the session of idx[k], nil if it failed.
func loginAll(ctx context.Context, e *env, idx []int, concurrency int, resource string, after func(k int, c *conn) error) ([]*conn, Logins) {
	conns := make([]*conn, len(idx))
	lat := make([]time.Duration, len(idx))
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr sync.Once
	var first string
	start := time.Now()
	var wg sync.WaitGroup
	for range min(concurrency, len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(idx) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				c, err := login(ctx, e.dial, e.userName(idx[k]), e.password, resource)
				if err == nil && after != nil {
					if err = after(k, c); err != nil {
						c.nc.Close()
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { first = err.Error() })
					continue
				}
				lat[k] = time.Since(t0)
				conns[k] = c
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var ok []time.Duration
	for k, c := range conns {
		if c != nil {
			ok = append(ok, lat[k])
		}
	}
	l := Logins{Attempted: len(idx), OK: len(ok), Failed: int(failed.Load()), FirstError: first, WallS: round3(wall.Seconds()), Latency: summarize(ok)}
	if wall > 0 {
		l.PerSecond = round3(float64(len(ok)) / wall.Seconds())
	}
	return conns, l
}

// serve reads the stream until it ends, answering pings and roster pushes
// (RFC 6121 §2.1.6 requires the result) and refusing other requests, and
// passes every element to handle (which may be nil).
func (c *conn) serve(handle func(kind string, b []byte)) error {
	for {
		b, err := c.f.next()
		if err != nil {
			return err
		}
		kind := rawKind(b)
		if kind == "iq" {
			if t := rawAttr(b, "type"); t == "get" || t == "set" {
				c.answerIQ(b)
			}
		}
		if handle != nil {
			handle(kind, b)
		}
	}
}

func (c *conn) answerIQ(b []byte) {
	id, from := rawAttr(b, "id"), rawAttr(b, "from")
	to := ""
	if from != "" {
		to = " to='" + from + "'"
	}
	if bytes.Contains(b, []byte(nsPing)) || bytes.Contains(b, []byte(nsRoster)) {
		c.send([]byte("<iq type='result' id='" + id + "'" + to + "/>"))
		return
	}
	c.send([]byte("<iq type='error' id='" + id + "'" + to + "><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
}

// serveAll starts serve on every non-nil conn; wait blocks until all ended.
func serveAll(conns []*conn, handle func(k int, kind string, b []byte)) (wait func()) {
	var wg sync.WaitGroup
	for k, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h func(string, []byte)
			if handle != nil {
				h = func(kind string, b []byte) { handle(k, kind, b) }
			}
			c.serve(h)
			c.ended.Store(true)
		}()
	}
	return wg.Wait
}

// closeAll ends every session and waits for their readers.
func closeAll(conns []*conn, wait func()) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.close() }()
		}
	}
	wg.Wait()
	if wait != nil {
		wait()
	}
}

// countAlive counts sessions whose stream has not ended.
func countAlive(conns []*conn) int {
	n := 0
	for _, c := range conns {
		if c != nil && !c.ended.Load() {
			n++
		}
	}
	return n
}

// indexes returns 0..n-1.
func indexes(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Registration summarises a register run.
type Registration struct {
	Created    int     `json:"created"`
	Existing   int     `json:"existing"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	WallS      float64 `json:"wall_s"`
	PerSecond  float64 `json:"per_s"`
}

func registerFlags(fs *flag.FlagSet) workloadFunc {
	first := new(int)
	fs.IntVar(first, "first", 0, "index of the first user to register")
	return func(ctx context.Context, e *env) (any, any, error) {
		var next, created, existing, failed atomic.Int64
		var once sync.Once
		var firstErr string
		start := time.Now()
		var wg sync.WaitGroup
		for range min(e.concurrency, e.users) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= e.users || ctx.Err() != nil {
						return
					}
					ex, err := register(ctx, e.dial, e.userName(*first+i), e.password)
					switch {
					case err != nil:
						failed.Add(1)
						once.Do(func() { firstErr = err.Error() })
					case ex:
						existing.Add(1)
					default:
						created.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		r := Registration{Created: int(created.Load()), Existing: int(existing.Load()), Failed: int(failed.Load()), FirstError: firstErr, WallS: round3(wall.Seconds())}
		r.PerSecond = round3(float64(r.Created+r.Existing) / wall.Seconds())
		if r.Failed > 0 {
			return nil, r, fmt.Errorf("%d of %d registrations failed, first: %s", r.Failed, e.users, firstErr)
		}
		return map[string]any{"users": e.users, "first": *first, "concurrency": e.concurrency}, r, ctx.Err()
	}
}

package main

import (
	"context"
	"flag"
	"time"
)

// IdleMetrics is the result of the idle workload.
type IdleMetrics struct {
	Logins Logins `json:"logins"`
	Server Server `json:"server"` // over the login phase; RSS after the hold
	// RSSPerSessionKiB is (RSS after the hold − RSS before) / sessions.
	RSSPerSessionKiB float64 `json:"rss_per_session_kib"`
	// CPUPerLoginMs is server CPU over the login phase / logins.
	CPUPerLoginMs float64 `json:"cpu_per_login_ms"`
	// Alive counts sessions still open at the end of the hold.
	Alive int `json:"alive_after_hold"`
}

func idleFlags(fs *flag.FlagSet) workloadFunc {
	hold := fs.Duration("hold", 5*time.Second, "how long the sessions stay idle before RSS is read")
	presence := fs.Bool("presence", true, "send initial presence after login, as a client does")
	return func(ctx context.Context, e *env) (any, any, error) {
		before, err := readProc(e.pid)
		if err != nil {
			return nil, nil, err
		}
		var after func(int, *conn) error
		if *presence {
			after = func(_ int, c *conn) error { return c.send([]byte("<presence/>")) }
		}
		conns, logins := loginAll(ctx, e, indexes(e.users), e.concurrency, "idle", after)
		loggedIn, err := readProc(e.pid)
		if err != nil {
			return nil, nil, err
		}
		wait := serveAll(conns, nil)
		ended := make(chan struct{})
		go func() { wait(); close(ended) }()
		select {
		case <-time.After(*hold):
		case <-ctx.Done():
		}
		held, err := readProc(e.pid)
		if err != nil {
			return nil, nil, err
		}
		m := IdleMetrics{Logins: logins, Server: serverDelta(e.pid, before, loggedIn)}
		m.Server.RSSAfter = held.rssKB
		m.Alive = countAlive(conns)
		if logins.OK > 0 && e.pid != 0 {
			m.RSSPerSessionKiB = round3(float64(held.rssKB-before.rssKB) / float64(logins.OK))
			m.CPUPerLoginMs = round3(m.Server.CPUSeconds * 1000 / float64(logins.OK))
		}
		closeAll(conns, nil)
		<-ended
		params := map[string]any{"users": e.users, "concurrency": e.concurrency, "hold_s": hold.Seconds(), "presence": *presence, "mech": e.dial.mech, "tls": e.dial.tlsMode}
		return params, m, ctx.Err()
	}
}

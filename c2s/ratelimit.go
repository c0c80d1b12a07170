package c2s

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xmppd/xmppd/stanza"
)

// Rate limits (DESIGN.md, "Bad input … harms no one else").
//
// Per session, two token buckets (golang.org/x/time/rate): stanzas per
// second and bytes per second, each with a burst. A stanza that finds
// either bucket empty is not handled: it is answered with the stanza error
// <policy-violation/> of type wait (RFC 6120 §8.3.3.12, §8.3.2: "retry
// after waiting"), so the client learns that it sent too fast and what it
// sent was not accepted (an error stanza cannot be answered and is only
// counted). Refusing a stanza costs the server almost nothing, so a client
// a little over the limit keeps its stream; a sustained flood — more than
// c2s.rate_violations refusals in a row, with no stanza passing between
// them — closes the stream with the stream error <policy-violation/>
// (RFC 6120 §4.9.3.14), which the flooder cannot ignore.
//
// Per IP address, at accept: at most c2s.max_connections_per_ip open
// connections and c2s.connections_per_ip_per_minute new ones (a token
// bucket refilled evenly over the minute). A connection over either is
// closed before any XML is exchanged.
//
// Every refusal is counted in xmppd_c2s_rate_limited_total{limit,action}.

// sessionLimits are one session's buckets; owned by the session's read
// loop.
type sessionLimits struct {
	stanzas    *rate.Limiter // nil: unlimited
	bytes      *rate.Limiter
	lastTotal  int64 // input bytes already charged
	violations int   // refusals since the last stanza that passed
}

func (s *Server) newSessionLimits() *sessionLimits {
	l := &sessionLimits{}
	if r := s.cfg.stanzasPerSecond(); r > 0 {
		l.stanzas = rate.NewLimiter(rate.Limit(r), s.cfg.stanzaBurst())
	}
	if r := s.cfg.bytesPerSecond(); r > 0 {
		l.bytes = rate.NewLimiter(rate.Limit(r), s.cfg.byteBurst())
	}
	return l
}

// admit charges el (and the input bytes read since the last call) to the
// session's buckets. It returns nil to handle el; otherwise el has been
// answered or dropped and the returned error, when not nil, is the stream
// error that ends the session.
func (s *Session) admit(el *stanza.Element, now time.Time) (handle bool, err error) {
	l := s.limits
	if l == nil {
		return true, nil
	}
	n := s.in.total - l.lastTotal
	l.lastTotal = s.in.total
	limit := ""
	// Both buckets are charged even when the first refuses, so that bytes
	// of a refused stanza still count against a byte flood.
	if l.stanzas != nil && !l.stanzas.AllowN(now, 1) {
		limit = "stanzas"
	}
	if l.bytes != nil && n > 0 && !l.bytes.AllowN(now, int(min(n, int64(l.bytes.Burst())))) && limit == "" {
		limit = "bytes"
	}
	if limit == "" {
		l.violations = 0
		return true, nil
	}
	l.violations++
	m := s.srv.m.rateLimited
	if l.violations > s.srv.cfg.rateViolations() {
		m.WithLabelValues(limit, "stream_closed").Inc()
		return false, &streamError{cond: streamPolicyViolation, text: "sustained flood: too many stanzas refused for exceeding the " + limit + " rate"}
	}
	if el.Get("type") == "error" {
		m.WithLabelValues(limit, "dropped").Inc()
		return false, nil
	}
	m.WithLabelValues(limit, "stanza_error").Inc()
	serr := PolicyViolation("rate limit exceeded (" + limit + " per second); slow down and retry")
	serr.Type = Wait
	if el.Get("from") == "" {
		el.Set("from", s.jid.String())
	}
	s.reply(ErrorReply(el, serr, s.srv.domain.String()))
	return false, nil
}

// ipLimits counts connections per client address.
type ipLimits struct {
	maxOpen   int     // 0: unlimited
	perMinute float64 // 0: unlimited
	mu        sync.Mutex
	m         map[netip.Addr]*ipState
}

type ipState struct {
	open int
	rate *rate.Limiter
}

// acquire admits a new connection from addr, or names the limit it
// exceeds. An admitted connection is released with release.
func (l *ipLimits) acquire(addr netip.Addr, now time.Time) (limit string) {
	if l.maxOpen <= 0 && l.perMinute <= 0 {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[addr]
	if st == nil {
		st = &ipState{}
		if l.perMinute > 0 {
			st.rate = rate.NewLimiter(rate.Limit(l.perMinute/60), int(max(l.perMinute, 1)))
		}
		l.m[addr] = st
	}
	switch {
	case l.maxOpen > 0 && st.open >= l.maxOpen:
		return "ip_concurrent"
	case st.rate != nil && !st.rate.AllowN(now, 1):
		return "ip_per_minute"
	}
	st.open++
	return ""
}

// release ends a connection admitted by acquire. An address with nothing
// open and a full bucket is forgotten, so the map stays small.
func (l *ipLimits) release(addr netip.Addr, now time.Time) {
	if l.maxOpen <= 0 && l.perMinute <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[addr]
	if st == nil {
		return
	}
	st.open--
	if st.open <= 0 && (st.rate == nil || st.rate.TokensAt(now) >= float64(st.rate.Burst())) {
		delete(l.m, addr)
	}
}

// remoteIP returns the address conn comes from (the zero Addr when it has
// none, as over net.Pipe: all such connections share one entry).
func remoteIP(conn net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

package c2s

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
)

// Options are the collaborators of a Server.
type Options struct {
	// Log receives lifecycle events; sessions log with it, scoped.
	Log *slog.Logger
	// DebugLog, when set, is a handler that accepts Debug records; the
	// sessions whose debug switch is on log through it (raw XML included)
	// whatever Log's level is.
	DebugLog slog.Handler
	// Metrics is where the package registers its metrics (required).
	Metrics prometheus.Registerer
	// Accounts authenticates users and answers whether an account exists.
	Accounts *auth.Accounts
	// Throttle slows down repeated authentication failures per IP
	// (optional).
	Throttle *auth.Throttle
	// TLS is used for STARTTLS and direct TLS (required).
	TLS *tls.Config
	// Features add protocol support; registered in order.
	Features []Feature
	// Version is reported by XEP-0092.
	Version string
	// Directory locates bound resources; nil means this node's own.
	Directory Directory
	// Advertise, when set, decides per requesting user (a full JID)
	// whether disco#info lists a server or account feature to them; a
	// feature toggle rolls a feature out this way. nil lists every one.
	Advertise func(user jid.JID, feature string) bool
	// RegistrationGate, when set, decides whether in-band registration
	// (XEP-0077, when c2s.allow_registration is on) may create the account
	// user (a bare JID); refused attempts get <not-allowed/>. A feature
	// toggle rolls registration out this way.
	RegistrationGate func(user jid.JID) bool
}

// A Server accepts client connections and owns the session directory. Each
// connection is served by one goroutine (plus a writer) that routes what it
// receives itself; the Server holds no lock that every stanza passes.
type Server struct {
	addrs   *addrCache // parsed 'to' and 'from' addresses
	cfg     Config
	domain  jid.JID
	log     *slog.Logger
	debugH  slog.Handler
	m       *serverMetrics
	acc     *auth.Accounts
	thr     *auth.Throttle
	tls     *tls.Config
	reg     *Registry
	dir     Directory
	ips     *ipLimits
	adv     func(user jid.JID, feature string) bool
	regGate func(user jid.JID) bool
	version string
	started time.Time

	idSeq   atomic.Uint64
	debugMu sync.RWMutex
	debug   map[string]time.Time // bare or full JID → until

	resumable sync.Map // XEP-0198 resumption id → *Session
	ended     sync.Map // XEP-0198 resumption id → endedSM, kept a while after the session ended (see rememberEnded)

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*Session]struct{} // every connection, bound or not
	closing   bool
	wg        sync.WaitGroup // one per connection
}

// NewServer validates cfg, registers the features and returns a server
// ready to Serve.
func NewServer(cfg Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	domain, err := ParseJID(cfg.domain())
	if err != nil || domain.Localpart() != "" || domain.Resourcepart() != "" {
		return nil, fmt.Errorf("c2s.domain: %q is not a valid domain", cfg.Domain)
	}
	if opts.Metrics == nil || opts.TLS == nil || opts.Accounts == nil {
		return nil, errors.New("c2s: Options need Metrics, TLS and Accounts")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		addrs:     newAddrCache(),
		cfg:       cfg,
		domain:    domain,
		log:       log.With("component", "c2s"),
		debugH:    opts.DebugLog,
		acc:       opts.Accounts,
		thr:       opts.Throttle,
		tls:       opts.TLS,
		reg:       newRegistry(),
		dir:       opts.Directory,
		adv:       opts.Advertise,
		regGate:   opts.RegistrationGate,
		ips:       &ipLimits{maxOpen: cfg.maxConnectionsPerIP(), perMinute: float64(cfg.connectionsPerIPPerMinute()), m: map[netip.Addr]*ipState{}},
		version:   opts.Version,
		started:   time.Now(),
		debug:     map[string]time.Time{},
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*Session]struct{}{},
	}
	if s.dir == nil {
		s.dir = newLocalDirectory()
	}
	if s.m, err = newServerMetrics(opts.Metrics, s); err != nil {
		return nil, err
	}
	s.registerBuiltins()
	for _, f := range opts.Features {
		if err := f.Register(s.reg); err != nil {
			return nil, fmt.Errorf("c2s: register %T: %w", f, err)
		}
	}
	if err := s.reg.check(); err != nil {
		return nil, err
	}
	s.reg.frozen = true
	return s, nil
}

// Domain returns the served domain.
func (s *Server) Domain() jid.JID { return s.domain }

// Directory returns the session directory (features use it to deliver).
func (s *Server) Directory() Directory { return s.dir }

// ServeSTARTTLS accepts connections on ln that negotiate TLS with STARTTLS.
// It returns when ln is closed (by Shutdown or the caller).
func (s *Server) ServeSTARTTLS(ln net.Listener) error { return s.serve(ln, false) }

// ServeDirectTLS accepts connections on ln that start with a TLS handshake
// (XEP-0368).
func (s *Server) ServeDirectTLS(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, directTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return errors.New("c2s: server is shut down")
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	var tempDelay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporaryAcceptError(err) {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", tempDelay)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("c2s: accept: %w", err)
		}
		tempDelay = 0
		s.m.connections.Inc()
		ip := remoteIP(conn)
		if limit := s.ips.acquire(ip, time.Now()); limit != "" {
			s.m.rateLimited.WithLabelValues(limit, "refused").Inc()
			s.log.Info("connection refused: per-address limit", "remote_addr", conn.RemoteAddr().String(), "limit", limit)
			conn.Close()
			continue
		}
		sess := newSession(s, conn, directTLS)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.sessions[sess] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go sess.run(func() {
			s.ips.release(ip, time.Now())
			s.mu.Lock()
			delete(s.sessions, sess)
			s.mu.Unlock()
			s.wg.Done()
		})
	}
}

// isTemporaryAcceptError reports accept errors worth retrying (out of file
// descriptors, aborted handshakes).
func isTemporaryAcceptError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "too many open files") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "connection aborted")
}

// Shutdown stops accepting, closes every stream with <system-shutdown/>
// after the stanzas already queued for it are written, and waits for the
// sessions to end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	sessions := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.closeWith(&streamError{cond: streamSystemShutdown})
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("c2s: shutdown: %w", ctx.Err())
	}
}

// A SessionInfo describes one bound session for operators.
type SessionInfo struct {
	JID        string
	RemoteAddr string
	Since      time.Time
	Available  bool
	Priority   int
	Secure     bool
	Debug      bool
}

// Sessions lists the sessions bound for bare (a bare JID string).
func (s *Server) Sessions(bare string) []SessionInfo {
	j, err := ParseJID(bare)
	if err != nil {
		return nil
	}
	var out []SessionInfo
	for _, r := range s.dir.Resources(j.Bare().String()) {
		sess, ok := r.(*Session)
		if !ok {
			continue
		}
		avail, prio := sess.Available()
		out = append(out, SessionInfo{
			JID: sess.JID().String(), RemoteAddr: sess.remoteAddr, Since: sess.since,
			Available: avail, Priority: prio, Secure: true, Debug: sess.debugOn(),
		})
	}
	return out
}

// Kick closes the stream of the session bound to full (a full JID), or of
// every session of a bare JID, with <policy-violation/> and reason as text.
// It returns the number of sessions closed.
func (s *Server) Kick(target, reason string) (int, error) {
	j, err := ParseJID(target)
	if err != nil {
		return 0, fmt.Errorf("c2s: kick: %w", err)
	}
	n := 0
	for _, r := range s.dir.Resources(j.Bare().String()) {
		sess, ok := r.(*Session)
		if !ok || (j.Resourcepart() != "" && sess.JID().Resourcepart() != j.Resourcepart()) {
			continue
		}
		sess.closeWith(&streamError{cond: streamPolicyViolation, text: reason})
		n++
	}
	return n, nil
}

// SetDebug switches raw-XML debug logging on until the given time for
// target: a bare JID (every session of the user, including later ones) or a
// full JID (that resource). A zero until switches it off.
func (s *Server) SetDebug(target string, until time.Time) error {
	j, err := ParseJID(target)
	if err != nil {
		return fmt.Errorf("c2s: debug target: %w", err)
	}
	key := j.String()
	s.debugMu.Lock()
	if until.IsZero() {
		delete(s.debug, key)
	} else {
		s.debug[key] = until
	}
	// Drop expired entries so the map stays small.
	now := time.Now()
	for k, t := range s.debug {
		if t.Before(now) {
			delete(s.debug, k)
		}
	}
	s.debugMu.Unlock()
	for _, r := range s.dir.Resources(j.Bare().String()) {
		if sess, ok := r.(*Session); ok {
			sess.refreshDebug()
		}
	}
	return nil
}

// debugUntil returns until when debug logging is on for full.
func (s *Server) debugUntil(full jid.JID) time.Time {
	s.debugMu.RLock()
	defer s.debugMu.RUnlock()
	if len(s.debug) == 0 {
		return time.Time{}
	}
	a, b := s.debug[full.String()], s.debug[full.Bare().String()]
	if a.After(b) {
		return a
	}
	return b
}

// DebugUntil reports until when the debug switch covers target: for a
// full JID, its own switch or its account's; for a bare JID, the
// account's switch or that of any of its resources. Zero when off or
// expired, or when target does not parse.
func (s *Server) DebugUntil(target string) time.Time {
	j, err := ParseJID(target)
	if err != nil {
		return time.Time{}
	}
	if j.Resourcepart() != "" {
		u := s.debugUntil(j)
		if u.Before(time.Now()) {
			return time.Time{}
		}
		return u
	}
	bare := j.String()
	var until time.Time
	s.debugMu.RLock()
	for k, t := range s.debug {
		if (k == bare || strings.HasPrefix(k, bare+"/")) && t.After(until) {
			until = t
		}
	}
	s.debugMu.RUnlock()
	if until.Before(time.Now()) {
		return time.Time{}
	}
	return until
}

func (s *Server) nextID() string {
	return fmt.Sprintf("%x-%x", s.started.UnixNano()&0xffffffff, s.idSeq.Add(1))
}

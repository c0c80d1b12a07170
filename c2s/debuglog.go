package c2s

import (
	"context"
	"log/slog"

	"github.com/xmppd/xmppd/debugtrace"
)

// Debugging reports whether the session's debug switch is on, so that a
// feature can log what only a debugged session should pay for (privacy
// verdicts) on Log. It costs an atomic load. Safe for concurrent use.
func (s *Session) Debugging() bool { return s.debugOn() }

// traceContext returns ctx carrying the session's logger for the debug
// trace (debugtrace.WithLogger) while its debug switch is on, so that
// storage calls made on the session's behalf are logged on it; otherwise
// ctx itself, with no allocation.
func (s *Session) traceContext(ctx context.Context) context.Context {
	if !s.debugOn() {
		return ctx
	}
	return debugtrace.WithLogger(ctx, s.log)
}

// sessionLogHandler routes a session's records: normally to the server's
// handler (whose level applies), and while the session's debug switch is
// on to the debug handler, which accepts Debug records — so one user's raw
// XML can be logged without turning debug on for everyone.
type sessionLogHandler struct {
	normal slog.Handler
	debug  slog.Handler // nil: no separate debug handler, normal is used
	s      *Session
}

func (h *sessionLogHandler) pick() slog.Handler {
	if h.debug != nil && h.s.debugOn() {
		return h.debug
	}
	return h.normal
}

func (h *sessionLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.pick().Enabled(ctx, l)
}

func (h *sessionLogHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.pick().Handle(ctx, r)
}

func (h *sessionLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.normal = h.normal.WithAttrs(attrs)
	if h.debug != nil {
		c.debug = h.debug.WithAttrs(attrs)
	}
	return &c
}

func (h *sessionLogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.normal = h.normal.WithGroup(name)
	if h.debug != nil {
		c.debug = h.debug.WithGroup(name)
	}
	return &c
}

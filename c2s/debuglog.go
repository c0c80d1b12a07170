package c2s

import (
	"context"
	"log/slog"
)

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

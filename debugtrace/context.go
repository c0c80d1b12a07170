package debugtrace

import (
	"context"
	"log/slog"
)

// Code far from a session — storage, which has no idea of sessions or
// users — reaches the trace through the context.Context it is already
// given: while a session's debug switch is on, c2s puts that session's
// logger into the contexts it passes to features and routing
// (WithLogger), and such code logs what it did at Debug on Logger(ctx).
// The logger carries the session's "jid" attribute, so its records reach
// the session's watchers and nobody else's. A context of a session that
// is not debugged carries nothing: the check costs one ctx.Value lookup
// and no allocation.

// loggerKey is the context key of a debugged session's logger.
type loggerKey struct{}

// WithLogger returns a copy of ctx that carries l, the logger of a
// session whose debug switch is on. A nil l returns ctx unchanged.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the debugged session's logger that ctx carries, or nil
// when the work ctx belongs to is not being traced.
func Logger(ctx context.Context) *slog.Logger {
	l, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	return l
}

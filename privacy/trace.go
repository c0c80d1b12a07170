package privacy

import (
	"context"
	"log/slog"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Privacy verdicts in the per-session debug trace (issue 8): when a list
// decides about a stanza of a session whose debug switch is on, the
// decision is logged at Debug on that session's logger — the recipient's
// for its own list, the sender's for its own — and so reaches the
// session's live trace. Sessions that are not debugged pay one atomic
// load (c2s.Session.Debugging) and no allocation.

// debuggable is what a resource that can be debugged offers;
// *c2s.Session implements it.
type debuggable interface {
	Debugging() bool
	Log() *slog.Logger
}

var _ debuggable = (*c2s.Session)(nil)

// tracer returns the logger of r when it is a session being debugged,
// else nil.
func tracer(r c2s.Resource) *slog.Logger {
	if d, ok := r.(debuggable); ok && d.Debugging() {
		return d.Log()
	}
	return nil
}

// kindName names the kind a stanza was judged as.
func kindName(k Kinds) string {
	for _, kn := range kindNames {
		if kn.k == k {
			return kn.name
		}
	}
	return "other" // subscriptions, probes, outbound messages: items without children only
}

// traceVerdict logs what list decided about st, exchanged with peer:
// direction is "in" (the recipient's list) or "out" (the sender's), and
// by is the deciding item when matched.
func traceVerdict(log *slog.Logger, direction string, list *compiled, st *stanza.Element, kind Kinds, peer string, deny bool, by Item, matched bool) {
	verdict := "allow"
	if deny {
		verdict = "deny"
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs, slog.String("direction", direction), slog.String("list", list.name),
		slog.String("stanza", st.Name.Local), slog.String("type", st.Get("type")), slog.String("kind", kindName(kind)),
		slog.String("peer", peer), slog.String("verdict", verdict))
	if matched {
		typ := by.Type
		if typ == TypeAll {
			typ = "fall-through"
		}
		attrs = append(attrs, slog.Uint64("order", uint64(by.Order)), slog.String("action", verdict),
			slog.String("item_type", typ), slog.String("item_value", by.Value), slog.Bool("blocklist", by.blocks()))
	} else {
		attrs = append(attrs, slog.String("match", "none"))
	}
	log.LogAttrs(context.Background(), slog.LevelDebug, "privacy verdict", attrs...)
}

package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/xmppd/xmppd/debugtrace"
)

// DebugTrace is the live trace of debugged sessions behind
// GET /api/v1/debug/{jid}/stream; cmd/xmppd implements it over a
// debugtrace.Hub and the c2s server.
type DebugTrace interface {
	// Watch starts a watcher of the trace of jid (bare: every session of
	// the account; full: that session).
	Watch(jid string) (*debugtrace.Watcher, error)
	// DebugUntil reports until when the debug switch covers jid; zero
	// when it is off.
	DebugUntil(jid string) time.Time
}

// How often a trace stream checks that the switch is still on, and how
// often it sends a keep-alive comment while the session is quiet.
const (
	traceCheckEvery = time.Second
	traceKeepAlive  = 15 * time.Second
)

// TraceStart is the data of the first event of a trace stream.
type TraceStart struct {
	JID   string    `json:"jid"`
	Until time.Time `json:"until"`
}

// TraceDropped is the data of a "dropped" event: that many records were
// lost here because the watcher read too slowly.
type TraceDropped struct {
	Dropped int `json:"dropped"`
}

// TraceEnd is the data of the last event of a stream that the server ends.
type TraceEnd struct {
	Reason string `json:"reason"`
}

// debugGet serves GET /api/v1/debug/{jid}/stream. The route pattern is
// the switch's {jid...}, so a full JID keeps its slash: the path must end
// in /stream, and what comes before is the JID.
func (s *Server) debugGet(w http.ResponseWriter, r *http.Request) {
	target, ok := strings.CutSuffix(r.PathValue("jid"), "/stream")
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (the live trace is GET /api/v1/debug/{jid}/stream)")
		return
	}
	if s.opts.Trace == nil {
		writeError(w, http.StatusServiceUnavailable, "the live debug trace is not available on this server")
		return
	}
	j, err := s.parseJID(target, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until := s.opts.Trace.DebugUntil(j.String())
	if until.IsZero() {
		writeError(w, http.StatusConflict, fmt.Sprintf("debug is off for %s; switch it on first with PUT /api/v1/debug/%s?for=15m", j, j))
		return
	}
	watcher, err := s.opts.Trace.Watch(j.String())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	defer watcher.Close()
	s.audit(r, "debug trace watched", "jid", j.String())

	rc := http.NewResponseController(w)
	// The listener's write timeout is for ordinary answers; a trace lasts
	// as long as the switch.
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		return err
	}
	if send("start", TraceStart{JID: j.String(), Until: until.UTC()}) != nil || rc.Flush() != nil {
		return
	}
	drain := func() error {
		evs, after := watcher.Next()
		for _, ev := range evs {
			if ev.Dropped > 0 {
				if err := send("dropped", TraceDropped{Dropped: ev.Dropped}); err != nil {
					return err
				}
			}
			ev.Dropped = 0
			if err := send("trace", ev); err != nil {
				return err
			}
		}
		if after > 0 {
			if err := send("dropped", TraceDropped{Dropped: after}); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	check := time.NewTicker(traceCheckEvery)
	defer check.Stop()
	quiet := time.NewTimer(traceKeepAlive)
	defer quiet.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-watcher.Ready():
			if drain() != nil {
				return
			}
			quiet.Reset(traceKeepAlive)
		case <-check.C:
			if s.opts.Trace.DebugUntil(j.String()).IsZero() {
				if drain() == nil {
					send("end", TraceEnd{Reason: "debug switched off or expired"})
					rc.Flush()
				}
				return
			}
		case <-quiet.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			quiet.Reset(traceKeepAlive)
		}
	}
}

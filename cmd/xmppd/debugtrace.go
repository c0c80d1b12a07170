package main

import (
	"time"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/debugtrace"
)

// debugTrace is admin.DebugTrace over the hub the c2s debug handler
// publishes to and the c2s server's debug switches.
type debugTrace struct {
	hub *debugtrace.Hub
	srv *c2s.Server
}

func (d debugTrace) Watch(jid string) (*debugtrace.Watcher, error) {
	return d.hub.Watch(jid, debugtrace.DefaultBuffer)
}

func (d debugTrace) DebugUntil(jid string) time.Time { return d.srv.DebugUntil(jid) }

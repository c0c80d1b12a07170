package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/certs"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/debugtrace"
	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/metrics/graphite"
	"github.com/xmppd/xmppd/muc"
	"github.com/xmppd/xmppd/notes"
	"github.com/xmppd/xmppd/offline"
	"github.com/xmppd/xmppd/privacy"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/storage/instrumented"
	"github.com/xmppd/xmppd/toggles"
)

var discardLog = slog.New(slog.DiscardHandler)

// newLogger returns the server's logger: text to w at the configured level.
func newLogger(w io.Writer, level string) *slog.Logger {
	l, _ := parseLevel(level) // validated with the config
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// defaultAuthFailuresPerMinute mirrors c2s's default for
// c2s.auth_failures_per_minute, whose accessor is not exported.
const defaultAuthFailuresPerMinute = 10

// serve runs the server until SIGINT or SIGTERM (or ctx ends), then shuts
// down gracefully: streams get <system-shutdown/>, storage closes last.
// SIGHUP reloads the certificate, the API tokens, the feature toggles
// (reload re-reads the configuration for the latter) and the roster-note
// keys; so does POST /api/v1/reload (xmppd reload).
func (c *cli) serve(ctx context.Context, cfg Config, reload func() (Config, error)) error {
	log := newLogger(c.stderr, cfg.Log.Level)
	ver := buildVersion()

	// Storage first: a second server on the same data directory stops
	// here, before it touches the certificate or the listeners.
	reg := metrics.New()
	backend, err := c.openStore(cfg, storeOptions{log: log.With("component", "storage"), metrics: reg, wait: true})
	if errors.Is(err, errStoreLocked) {
		return fmt.Errorf("another xmppd is running with data_dir %s: %w", cfg.DataDir, err)
	}
	if err != nil {
		return fmt.Errorf("storage.backend %s: %w", cfg.Storage.Backend, err)
	}
	// storage/riak counts its own operations per node; the embedded store
	// is timed by a wrapper. Both are wrapped for the debug trace of
	// storage calls.
	storeMetrics := prometheus.Registerer(reg)
	if cfg.Storage.Backend != backendEmbedded {
		storeMetrics = nil
	}
	if backend, err = instrumented.New(backend, cfg.Storage.Backend, storeMetrics); err != nil {
		return err
	}
	defer func() {
		if err := backend.Close(); err != nil {
			log.Error("closing storage", "err", err)
		}
	}()

	token, err := admin.LoadOrCreateToken(cfg.DataDir)
	if err != nil {
		return err
	}
	tokens, err := admin.OpenTokens(cfg.DataDir, token)
	if err != nil {
		return err
	}
	toggleSet, err := toggles.New(cfg.Toggles, reg)
	if err != nil {
		return err
	}
	traceHub, err := debugtrace.New(reg)
	if err != nil {
		return err
	}
	toggleCtl := &toggleReloader{set: toggleSet, load: reload, log: log.With("component", "toggles")}
	if cfg.Metrics.Graphite.Address != "" {
		pusher, err := graphite.New(cfg.Metrics.Graphite, reg, reg, log)
		if err != nil {
			return err
		}
		pctx, stopPush := context.WithCancel(ctx)
		defer stopPush()
		go pusher.Run(pctx)
	}
	tlsCerts, err := certs.Open(cfg.TLS, certs.Options{Domain: cfg.Domain, DataDir: cfg.DataDir, Log: log.With("component", "tls")})
	if err != nil {
		return err
	}
	accounts := auth.NewAccounts(backend.KV(), cfg.Domain, cfg.Auth)
	perMinute := cfg.C2S.AuthFailuresPerMinute
	if perMinute == 0 {
		perMinute = defaultAuthFailuresPerMinute
	}
	noteLog := log.With("component", "notes")
	noteKeys, err := notes.Setup(cfg.Notes, cfg.DataDir, noteLog, notes.WithMetrics(notes.NewMetrics(reg)))
	if err != nil {
		return err
	}
	node, _ := os.Hostname()
	rosters, err := roster.New(roster.Options{
		Store:   crdtstore.New(backend.Documents(), roster.Kind, crdt.NewWriter("roster@"+node, crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Notes:   noteKeys,
		Metrics: reg,
		Log:     log,
	})
	if err != nil {
		return err
	}
	privacyLists, err := privacy.New(privacy.Options{
		Store:   crdtstore.New(backend.Documents(), privacy.Kind, crdt.NewWriter("privacy@"+node, crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Roster:  rosters,
		Metrics: reg,
		Log:     log,
		AllowIncremental: func(user jid.JID) bool {
			return toggleSet.Allows(togglePrivacyIncremental, user.String())
		},
	})
	if err != nil {
		return err
	}
	rooms, err := muc.New(muc.Options{
		ServerDomain: cfg.Domain,
		Store:        backend.KV(),
		Metrics:      reg,
		Log:          log,
		Config:       cfg.MUC,
		// Rooms archive groupchat under the users' MAM retention and paging.
		Archives:      backend.Archives(),
		ArchiveConfig: cfg.MAM,
		AllowCreate: func(user jid.JID) bool {
			return toggleSet.Allows(toggleMUCCreate, user.String())
		},
	})
	if err != nil {
		return err
	}
	if err := rooms.Load(ctx); err != nil {
		return err
	}
	offlineMsgs, err := offline.New(offline.Options{
		Queues:  backend.Queues(),
		Domain:  cfg.Domain,
		Metrics: reg,
		Log:     log,
		Config:  cfg.Offline,
		Allow: func(user jid.JID) bool {
			return toggleSet.Allows(toggleOfflineStore, user.String())
		},
	})
	if err != nil {
		return err
	}
	extras, err := messagingFeatures(cfg, backend, rosters, reg, log)
	if err != nil {
		return err
	}
	removals, err := newAccountRemoval(cfg, backend, accounts, rosters, privacyLists, log)
	if err != nil {
		return err
	}
	srv, err := c2s.NewServer(cfg.C2S, c2s.Options{
		Log:      log,
		DebugLog: traceHub.Handler(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:  reg,
		Accounts: accounts,
		Throttle: auth.NewThrottle(perMinute, time.Now),
		TLS:      tlsCerts.TLSConfig(),
		Features: append([]c2s.Feature{rosters, privacyLists, offlineMsgs, rooms, removals}, extras...),
		Version:  ver,
		Advertise: func(user jid.JID, feature string) bool {
			return advertise(toggleSet, user, feature)
		},
		RegistrationGate: func(user jid.JID) bool {
			return toggleSet.Allows(toggleRegistration, user.String())
		},
	})
	if err != nil {
		return err
	}
	removals.srv = srv
	reloader := newConfigReloader(tlsCerts.Reload, tokens, toggleCtl, noteKeys, noteLog, log)
	api, err := admin.New(admin.Options{
		Domain:   cfg.Domain,
		Token:    token,
		Tokens:   tokens,
		Accounts: removingAccounts{accounts, removals},
		Sessions: sessions{srv},
		Rosters:  rosterView{rosters},
		Router:   router{srv},
		Toggles:  toggleCtl,
		Features: features{toggleSet},
		Trace:    debugTrace{hub: traceHub, srv: srv},
		Notes:    noteRekeyer{keys: noteKeys, notes: rosters, log: noteLog},
		Status:   serverStatus{srv: srv, rooms: rooms, version: ver, started: time.Now()},
		Reload:   reloader,
		Ready:    backend,
		Gatherer: reg,
		Pprof:    cfg.Metrics.Pprof,
		Log:      log.With("component", "admin"),
	})
	if err != nil {
		return err
	}

	lns, err := listenAll(cfg.Listen)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Signals are caught before anything is served, so a SIGHUP sent to a
	// server that answers cannot kill it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	failed := make(chan error, 3)
	if ln := lns.c2s; ln != nil {
		go func() { failed <- fmt.Errorf("listen.c2s: %w", srv.ServeSTARTTLS(ln)) }()
	}
	if ln := lns.tls; ln != nil {
		go func() { failed <- fmt.Errorf("listen.tls: %w", srv.ServeDirectTLS(ln)) }()
	}
	if ln := lns.http; ln != nil {
		go func() { failed <- fmt.Errorf("listen.http: %w", httpSrv.Serve(ln)) }()
	}
	log.Info("xmppd started", "version", ver, "domain", cfg.Domain,
		"c2s", lns.addr(lns.c2s), "tls", lns.addr(lns.tls), "http", lns.addr(lns.http), "data_dir", cfg.DataDir)
	if tlsCerts.Generated() {
		log.Info("using a self-signed certificate: clients will ask to trust it; set tls.cert_file and tls.key_file for production",
			"file", cfg.DataDir+"/tls/cert.pem")
	}

	var runErr error
wait:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				reloader.Reload()
				continue
			}
			log.Info("shutting down", "signal", s.String())
			break wait
		case err := <-failed:
			runErr = err
			log.Error("listener failed; shutting down", "err", err)
			break wait
		case <-ctx.Done():
			log.Info("shutting down")
			break wait
		}
	}

	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("c2s shutdown incomplete", "err", err)
	}
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Warn("admin listener shutdown incomplete", "err", err)
	}
	log.Info("xmppd stopped")
	return runErr
}

// listeners are the open listeners; nil where disabled.
type listeners struct{ c2s, tls, http net.Listener }

func (l listeners) addr(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

// listenAll opens the configured listeners, closing those already open if
// one fails.
func listenAll(cfg ListenConfig) (listeners, error) {
	var l listeners
	for _, x := range []struct {
		key, addr string
		dst       *net.Listener
	}{{"listen.c2s", cfg.C2S, &l.c2s}, {"listen.tls", cfg.TLS, &l.tls}, {"listen.http", cfg.HTTP, &l.http}} {
		if x.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", x.addr)
		if err != nil {
			for _, open := range []net.Listener{l.c2s, l.tls, l.http} {
				if open != nil {
					open.Close()
				}
			}
			return listeners{}, fmt.Errorf("%s: %w", x.key, err)
		}
		*x.dst = ln
	}
	return l, nil
}

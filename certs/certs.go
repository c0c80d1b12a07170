// Package certs provides the TLS certificate that xmppd's listeners present.
//
// In production the configuration names a certificate chain and key in PEM
// files (RFC 6120 §13.7.2: the certificate should cover the XMPP domain);
// they are read at start and again on Reload, which cmd/xmppd calls on
// SIGHUP. With no files configured, a self-signed certificate (RSA 2048, for Pidgin)
// for the domain and conference.<domain> is generated on first start and
// kept in <data-dir>/tls/, so that a development server works at once and
// clients that pin the certificate keep seeing the same one. It is reused on
// later starts and regenerated only when it no longer covers the domain or
// has expired.
//
// The *tls.Config from Store.TLSConfig asks for the certificate on every
// handshake (GetCertificate), so a reload takes effect for new connections
// without touching established ones.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Config names the certificate files. Both empty (the default) means a
// self-signed certificate kept in the data directory.
type Config struct {
	// CertFile is a PEM file holding the certificate, then any
	// intermediates.
	CertFile string `toml:"cert_file"`
	// KeyFile is a PEM file holding the private key for CertFile.
	KeyFile string `toml:"key_file"`
	// KeyExchange picks the TLS 1.3 key exchanges offered: "hybrid" (the
	// default) prefers X25519MLKEM768, post-quantum ML-KEM combined with
	// X25519, then the classical groups; "classical" offers X25519, P-256
	// and P-384 only. Hybrid protects recorded traffic against a future
	// quantum computer and costs about 0.2 ms of CPU per handshake more.
	KeyExchange string `toml:"key_exchange"`
}

// Key exchange choices of Config.KeyExchange.
const (
	KeyExchangeHybrid    = "hybrid"
	KeyExchangeClassical = "classical"
)

// Validate reports settings that cannot work, naming the key under its
// section "tls".
func (c Config) Validate() error {
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		return errors.New("tls.key_file: must be set when tls.cert_file is")
	case c.CertFile == "" && c.KeyFile != "":
		return errors.New("tls.cert_file: must be set when tls.key_file is")
	case c.KeyExchange != "" && c.KeyExchange != KeyExchangeHybrid && c.KeyExchange != KeyExchangeClassical:
		return fmt.Errorf("tls.key_exchange: %q is neither %q nor %q", c.KeyExchange, KeyExchangeHybrid, KeyExchangeClassical)
	}
	return nil
}

// Options are the run-time dependencies of a Store.
type Options struct {
	// Domain is the XMPP domain the certificate must cover.
	Domain string
	// DataDir holds tls/cert.pem and tls/key.pem for a generated
	// certificate. Unused when Config names files.
	DataDir string
	// Log receives warnings (a configured certificate that does not cover
	// the domain or has expired) and notices of generation. Nil discards.
	Log *slog.Logger
	// Now is the clock for expiry checks; nil means time.Now.
	Now func() time.Time
}

// A Store holds the current certificate. It is safe for concurrent use:
// handshakes read it while Reload replaces it.
type Store struct {
	cfg       Config
	opts      Options
	certFile  string
	keyFile   string
	generated bool
	cur       atomic.Pointer[tls.Certificate]
}

// Open loads the configured certificate, or reuses or generates the
// self-signed one. It fails if the files cannot be read or do not hold a
// matching certificate and key.
func Open(cfg Config, opts Options) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Domain == "" {
		return nil, errors.New("certs: no domain")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{cfg: cfg, opts: opts, certFile: cfg.CertFile, keyFile: cfg.KeyFile}
	if cfg.CertFile == "" {
		if opts.DataDir == "" {
			return nil, errors.New("certs: no data directory for the self-signed certificate")
		}
		s.generated = true
		s.certFile = filepath.Join(opts.DataDir, "tls", "cert.pem")
		s.keyFile = filepath.Join(opts.DataDir, "tls", "key.pem")
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the certificate files again (for a self-signed certificate,
// first regenerating it if it no longer fits). On error the previous
// certificate stays in use and the error is returned.
func (s *Store) Reload() error {
	if s.generated {
		if err := ensureSelfSigned(s.certFile, s.keyFile, s.opts.Domain, s.opts.Now(), s.opts.Log); err != nil {
			return err
		}
	}
	cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("certs: load %s and %s: %w", s.certFile, s.keyFile, err)
	}
	if !s.generated {
		if problem := fitness(cert.Leaf, s.opts.Domain, s.opts.Now()); problem != "" {
			s.opts.Log.Warn("tls certificate "+problem, "file", s.certFile, "domain", s.opts.Domain)
		}
	}
	s.cur.Store(&cert)
	return nil
}

// Certificate returns the certificate in use.
func (s *Store) Certificate() *tls.Certificate { return s.cur.Load() }

// Generated reports whether the certificate is the self-signed one kept in
// the data directory.
func (s *Store) Generated() bool { return s.generated }

// TLSConfig returns a server configuration (TLS 1.2 or later) that presents
// the current certificate on every new handshake. Callers may set further
// fields on the returned copy.
func (s *Store) TLSConfig() *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cur.Load(), nil
		},
	}
	if s.cfg.KeyExchange == KeyExchangeClassical {
		c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	}
	return c
}

// fitness says what is wrong with leaf for domain at now, or "" if nothing.
func fitness(leaf *x509.Certificate, domain string, now time.Time) string {
	if leaf == nil {
		return "cannot be parsed"
	}
	if now.After(leaf.NotAfter) {
		return "has expired"
	}
	if now.Before(leaf.NotBefore) {
		return "is not yet valid"
	}
	if err := leaf.VerifyHostname(domain); err != nil {
		return "does not cover the domain"
	}
	return ""
}

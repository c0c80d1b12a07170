package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "defaults", cfg: Config{}},
		{name: "both", cfg: Config{CertFile: "c", KeyFile: "k"}},
		{name: "cert only", cfg: Config{CertFile: "c"}, wantErr: "tls.key_file:"},
		{name: "key only", cfg: Config{KeyFile: "k"}, wantErr: "tls.cert_file:"},
		{name: "hybrid", cfg: Config{KeyExchange: "hybrid"}},
		{name: "classical", cfg: Config{KeyExchange: "classical"}},
		{name: "unknown key exchange", cfg: Config{KeyExchange: "quantum"}, wantErr: "tls.key_exchange:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestGenerateAndReuse(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{}, Options{Domain: "example.net", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Generated() {
		t.Error("Generated() = false for a store without files")
	}
	leaf := s.Certificate().Leaf
	for _, name := range []string{"example.net", "conference.example.net"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("generated certificate does not cover %s: %v", name, err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "tls", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key.pem mode = %v, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))

	s2, err := Open(Config{}, Options{Domain: "example.net", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if !bytes.Equal(first, second) || !bytes.Equal(s2.Certificate().Certificate[0], s.Certificate().Certificate[0]) {
		t.Error("second Open regenerated a certificate that still fits")
	}
}

func TestRegenerate(t *testing.T) {
	tests := []struct {
		name   string
		domain string
		now    time.Time
	}{
		{name: "other domain", domain: "other.example", now: time.Now()},
		{name: "expired", domain: "example.net", now: time.Now().Add(2 * selfSignedLifetime)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Config{}, Options{Domain: "example.net", DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			old := s.Certificate().Certificate[0]
			s2, err := Open(Config{}, Options{Domain: tt.domain, DataDir: dir, Now: func() time.Time { return tt.now }})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(old, s2.Certificate().Certificate[0]) {
				t.Fatal("certificate was reused")
			}
			if p := fitness(s2.Certificate().Leaf, tt.domain, tt.now); p != "" {
				t.Errorf("new certificate %s", p)
			}
		})
	}
}

func TestDamagedSelfSignedReplaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tls", "cert.pem"), []byte("garbage"), 0o644)
	os.WriteFile(filepath.Join(dir, "tls", "key.pem"), []byte("garbage"), 0o600)
	s, err := Open(Config{}, Options{Domain: "example.net", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Certificate().Leaf.VerifyHostname("example.net"); err != nil {
		t.Error(err)
	}
}

// writePair generates a certificate for domain into dir and returns the
// file names.
func writePair(t *testing.T, dir, domain string) (certFile, keyFile string) {
	t.Helper()
	c, k, err := generate(domain, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// handshake connects a client to a server using cfg and returns the
// certificate the server presented.
func handshake(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	errc := make(chan error, 1)
	go func() {
		srv := tls.Server(s, cfg)
		errc <- srv.Handshake()
		srv.Close()
	}()
	cl := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err := cl.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return cl.ConnectionState().PeerCertificates[0]
}

func TestConfiguredFilesAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, "example.net")
	s, err := Open(Config{CertFile: certFile, KeyFile: keyFile}, Options{Domain: "example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Generated() {
		t.Error("Generated() = true for configured files")
	}
	cfg := s.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	before := handshake(t, cfg)

	writePair(t, dir, "example.net") // a renewed certificate
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	after := handshake(t, cfg)
	if before.Equal(after) {
		t.Error("handshake after Reload presented the old certificate")
	}

	// A bad file: Reload fails and the current certificate stays.
	if err := os.WriteFile(certFile, []byte("not pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("Reload() with a bad file = %v, want an error naming %s", err, certFile)
	}
	if got := handshake(t, cfg); !got.Equal(after) {
		t.Error("failed Reload replaced the certificate")
	}
}

func TestOpenBadFiles(t *testing.T) {
	dir := t.TempDir()
	goodCert, goodKey := writePair(t, dir, "example.net")
	otherDir := t.TempDir()
	_, otherKey := writePair(t, otherDir, "example.net")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	tests := []struct {
		name       string
		cert, key  string
		wantSubstr string
	}{
		{name: "missing cert", cert: filepath.Join(dir, "nope.pem"), key: goodKey, wantSubstr: "no such file"},
		{name: "missing key", cert: goodCert, key: filepath.Join(dir, "nope.pem"), wantSubstr: "no such file"},
		{name: "garbage cert", cert: garbage, key: goodKey, wantSubstr: "certs: load"},
		{name: "key of another cert", cert: goodCert, key: otherKey, wantSubstr: "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(Config{CertFile: tt.cert, KeyFile: tt.key}, Options{Domain: "example.net"})
			if err == nil || !strings.Contains(err.Error(), tt.wantSubstr) {
				t.Fatalf("Open() = %v, want error containing %q", err, tt.wantSubstr)
			}
		})
	}
}

func TestOpenNeedsDomainAndDir(t *testing.T) {
	if _, err := Open(Config{}, Options{DataDir: t.TempDir()}); err == nil {
		t.Error("Open without a domain succeeded")
	}
	if _, err := Open(Config{}, Options{Domain: "example.net"}); err == nil {
		t.Error("Open without files or data dir succeeded")
	}
}

func TestConfiguredForOtherDomainWarns(t *testing.T) {
	certFile, keyFile := writePair(t, t.TempDir(), "other.example")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := Open(Config{CertFile: certFile, KeyFile: keyFile}, Options{Domain: "example.net", Log: log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "does not cover the domain") {
		t.Errorf("log = %q, want a warning that the certificate does not cover the domain", buf.String())
	}
}

// TestSelfSignedAcceptableToLibpurple guards what Pidgin and finch need to
// offer trusting the generated certificate instead of rejecting it as an
// invalid chain: an RSA key, CA:TRUE with certSign, and no extended key
// usage (see generate).
func TestSelfSignedAcceptableToLibpurple(t *testing.T) {
	certPEM, _, err := generate("example.net", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if crt.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("key algorithm %v, want RSA", crt.PublicKeyAlgorithm)
	}
	if !crt.IsCA || crt.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("IsCA=%v KeyUsage=%b: the certificate cannot verify itself", crt.IsCA, crt.KeyUsage)
	}
	if len(crt.ExtKeyUsage) != 0 {
		t.Errorf("extended key usage %v present; GnuTLS rejects the self-signed chain", crt.ExtKeyUsage)
	}
	if err := crt.CheckSignatureFrom(crt); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
}

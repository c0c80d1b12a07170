package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// selfSignedLifetime is how long a generated certificate is valid. Clients
// that accepted it once (pinning) keep seeing it until it expires.
const selfSignedLifetime = 365 * 24 * time.Hour

// ensureSelfSigned keeps a usable self-signed certificate in certFile and
// keyFile: it leaves a pair alone that loads, covers domain and
// conference.<domain> and is valid at now, and writes a new one otherwise.
func ensureSelfSigned(certFile, keyFile, domain string, now time.Time, log *slog.Logger) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	switch {
	case err == nil:
		problem := fitness(cert.Leaf, domain, now)
		if problem == "" && cert.Leaf.VerifyHostname("conference."+domain) != nil {
			problem = "does not cover conference." + domain
		}
		if problem == "" {
			return nil
		}
		log.Info("regenerating self-signed tls certificate", "reason", problem, "file", certFile)
	case errors.Is(err, fs.ErrNotExist):
		log.Info("generating self-signed tls certificate", "domain", domain, "file", certFile)
	default:
		// A damaged pair in our own directory is replaced rather than
		// blocking start-up: nobody but xmppd writes there.
		log.Warn("replacing unreadable self-signed tls certificate", "file", certFile, "err", err)
	}
	certPEM, keyPEM, err := generate(domain, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	// Key first: a cert.pem without its key would be replaced again anyway.
	if err := writeAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, certPEM, 0o644)
}

// generate returns a PEM certificate and PKCS #8 key for domain and
// conference.<domain>, valid from an hour before now.
func generate(domain string, now time.Time) (certPEM, keyPEM []byte, err error) {
	// RSA: the key type every client, old ones included, accepts.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: domain, Organization: []string{"xmppd self-signed"}},
		DNSNames:     []string{domain, "conference." + domain},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(selfSignedLifetime),
		// A self-signed certificate is its own issuer, so it must be able
		// to sign (CA:TRUE, certSign), and must carry no extended key
		// usage: GnuTLS, under libpurple (Pidgin, finch), checks the
		// issuer's EKU and then reports "the certificate chain is invalid"
		// instead of offering to trust it. Checked with finch on Debian 12;
		// Prosody and ejabberd generate theirs the same way.
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeAtomic writes data to a temporary file beside name with mode perm
// and renames it into place, so a crash never leaves half a file.
func writeAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("certs: sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

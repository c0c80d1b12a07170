package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

// A handshake with a client offering everything (Go's default, which puts
// X25519MLKEM768 first) lands on the hybrid group by default and on X25519
// with key_exchange = "classical".
func TestKeyExchange(t *testing.T) {
	for _, tt := range []struct {
		setting string
		want    tls.CurveID
	}{
		{"", tls.X25519MLKEM768},
		{KeyExchangeHybrid, tls.X25519MLKEM768},
		{KeyExchangeClassical, tls.X25519},
	} {
		t.Run(tt.setting, func(t *testing.T) {
			s, err := Open(Config{KeyExchange: tt.setting}, Options{Domain: "example.net", DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(s.Certificate().Leaf)
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			srv := tls.Server(a, s.TLSConfig())
			errc := make(chan error, 1)
			go func() { errc <- srv.Handshake() }()
			cli := tls.Client(b, &tls.Config{ServerName: "example.net", RootCAs: roots})
			if err := cli.Handshake(); err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("server handshake: %v", err)
			}
			if got := srv.ConnectionState().CurveID; got != tt.want {
				t.Fatalf("negotiated %v, want %v", got, tt.want)
			}
		})
	}
}

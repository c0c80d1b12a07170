package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppd/xmppd/admin"
)

// waitFor polls cond every 20ms until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	c2sAddr, tlsAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	flags := []string{"--data-dir", dir, "--c2s-addr", c2sAddr, "--tls-addr", tlsAddr, "--http-addr", httpAddr}

	var logs syncBuffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &logs, openStore: openStorage}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, append([]string{"serve"}, flags...)) }()

	token := func() string { tok, _ := admin.ReadToken(dir); return tok }
	client := &admin.Client{BaseURL: "http://" + httpAddr}
	waitFor(t, "the admin API", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, logs.String())
		default:
		}
		h, err := client.Health(ctx)
		return err == nil && h.Domain == "localhost"
	})
	if fi, err := os.Stat(dir + "/admin-token"); err != nil || fi.Mode().Perm() != 0o600 || len(token()) != 64 {
		t.Fatalf("admin token file: %v %v", fi, err)
	}

	// The user commands go through the API while the server holds the store.
	if r := runCLI(t, "", append([]string{"user", "add", "alice@localhost", "--password", "pw"}, flags...)...); r.code != 0 {
		t.Fatalf("user add against the running server = %d %q", r.code, r.stderr)
	}

	// Direct TLS presents the generated certificate for the domain and MUC.
	conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	for _, name := range []string{"localhost", "conference.localhost"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("direct TLS certificate: %v", err)
		}
	}

	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "xmppd_c2s_") {
		t.Errorf("/metrics has no xmppd_c2s_ metrics")
	}

	// A second server on the same data directory is refused.
	other := []string{"serve", "--data-dir", dir, "--c2s-addr", freeAddr(t), "--tls-addr", freeAddr(t), "--http-addr", freeAddr(t)}
	if r := runCLI(t, "", other...); r.code != 1 || !strings.Contains(r.stderr, "another xmppd is running") {
		t.Errorf("second serve on the same data dir = %d %q", r.code, r.stderr)
	}

	// SIGHUP reloads the certificate; the handler is installed before the
	// API answers, so the signal cannot kill the test.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "certificate reloaded") })

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited with %d: %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), "xmppd stopped") {
		t.Errorf("no stop message in the log:\n%s", logs.String())
	}

	// The store is free again: the commands now open it directly.
	r := runCLI(t, "", append([]string{"user", "list"}, flags...)...)
	if r.code != 0 || r.stdout != "alice@localhost\n" {
		t.Errorf("user list after shutdown = %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestServeListenerInUse(t *testing.T) {
	srv := startServer(t, t.TempDir(), "localhost", strings.Repeat("ab", 32)) // occupies an address
	r := runCLI(t, "", "serve", "--data-dir", t.TempDir(), "--c2s-addr", srv.addr, "--tls-addr", freeAddr(t), "--http-addr", freeAddr(t))
	if r.code != 1 || !strings.Contains(r.stderr, "listen.c2s: listen tcp "+srv.addr) {
		t.Errorf("serve on a busy address = %d %q, want a listen.c2s error", r.code, r.stderr)
	}
}

package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/storage/pebble"
)

// syncBuffer is a bytes.Buffer safe for a server's logger and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// invocation is the outcome of one command line.
type invocation struct {
	code           int
	stdout, stderr string
}

// runCLI runs args in-process with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) invocation {
	t.Helper()
	var out, errOut syncBuffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, openStore: openStorage}
	code := c.run(context.Background(), args)
	return invocation{code: code, stdout: out.String(), stderr: errOut.String()}
}

// freeAddr returns a loopback address on which nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantWords []string
		wantPass  string
	}{
		{name: "empty", args: nil},
		{name: "flags first", args: []string{"--password", "x", "user", "add", "a@b"}, wantWords: []string{"user", "add", "a@b"}, wantPass: "x"},
		{name: "flags last", args: []string{"user", "add", "a@b", "--password=x"}, wantWords: []string{"user", "add", "a@b"}, wantPass: "x"},
		{name: "flags between", args: []string{"user", "-password", "x", "add", "a@b"}, wantWords: []string{"user", "add", "a@b"}, wantPass: "x"},
		{name: "double dash", args: []string{"user", "add", "--", "--password"}, wantWords: []string{"user", "add", "--password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			pass := fs.String("password", "", "")
			words, err := parseInterspersed(fs, tt.args)
			if err != nil || !slices.Equal(words, tt.wantWords) || *pass != tt.wantPass {
				t.Errorf("parseInterspersed(%q) = %q, password %q, %v; want %q, %q", tt.args, words, *pass, err, tt.wantWords, tt.wantPass)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"--colour"}, wantCode: 2, wantErr: "flag provided but not defined: -colour"},
		{name: "user alone", args: []string{"user"}, wantCode: 2, wantErr: "user needs a subcommand"},
		{name: "user unknown", args: []string{"user", "rename"}, wantCode: 2, wantErr: `unknown user subcommand "rename"`},
		{name: "add without jid", args: []string{"user", "add"}, wantCode: 2, wantErr: "user add takes one JID"},
		{name: "list with args", args: []string{"user", "list", "x"}, wantCode: 2, wantErr: "user list takes no arguments"},
		{name: "password elsewhere", args: []string{"user", "list", "--password", "x"}, wantCode: 2, wantErr: "--password is only for user add and user passwd"},
		{name: "serve with args", args: []string{"serve", "now"}, wantCode: 2, wantErr: "serve takes no arguments"},
		{name: "help", args: []string{"help"}, wantCode: 2, wantErr: "usage:"},
		{name: "dash help", args: []string{"-h"}, wantCode: 0, wantErr: "usage:"},
		{name: "bad config", args: []string{"user", "list", "--domain", "a b"}, wantCode: 1, wantErr: "domain: \"a b\" is not a valid XMPP domain"},
		// No command word is serve; it used to panic on the missing word.
		{name: "flags only means serve", args: []string{"--domain", "a b"}, wantCode: 1, wantErr: "domain: \"a b\" is not a valid XMPP domain"},
		{name: "jid of another domain", args: []string{"user", "del", "bob@example.net"}, wantCode: 1, wantErr: "domain example.net is not served here"},
		{name: "full jid", args: []string{"user", "del", "bob@localhost/phone"}, wantCode: 1, wantErr: "must be a bare JID"},
		{name: "token alone", args: []string{"token"}, wantCode: 2, wantErr: "token needs a subcommand: add, list, revoke"},
		{name: "token unknown", args: []string{"token", "rotate"}, wantCode: 2, wantErr: `unknown token subcommand "rotate"`},
		{name: "token add without scope", args: []string{"token", "add", "store"}, wantCode: 2, wantErr: "token add needs --scope"},
		{name: "token add without name", args: []string{"token", "add", "--scope", "read"}, wantCode: 2, wantErr: "token add takes one NAME"},
		{name: "token bad scope", args: []string{"token", "add", "store", "--scope", "root"}, wantCode: 1, wantErr: `--scope: "root" must be "read" or "admin"`},
		{name: "scope elsewhere", args: []string{"token", "list", "--scope", "read"}, wantCode: 2, wantErr: "--scope is only for token add"},
		{name: "debug without jid", args: []string{"debug"}, wantCode: 2, wantErr: "debug takes one JID"},
		{name: "debug for and off", args: []string{"debug", "a@localhost", "--for", "1m", "--off"}, wantCode: 2, wantErr: "--for or --off, not both"},
		{name: "for elsewhere", args: []string{"user", "list", "--for", "1m"}, wantCode: 2, wantErr: "--for and --off are only for debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("xmppd %q = %d, stderr %q; want %d containing %q", tt.args, r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "xmppd ") {
		t.Errorf("xmppd version = %d %q", r.code, r.stdout)
	}
}

// step is one command of a scripted CLI session.
type step struct {
	args     []string
	stdin    string
	wantCode int
	wantOut  string // exact stdout when wantCode is 0
	wantErr  string // substring of stderr
}

func runSteps(t *testing.T, common []string, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := runCLI(t, s.stdin, append(slices.Clone(s.args), common...)...)
		if r.code != s.wantCode || s.wantCode == 0 && r.stdout != s.wantOut || !strings.Contains(r.stderr, s.wantErr) {
			t.Fatalf("xmppd %q = %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
				s.args, r.code, r.stdout, r.stderr, s.wantCode, s.wantOut, s.wantErr)
		}
	}
}

// userScript exercises every user command and its errors; the wording is
// the same through the API and on the store.
var userScript = []step{
	{args: []string{"user", "list"}, wantOut: ""},
	{args: []string{"user", "add", "alice@localhost", "--password", "wonderland"}, wantOut: "user alice@localhost added\n"},
	{args: []string{"user", "add", "Bob@LOCALHOST"}, stdin: "builder\n", wantOut: "user bob@localhost added\n"},
	{args: []string{"user", "add", "alice@localhost", "--password", "x"}, wantCode: 1, wantErr: "user alice@localhost already exists"},
	{args: []string{"user", "add", "carol@localhost"}, stdin: "", wantCode: 1, wantErr: "password: none given"},
	{args: []string{"user", "add", "carol@localhost"}, stdin: "\n", wantCode: 1, wantErr: "password: must not be empty"},
	{args: []string{"user", "list"}, wantOut: "alice@localhost\nbob@localhost\n"},
	{args: []string{"user", "passwd", "alice@localhost"}, stdin: "looking-glass\r\n", wantOut: "password of alice@localhost changed\n"},
	{args: []string{"user", "passwd", "carol@localhost", "--password", "x"}, wantCode: 1, wantErr: "no such user carol@localhost"},
	{args: []string{"user", "del", "bob@localhost"}, wantOut: "user bob@localhost deleted\n"},
	{args: []string{"user", "del", "bob@localhost"}, wantCode: 1, wantErr: "no such user bob@localhost"},
	{args: []string{"user", "list"}, wantOut: "alice@localhost\n"},
}

// checkPassword reports whether user@localhost logs in with password over
// SASL PLAIN against the accounts in acc.
func checkPassword(t *testing.T, acc *auth.Accounts, user, password string) bool {
	t.Helper()
	neg, err := acc.Start(auth.MechPLAIN, true)
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := neg.Next(context.Background(), []byte("\x00"+user+"\x00"+password))
	return err == nil && done
}

func TestUserCommandsOnTheStore(t *testing.T) {
	dir := t.TempDir()
	// A token left by an earlier run, but no server: the store is used.
	if _, err := admin.LoadOrCreateToken(dir); err != nil {
		t.Fatal(err)
	}
	runSteps(t, []string{"--data-dir", dir, "--http-addr", freeAddr(t)}, userScript)

	db, err := pebble.Open(filepath.Join(dir, storeDir), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := auth.NewAccounts(db.KV(), "localhost", auth.Config{})
	if !checkPassword(t, acc, "alice", "looking-glass") {
		t.Error("alice cannot log in with the password set by user passwd from stdin")
	}
	if checkPassword(t, acc, "alice", "wonderland") {
		t.Error("alice's old password still works")
	}
}

// runningServer stands in for a running xmppd: it holds the embedded store
// of dir open and serves the admin API over it.
type runningServer struct {
	addr string
	acc  *auth.Accounts
}

func startServer(t *testing.T, dir, domain, token string) runningServer {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, storeDir), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := auth.NewAccounts(db.KV(), domain, auth.Config{})
	api, err := admin.New(admin.Options{Domain: domain, Token: token, Accounts: acc, Ready: db})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	return runningServer{addr: ts.Listener.Addr().String(), acc: acc}
}

func TestUserCommandsThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	token, err := admin.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "localhost", token)
	// The store is held by the server, so success proves the API path.
	runSteps(t, []string{"--data-dir", dir, "--http-addr", srv.addr}, userScript)
	if !checkPassword(t, srv.acc, "alice", "looking-glass") {
		t.Error("alice cannot log in with the password set through the API")
	}
}

func TestServerRunningButAPIUnreachable(t *testing.T) {
	dir := t.TempDir()
	token, err := admin.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, dir, "localhost", token)
	r := runCLI(t, "", "user", "list", "--data-dir", dir, "--http-addr", freeAddr(t))
	if r.code != 1 || !strings.Contains(r.stderr, "server running but admin API unreachable") {
		t.Errorf("user list with the store locked and no API = %d %q, want the unreachable error", r.code, r.stderr)
	}
}

func TestAPIOfAnotherServer(t *testing.T) {
	dir := t.TempDir()
	token, err := admin.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	other := startServer(t, t.TempDir(), "example.net", token)
	r := runCLI(t, "", "user", "list", "--data-dir", dir, "--http-addr", other.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "serves domain example.net, not localhost") {
		t.Errorf("user list against another domain's API = %d %q", r.code, r.stderr)
	}

	// Same domain, but the token in our data dir is not that server's.
	theirs := startServer(t, t.TempDir(), "localhost", strings.Repeat("ab", 32))
	r = runCLI(t, "", "user", "list", "--data-dir", dir, "--http-addr", theirs.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "is not the running server's") {
		t.Errorf("user list with another server's token = %d %q", r.code, r.stderr)
	}
}

func TestAdminURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:5280", "http://127.0.0.1:5280"},
		{":5280", "http://127.0.0.1:5280"},
		{"0.0.0.0:5280", "http://127.0.0.1:5280"},
		{"[::]:5280", "http://[::1]:5280"},
		{"admin.internal:80", "http://admin.internal:80"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := adminURL(tt.addr); got != tt.want {
			t.Errorf("adminURL(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

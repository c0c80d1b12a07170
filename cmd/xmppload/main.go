// Command xmppload is xmppd's load generator: it drives an XMPP server
// (xmppd, ejabberd, Prosody — anything speaking RFC 6120/6121 and XEP-0045)
// over raw client-to-server streams on loopback and reports what the server
// did and what it cost, as JSON.
//
// Workloads (the first argument):
//
//	register     create users with XEP-0077 in-band registration
//	idle         log N sessions in, C at a time: logins/s, login latency,
//	             server RSS per session, server CPU per login
//	chat         one-to-one messages at a fixed aggregate rate between
//	             random online users: delivery latency percentiles, sent vs
//	             delivered, server CPU per 10k messages
//	chat-max     chat at rising rates until p99 > 100 ms or a message is
//	             lost, bounced or delivered twice; each step says why it
//	             failed
//	muc          R rooms × O occupants posting at an aggregate rate
//	             (XEP-0045): deliveries/s, latency, CPU per 10k deliveries
//	roster-setup give N users 50 mutual contacts (RFC 6121 roster sets and
//	             subscription handshakes)
//	roster-storm log all N in at once: roster get, then presence
//
// Every message carries a sequence number and its send time, read back by
// the receiving session in the same process, so latency is measured on one
// clock and a message not delivered is counted as lost, never assumed. A
// message is expected once at each receiver (the addressee, or every
// occupant of the room, sender included): a second copy at the same
// receiver is counted as a duplicate, never as another delivery.
// Server CPU and RSS come from /proc/<pid> of --server-pid.
//
// Safety: targets must be loopback addresses (127.0.0.0/8, ::1) unless
// --allow-remote is given; every workload is bounded in sessions, messages
// and time (--max-time), and stops by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// env is the configuration shared by every workload.
type env struct {
	dial        dialConfig
	prefix      string
	password    string
	users       int
	concurrency int
	pid         int
	label       string
	log         *slog.Logger
}

// userName is the localpart of user i (0-based).
func (e *env) userName(i int) string { return fmt.Sprintf("%s%d", e.prefix, i) }

// bareJID is the bare JID of user i.
func (e *env) bareJID(i int) string { return e.userName(i) + "@" + e.dial.domain }

// A Result is one workload's JSON output.
type Result struct {
	Workload string    `json:"workload"`
	Label    string    `json:"label,omitempty"`
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Params   any       `json:"params"`
	Metrics  any       `json:"metrics"`
}

var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xmppload:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = `usage: xmppload WORKLOAD [flags]
workloads: register, idle, chat, chat-max, muc, roster-setup, roster-storm
run "xmppload WORKLOAD -h" for the flags`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: missing workload", errUsage)
	}
	workload := args[0]
	fs := flag.NewFlagSet(workload, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := &env{}
	var (
		allowRemote bool
		maxTime     time.Duration
		out         string
		verbose     bool
	)
	fs.StringVar(&e.dial.addr, "addr", "127.0.0.1:5222", "server `host:port`")
	fs.StringVar(&e.dial.domain, "domain", "localhost", "XMPP domain of the users")
	fs.StringVar(&e.dial.tlsMode, "tls", "starttls", "starttls or direct (XEP-0368)")
	fs.StringVar(&e.dial.mech, "mech", "SCRAM-SHA-1", "SASL mechanism: SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN")
	fs.DurationVar(&e.dial.timeout, "login-timeout", 30*time.Second, "bound on one connect+login")
	fs.StringVar(&e.prefix, "prefix", "load", "user localparts are PREFIX0, PREFIX1, …")
	fs.StringVar(&e.password, "password", "loadpass", "password of every user")
	fs.IntVar(&e.users, "users", 100, "number of users")
	fs.IntVar(&e.concurrency, "concurrency", 50, "logins (or registrations) in flight")
	fs.IntVar(&e.pid, "server-pid", 0, "PID of the server, for CPU and RSS from /proc (0: not measured)")
	fs.StringVar(&e.label, "label", "", "label copied into the result (e.g. the server's name)")
	fs.BoolVar(&allowRemote, "allow-remote", false, "allow a target outside 127.0.0.0/8 and ::1")
	fs.DurationVar(&maxTime, "max-time", 10*time.Minute, "hard bound on the whole run")
	fs.StringVar(&out, "out", "", "also write the JSON result to this file")
	fs.BoolVar(&verbose, "v", false, "log progress to stderr")
	var w workloadFunc
	switch workload {
	case "register":
		w = registerFlags(fs)
	case "idle":
		w = idleFlags(fs)
	case "chat":
		w = chatFlags(fs, false)
	case "chat-max":
		w = chatFlags(fs, true)
	case "muc":
		w = mucFlags(fs)
	case "roster-setup":
		w = rosterSetupFlags(fs)
	case "roster-storm":
		w = rosterStormFlags(fs)
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: unknown workload %q", errUsage, workload)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if err := checkEnv(e); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := checkTarget(ctx, e.dial.addr, allowRemote); err != nil {
		return err
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	e.dial.cache = newSaltCache()

	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()
	started := time.Now()
	params, metrics, err := w(ctx, e)
	if err != nil {
		return fmt.Errorf("%s: %w", workload, err)
	}
	res := Result{Workload: workload, Label: e.label, Target: e.dial.addr, Started: started.UTC().Truncate(time.Second), Params: params, Metrics: metrics}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out != "" {
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
	_, err = stdout.Write(b)
	return err
}

// A workloadFunc runs one workload, returning its parameters and metrics
// for the JSON result.
type workloadFunc func(ctx context.Context, e *env) (params, metrics any, err error)

func checkEnv(e *env) error {
	switch {
	case e.users < 1 || e.users > 1_000_000:
		return fmt.Errorf("--users %d: want 1 to 1000000", e.users)
	case e.concurrency < 1:
		return fmt.Errorf("--concurrency %d: want at least 1", e.concurrency)
	case e.dial.tlsMode != "starttls" && e.dial.tlsMode != "direct":
		return fmt.Errorf("--tls %q: want starttls or direct", e.dial.tlsMode)
	case e.dial.mech != "SCRAM-SHA-1" && e.dial.mech != "SCRAM-SHA-256" && e.dial.mech != "PLAIN":
		return fmt.Errorf("--mech %q: want SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN", e.dial.mech)
	case e.dial.domain == "" || strings.ContainsAny(e.dial.domain, "'\"<>&"):
		return fmt.Errorf("--domain %q: not a domain", e.dial.domain)
	case e.prefix == "" || strings.ContainsAny(e.prefix, "@/'\"<>& "):
		return fmt.Errorf("--prefix %q: not a localpart prefix", e.prefix)
	}
	return nil
}

// checkTarget refuses a target that is not a loopback address unless
// allowRemote: load is only ever aimed at this machine by default.
func checkTarget(ctx context.Context, addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, addr, err)
	}
	if allowRemote {
		return nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if !isLoopback(ip.IP) {
			return fmt.Errorf("%w: target %s (%s) is not a loopback address; pass --allow-remote to load a remote server", errUsage, host, ip.IP)
		}
	}
	return nil
}

// isLoopback reports whether ip is in 127.0.0.0/8 or is ::1.
func isLoopback(ip net.IP) bool {
	if v4 := ip.To4(); v4 != nil {
		return v4[0] == 127
	}
	return ip.Equal(net.IPv6loopback)
}

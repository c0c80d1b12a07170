// Command xmppd is the XMPP server and its operator's tool.
//
//	xmppd [flags]                       run the server (same as "xmppd serve")
//	xmppd user add JID [--password P]   create an account
//	xmppd user passwd JID [--password P] change a password
//	xmppd user del JID                  delete an account
//	xmppd user list                     list the accounts
//	xmppd token add NAME --scope S      create an API token (read or admin)
//	xmppd token list                    list the API tokens
//	xmppd token revoke NAME             revoke an API token
//	xmppd debug JID [--for D] [--off]   per-session debug logging
//	xmppd notes rekey                   re-encrypt roster notes under the current key
//	xmppd status                        uptime, sessions, rooms, storage health
//	xmppd reload                        what SIGHUP does: certificate, tokens, toggles, note keys
//	xmppd sessions JID                  list a user's sessions
//	xmppd kick JID [--reason TEXT]      close a user's or resource's sessions
//	xmppd version                       print the version
//
// With no configuration it serves the domain localhost: client connections
// with STARTTLS on :5222 and direct TLS on :5223, the admin HTTP listener
// on 127.0.0.1:5280, data in ./xmppd-data, and a self-signed certificate
// generated there on first start. --config names a TOML file that sets
// everything (docs/config.md); the flags override its common settings.
//
// The user, token and notes commands work whether or not the server runs.
// When it does, they go through its admin API, found at listen.http with
// the token from the data directory; otherwise they open the store (or the
// token file) themselves. When the API does not answer, the embedded
// store's lock tells the two cases apart: it admits one process at a time.
// The debug, status, reload, sessions and kick commands act on the running
// server only and fail with "server not running" without it.
//
// This is the only package that imports everything: the wiring of the
// server is in serve.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/storage"
)

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, openStore: openStorage}
	os.Exit(c.run(context.Background(), os.Args[1:]))
}

// A cli runs one invocation. Its fields are the process's surroundings, so
// that tests can run commands in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// openStore opens the configured storage backend (openStorage).
	openStore func(Config, storeOptions) (storage.Backend, error)
}

const usage = `usage:
  xmppd [serve] [flags]                 run the server
  xmppd user add JID [--password P]     create an account (password from stdin without --password)
  xmppd user passwd JID [--password P]  change an account's password
  xmppd user del JID                    delete an account
  xmppd user list                       list the accounts
  xmppd token add NAME --scope read|admin  create an API token (printed once)
  xmppd token list                      list the API tokens
  xmppd token revoke NAME               revoke an API token
  xmppd debug JID [--for 15m] [--off]   log one user's or resource's sessions
                                        in full (needs the running server)
  xmppd notes rekey                     re-encrypt every roster note under the
                                        current key (docs/config.md, [notes])
  xmppd status                          uptime, sessions, rooms and storage health
  xmppd reload                          reload certificate, API tokens, feature
                                        toggles and note keys (as SIGHUP does)
  xmppd sessions JID                    list the sessions of user@domain
  xmppd kick JID [--reason TEXT]        close every session of user@domain, or
                                        the one of user@domain/resource
  xmppd version                         print the version

The user, token and notes commands use the running server's admin API when it answers,
and open the store directly otherwise. debug, status, reload, sessions and kick
need the running server.

flags:
`

// errUsage marks a command line that makes no sense; run prints the usage.
var errUsage = errors.New("usage")

// run executes the command line args and returns the exit status:
// 0 success, 1 failure, 2 bad usage.
func (c *cli) run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("xmppd", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var o overrides
	o.register(fs)
	password := fs.String("password", "", "the account's `password` (user add, user passwd); read from stdin if absent")
	var ops opsFlags
	fs.StringVar(&ops.scope, "scope", "", "the new token's `scope`: read or admin (token add)")
	fs.StringVar(&ops.debugFor, "for", "", "how long debug logging stays on, e.g. 15m (debug; default 15m)")
	fs.BoolVar(&ops.debugOff, "off", false, "switch debug logging off (debug)")
	fs.StringVar(&ops.reason, "reason", "", "the stream error `text` the kicked client sees (kick; default \""+admin.DefaultKickReason+"\")")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, usage)
		fs.PrintDefaults()
	}
	words, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2 // the flag package has printed the problem and the usage
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	ops.set = o.set
	err = c.dispatch(ctx, words, o, *password, ops)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(c.stderr, "xmppd: %v\n\n", err)
		fs.Usage()
		return 2
	default:
		fmt.Fprintf(c.stderr, "xmppd: %v\n", err)
		return 1
	}
}

// dispatch runs the command named by words.
func (c *cli) dispatch(ctx context.Context, words []string, o overrides, password string, ops opsFlags) error {
	// No command word means serve: `xmppd` and `xmppd --config F` run the
	// server, as the README says.
	cmd, rest := "serve", []string(nil)
	if len(words) > 0 {
		cmd, rest = words[0], words[1:]
	}
	if o.set["password"] && !(cmd == "user" && len(words) > 1 && (words[1] == "add" || words[1] == "passwd")) {
		return fmt.Errorf("%w: --password is only for user add and user passwd", errUsage)
	}
	switch cmd {
	case "help":
		return fmt.Errorf("%w: help", errUsage)
	case "version":
		fmt.Fprintln(c.stdout, "xmppd", buildVersion())
		return nil
	case "serve", "user", "token", "debug", "notes", "status", "reload", "sessions", "kick":
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if cmd == "serve" && len(rest) > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, strings.Join(rest, " "))
	}
	if err := ops.check(cmd, rest); err != nil {
		return err
	}
	if cmd == "user" {
		if err := checkUserArgs(rest); err != nil {
			return err
		}
	}
	if cmd == "notes" {
		if err := checkNotesArgs(rest); err != nil {
			return err
		}
	}
	if err := checkControlArgs(cmd, rest); err != nil {
		return err
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	if cmd == "serve" {
		return c.serve(ctx, cfg, func() (Config, error) { return loadConfig(o) })
	}
	switch cmd {
	case "token":
		return c.token(ctx, cfg, words[1:], ops.scope)
	case "debug":
		return c.debug(ctx, cfg, words[1], ops.debugFor, ops.debugOff)
	case "notes":
		return c.notesRekey(ctx, cfg)
	case "status", "reload", "sessions", "kick":
		return c.control(ctx, cfg, cmd, rest, ops.reason)
	}
	return c.user(ctx, cfg, words[1:], password, o.set["password"])
}

// opsFlags are the flags of the token and debug commands.
type opsFlags struct {
	scope    string
	debugFor string
	debugOff bool
	reason   string
	set      map[string]bool
}

// check refuses the flags of one command on another, and checks the words
// after "token" and "debug".
func (f opsFlags) check(cmd string, args []string) error {
	tokenAdd := cmd == "token" && len(args) > 0 && args[0] == "add"
	switch {
	case f.set["scope"] && !tokenAdd:
		return fmt.Errorf("%w: --scope is only for token add", errUsage)
	case (f.set["for"] || f.set["off"]) && cmd != "debug":
		return fmt.Errorf("%w: --for and --off are only for debug", errUsage)
	case f.set["reason"] && cmd != "kick":
		return fmt.Errorf("%w: --reason is only for kick", errUsage)
	case f.set["for"] && f.debugOff:
		return fmt.Errorf("%w: debug takes --for or --off, not both", errUsage)
	case tokenAdd && !f.set["scope"]:
		return fmt.Errorf("%w: token add needs --scope read or --scope admin", errUsage)
	case cmd == "token":
		return checkTokenArgs(args)
	case cmd == "debug" && len(args) != 1:
		return fmt.Errorf("%w: debug takes one JID (user@domain or user@domain/resource)", errUsage)
	}
	return nil
}

// parseInterspersed parses fs over args, allowing flags after positional
// arguments ("user add JID --password x"), and returns the positional ones.
// A lone "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return words, nil
		}
		// fs.Parse stops at the first non-flag, or after "--".
		if len(args)-len(rest) > 0 && args[len(args)-len(rest)-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

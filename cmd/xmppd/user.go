package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/storage"
)

// userStore is what the user commands need, served by the running server's
// admin API (*admin.Client) or by the store opened directly (directUsers).
// JIDs are bare JIDs of the configured domain.
type userStore interface {
	AddUser(ctx context.Context, jid, password string) error
	SetPassword(ctx context.Context, jid, password string) error
	DeleteUser(ctx context.Context, jid string) error
	ListUsers(ctx context.Context) ([]string, error)
}

var _ userStore = (*admin.Client)(nil)

// How long a user command waits for the admin API to answer /health before
// deciding that no server is there, and for one API call.
const (
	probeTimeout = 2 * time.Second
	apiTimeout   = 30 * time.Second
)

// checkUserArgs checks the words after "user".
func checkUserArgs(args []string) error {
	return checkSubcommand("user", "JID", []string{"add", "passwd", "del", "list"}, map[string]bool{"list": true}, args)
}

// checkSubcommand checks the words after cmd: one of subs, then one
// argument (named arg in messages) unless the subcommand is in noArg.
func checkSubcommand(cmd, arg string, subs []string, noArg map[string]bool, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s needs a subcommand: %s", errUsage, cmd, strings.Join(subs, ", "))
	}
	want := 1
	if noArg[args[0]] {
		want = 0
	}
	switch {
	case !slices.Contains(subs, args[0]):
		return fmt.Errorf("%w: unknown %s subcommand %q (%s)", errUsage, cmd, args[0], strings.Join(subs, ", "))
	case len(args)-1 != want && want == 1:
		return fmt.Errorf("%w: %s %s takes one %s", errUsage, cmd, args[0], arg)
	case len(args)-1 != want:
		return fmt.Errorf("%w: %s %s takes no arguments", errUsage, cmd, args[0])
	}
	return nil
}

// user runs "user add|passwd|del|list" against whichever store is there.
func (c *cli) user(ctx context.Context, cfg Config, args []string, password string, havePassword bool) error {
	var bare string
	if len(args) > 1 {
		j, err := admin.CheckJID(args[1], cfg.Domain, true)
		if err != nil {
			return err
		}
		bare = j.String()
	}
	if (args[0] == "add" || args[0] == "passwd") && !havePassword {
		var err error
		if password, err = readPassword(c.stdin, c.stderr, bare); err != nil {
			return err
		}
	}
	if (args[0] == "add" || args[0] == "passwd") && password == "" {
		return errors.New("password: must not be empty")
	}

	store, closeStore, err := c.userStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	switch args[0] {
	case "add":
		err = store.AddUser(ctx, bare, password)
		if err == nil {
			fmt.Fprintf(c.stdout, "user %s added\n", bare)
		}
	case "passwd":
		err = store.SetPassword(ctx, bare, password)
		if err == nil {
			fmt.Fprintf(c.stdout, "password of %s changed\n", bare)
		}
	case "del":
		err = store.DeleteUser(ctx, bare)
		if err == nil {
			fmt.Fprintf(c.stdout, "user %s deleted\n", bare)
		}
	case "list":
		var users []string
		users, err = store.ListUsers(ctx)
		for _, u := range users {
			fmt.Fprintln(c.stdout, u)
		}
	}
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		return fmt.Errorf("%w; the token in %s is not the running server's: is it using another --data-dir?", err, cfg.DataDir)
	}
	return err
}

// userStore finds the running server's admin API, or else opens the store.
// The returned function releases what was opened.
func (c *cli) userStore(ctx context.Context, cfg Config) (userStore, func(), error) {
	base := adminURL(cfg.Listen.HTTP)
	client, apiErr := probeAPI(ctx, cfg, base)
	if apiErr == nil {
		return client, func() {}, nil
	}
	var notOurs *foreignServerError
	if errors.As(apiErr, &notOurs) {
		return nil, nil, apiErr
	}

	backend, err := c.openDirect(cfg, base, apiErr)
	if err != nil {
		return nil, nil, err
	}
	acc := auth.NewAccounts(backend.KV(), cfg.Domain, cfg.Auth)
	rm, err := storeRemoval(cfg, backend, acc)
	if err != nil {
		backend.Close()
		return nil, nil, err
	}
	return directUsers{acc: acc, domain: cfg.Domain, removal: rm}, func() { backend.Close() }, nil
}

// openDirect opens the store for a command that found no admin API at
// base (apiErr says why). A locked embedded store means a server runs
// whose API cannot be reached; the command stops rather than wait.
func (c *cli) openDirect(cfg Config, base string, apiErr error) (storage.Backend, error) {
	backend, err := c.openStore(cfg, storeOptions{log: discardLog})
	if errors.Is(err, errStoreLocked) {
		return nil, fmt.Errorf("server running but admin API unreachable at %s (%v); the store is in use: %v", base, apiErr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return backend, nil
}

// A foreignServerError says that the admin address answers for another
// domain, which going on with the store would hide.
type foreignServerError struct{ url, domain, want string }

func (e *foreignServerError) Error() string {
	return fmt.Sprintf("the admin API at %s serves domain %s, not %s: check --http-addr and --domain", e.url, e.domain, e.want)
}

// probeAPI returns a client for the running server's admin API, or why
// there is none.
func probeAPI(ctx context.Context, cfg Config, base string) (*admin.Client, error) {
	if base == "" {
		return nil, errors.New("listen.http is empty")
	}
	token, err := admin.ReadToken(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	client := &admin.Client{BaseURL: base, Token: token, HTTP: &http.Client{Timeout: apiTimeout}}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	h, err := client.Health(pctx)
	if err != nil {
		return nil, err
	}
	if h.Domain != cfg.Domain {
		return nil, &foreignServerError{url: base, domain: h.Domain, want: cfg.Domain}
	}
	return client, nil
}

// adminURL returns the URL at which a local client reaches the admin
// listener address addr ("" if none): a wildcard host becomes loopback.
func adminURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || addr == "" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// readPassword reads one line from in, prompting on errOut when in is a
// terminal. The line end is not part of the password.
func readPassword(in io.Reader, errOut io.Writer, jid string) (string, error) {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(errOut, "password for %s (shown as typed): ", jid)
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("password: none given (use --password or write it on stdin)")
		}
		return "", fmt.Errorf("password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// directUsers serves the user commands from the store itself, with the
// same messages as the admin API.
type directUsers struct {
	acc     *auth.Accounts
	domain  string
	removal *accountRemoval // deletes the account with all its data
}

var _ admin.Accounts = (*auth.Accounts)(nil)

func (d directUsers) AddUser(ctx context.Context, jid, password string) error {
	return d.explain(jid, d.acc.Add(ctx, jid, password))
}

func (d directUsers) SetPassword(ctx context.Context, jid, password string) error {
	return d.explain(jid, d.acc.SetPassword(ctx, jid, password))
}

func (d directUsers) DeleteUser(ctx context.Context, jid string) error {
	local, _, _ := strings.Cut(jid, "@")
	return d.explain(jid, d.removal.Delete(ctx, local))
}

func (d directUsers) ListUsers(ctx context.Context) ([]string, error) {
	locals, err := d.acc.List(ctx)
	if err != nil {
		return nil, err
	}
	users := make([]string, len(locals))
	for i, l := range locals {
		users[i] = l + "@" + d.domain
	}
	slices.Sort(users)
	return users, nil
}

// explain turns the account errors into the admin API's wording.
func (d directUsers) explain(jid string, err error) error {
	switch {
	case errors.Is(err, auth.ErrExists):
		return fmt.Errorf("user %s already exists", jid)
	case errors.Is(err, auth.ErrNoSuchUser):
		return fmt.Errorf("no such user %s", jid)
	}
	return err
}

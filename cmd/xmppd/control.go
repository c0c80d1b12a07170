package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/muc"
)

// This file holds the commands that control a running server: status,
// reload, sessions and kick. Unlike user, token and notes they have no
// offline form: what they show or change exists only in the server.

// serverStatus is the admin API's view of the running server.
type serverStatus struct {
	srv     *c2s.Server
	rooms   *muc.Service
	version string
	started time.Time
}

func (s serverStatus) Status() admin.Status {
	return admin.Status{Version: s.version, Started: s.started, Sessions: s.srv.Directory().Len(), Rooms: s.rooms.RoomCount()}
}

// liveAPI returns a client for the running server's admin API, or
// an error that says the server is not running and that cmd cannot work
// without it.
func liveAPI(ctx context.Context, cfg Config, cmd string) (*admin.Client, error) {
	base := adminURL(cfg.Listen.HTTP)
	client, err := probeAPI(ctx, cfg, base)
	var notOurs *foreignServerError
	switch {
	case err == nil:
		return client, nil
	case errors.As(err, &notOurs):
		return nil, err
	case base == "":
		return nil, fmt.Errorf("server not running: listen.http is empty, and xmppd %s works only through the admin API of a running server", cmd)
	}
	return nil, fmt.Errorf("server not running: no admin API at %s (%v); xmppd %s works only against a running server", base, err, cmd)
}

// checkControlArgs checks the words after status, reload, sessions and kick.
func checkControlArgs(cmd string, args []string) error {
	switch cmd {
	case "status", "reload":
		if len(args) != 0 {
			return fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, cmd, strings.Join(args, " "))
		}
	case "sessions":
		if len(args) != 1 {
			return fmt.Errorf("%w: sessions takes one bare JID (user@domain)", errUsage)
		}
	case "kick":
		if len(args) != 1 {
			return fmt.Errorf("%w: kick takes one JID (user@domain for every session, user@domain/resource for one)", errUsage)
		}
	}
	return nil
}

// control runs status, reload, sessions or kick against the running server.
func (c *cli) control(ctx context.Context, cfg Config, cmd string, args []string, reason string) error {
	client, err := liveAPI(ctx, cfg, cmd)
	if err != nil {
		return err
	}
	switch cmd {
	case "status":
		err = c.status(ctx, client)
	case "reload":
		err = c.reload(ctx, client)
	case "sessions":
		err = c.sessions(ctx, client, args[0])
	case "kick":
		err = c.kick(ctx, client, args[0], reason)
	}
	return explainAPIError(cfg, err)
}

// status prints the server's figures; unhealthy storage is an error after
// them, so that scripts notice.
func (c *cli) status(ctx context.Context, client *admin.Client) error {
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "domain\t%s\n", st.Domain)
	fmt.Fprintf(w, "version\t%s\n", st.Version)
	fmt.Fprintf(w, "uptime\t%s (since %s)\n", time.Duration(st.UptimeSeconds)*time.Second, st.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "sessions\t%d\n", st.Sessions)
	fmt.Fprintf(w, "rooms\t%d\n", st.Rooms)
	if st.Storage.OK {
		fmt.Fprintf(w, "storage\tok (ping %.1f ms)\n", st.Storage.PingMillis)
	} else {
		fmt.Fprintf(w, "storage\tFAILING: %s\n", st.Storage.Error)
	}
	w.Flush()
	if !st.Storage.OK {
		return fmt.Errorf("storage unhealthy: %s", st.Storage.Error)
	}
	return nil
}

// reload prints each part's outcome; a part that failed is an error.
func (c *cli) reload(ctx context.Context, client *admin.Client) error {
	resp, err := client.Reload(ctx)
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, p := range resp.Parts {
		if p.OK {
			fmt.Fprintf(w, "%s\treloaded\n", p.Part)
		} else {
			fmt.Fprintf(w, "%s\tFAILED, previous state kept: %s\n", p.Part, p.Error)
		}
	}
	w.Flush()
	return err
}

// sessions prints the bound sessions of a bare JID, one a line.
func (c *cli) sessions(ctx context.Context, client *admin.Client, bare string) error {
	list, err := client.Sessions(ctx, bare)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "no sessions for %s\n", bare)
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "JID\tADDRESS\tSINCE\tPRESENCE\tPRIORITY\tTLS\tDEBUG")
	for _, s := range list {
		presence := "unavailable"
		if s.Available {
			presence = "available"
			if s.Show != "" {
				presence = s.Show
			}
			if s.Status != "" {
				presence += " (" + s.Status + ")"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.JID, s.RemoteAddr, s.Since.UTC().Format(time.RFC3339),
			presence, s.Priority, yesNo(s.Secure), yesNo(s.Debug))
	}
	return w.Flush()
}

// kick closes the session of a full JID or every session of a bare one.
func (c *cli) kick(ctx context.Context, client *admin.Client, target, reason string) error {
	resp, err := client.Kick(ctx, target, reason)
	if err != nil {
		return err
	}
	noun := "sessions"
	if resp.Closed == 1 {
		noun = "session"
	}
	fmt.Fprintf(c.stdout, "closed %d %s of %s (reason: %s)\n", resp.Closed, noun, resp.JID, resp.Reason)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

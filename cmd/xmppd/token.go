package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/xmppd/xmppd/admin"
)

// checkTokenArgs checks the words after "token".
func checkTokenArgs(args []string) error {
	return checkSubcommand("token", "NAME", []string{"add", "list", "revoke"}, map[string]bool{"list": true}, args)
}

// tokenStore is what the token commands need: the running server's API
// (*admin.Client), or the token file itself when no server runs.
type tokenStore interface {
	AddToken(ctx context.Context, name string, scope admin.Scope) (admin.NewTokenResponse, error)
	ListTokens(ctx context.Context) ([]admin.TokenInfo, error)
	RevokeToken(ctx context.Context, name string) error
}

var _ tokenStore = (*admin.Client)(nil)

// token runs "token add|list|revoke". Through the API when the server
// answers, so that the change takes effect at once; otherwise on the file,
// which the server reads when it starts.
func (c *cli) token(ctx context.Context, cfg Config, args []string, scope string) error {
	var sc admin.Scope
	if args[0] == "add" {
		var err error
		if sc, err = admin.ParseScope(scope); err != nil {
			return fmt.Errorf("--%w", err)
		}
	}
	var store tokenStore
	client, apiErr := probeAPI(ctx, cfg, adminURL(cfg.Listen.HTTP))
	var notOurs *foreignServerError
	switch {
	case apiErr == nil:
		store = client
	case errors.As(apiErr, &notOurs):
		return apiErr
	default:
		builtin, err := admin.LoadOrCreateToken(cfg.DataDir)
		if err != nil {
			return err
		}
		tokens, err := admin.OpenTokens(cfg.DataDir, builtin)
		if err != nil {
			return err
		}
		store = directTokens{tokens}
	}
	var err error
	switch args[0] {
	case "add":
		var t admin.NewTokenResponse
		if t, err = store.AddToken(ctx, args[1], sc); err == nil {
			fmt.Fprintf(c.stderr, "token %s (scope %s) added; it is shown only now:\n", t.Name, t.Scope)
			fmt.Fprintln(c.stdout, t.Token)
		}
	case "list":
		var list []admin.TokenInfo
		list, err = store.ListTokens(ctx)
		for _, t := range list {
			created := "-"
			if !t.Created.IsZero() {
				created = t.Created.Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(c.stdout, "%-24s %-6s %s\n", t.Name, t.Scope, created)
		}
	case "revoke":
		if err = store.RevokeToken(ctx, args[1]); err == nil {
			fmt.Fprintf(c.stdout, "token %s revoked\n", args[1])
		}
	}
	return explainAPIError(cfg, err)
}

// explainAPIError adds the likely cause to a 401 from the API.
func explainAPIError(cfg Config, err error) error {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		return fmt.Errorf("%w; the token in %s is not the running server's: is it using another --data-dir?", err, cfg.DataDir)
	}
	return err
}

// directTokens serves the token commands from the file, with the API's
// wording.
type directTokens struct{ t *admin.Tokens }

func (d directTokens) AddToken(_ context.Context, name string, scope admin.Scope) (admin.NewTokenResponse, error) {
	secret, info, err := d.t.Add(name, scope)
	if errors.Is(err, admin.ErrTokenExists) {
		err = fmt.Errorf("token %q already exists; revoke it first", name)
	}
	return admin.NewTokenResponse{TokenInfo: info, Token: secret}, err
}

func (d directTokens) ListTokens(context.Context) ([]admin.TokenInfo, error) { return d.t.List(), nil }

func (d directTokens) RevokeToken(_ context.Context, name string) error {
	err := d.t.Revoke(name)
	if errors.Is(err, admin.ErrNoSuchToken) {
		err = fmt.Errorf("no such token %q", name)
	}
	return err
}

// debug runs "debug JID [--for D] [--off]": it needs the running server.
func (c *cli) debug(ctx context.Context, cfg Config, target, d string, off bool) error {
	client, err := probeAPI(ctx, cfg, adminURL(cfg.Listen.HTTP))
	if err != nil {
		return fmt.Errorf("debug needs the running server's admin API: %w", err)
	}
	resp, err := client.SetDebug(ctx, target, d, off)
	if err != nil {
		return explainAPIError(cfg, err)
	}
	if resp.Debug && resp.Until != nil {
		fmt.Fprintf(c.stdout, "debug logging on for %s until %s\n", resp.JID, resp.Until.Format("2006-01-02T15:04:05Z"))
	} else {
		fmt.Fprintf(c.stdout, "debug logging off for %s\n", resp.JID)
	}
	return nil
}

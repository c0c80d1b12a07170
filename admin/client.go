package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// A Client calls the admin API of a running xmppd (the xmppd user …
// commands use it). Its methods are safe for concurrent use.
type Client struct {
	// BaseURL is the listener's root, e.g. "http://127.0.0.1:5280".
	BaseURL string
	// Token is sent as the bearer token.
	Token string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// An APIError is an error answer of the API.
type APIError struct {
	Status  int    // HTTP status code
	Message string // the "error" field, or the body when it is not JSON
	Body    []byte // the whole answer, for endpoints that say more on error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("admin api: %s (HTTP %d)", e.Message, e.Status)
}

// Health calls GET /health, which needs no token.
func (c *Client) Health(ctx context.Context) (HealthResponse, error) {
	var h HealthResponse
	err := c.do(ctx, "GET", "/health", nil, &h)
	return h, err
}

// ListUsers returns the bare JIDs of every account, sorted.
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	var resp UsersResponse
	if err := c.do(ctx, "GET", "/api/v1/users", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Users, nil
}

// AddUser creates the account jid; a 409 APIError if it exists.
func (c *Client) AddUser(ctx context.Context, jid, password string) error {
	return c.do(ctx, "POST", "/api/v1/users", UserRequest{JID: jid, Password: password}, nil)
}

// SetPassword changes the password of jid; a 404 APIError if unknown.
func (c *Client) SetPassword(ctx context.Context, jid, password string) error {
	return c.do(ctx, "PUT", "/api/v1/users/"+url.PathEscape(jid)+"/password", PasswordRequest{Password: password}, nil)
}

// DeleteUser removes the account jid; a 404 APIError if unknown.
func (c *Client) DeleteUser(ctx context.Context, jid string) error {
	return c.do(ctx, "DELETE", "/api/v1/users/"+url.PathEscape(jid), nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin api: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("admin api: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin api: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin api: read %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error, Body: data}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin api: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// ListTokens returns the API tokens (never their secrets).
func (c *Client) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	var resp TokensResponse
	if err := c.do(ctx, "GET", "/api/v1/tokens", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Tokens, nil
}

// AddToken creates a named token and returns it with its secret.
func (c *Client) AddToken(ctx context.Context, name string, scope Scope) (NewTokenResponse, error) {
	var resp NewTokenResponse
	err := c.do(ctx, "POST", "/api/v1/tokens", TokenRequest{Name: name, Scope: scope}, &resp)
	return resp, err
}

// RevokeToken deletes a named token; a 404 APIError if unknown.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(name), nil, nil)
}

// SetDebug switches debug logging on for jid (bare or full) for d ("" is
// the server's default), or off when off is set.
func (c *Client) SetDebug(ctx context.Context, jid, d string, off bool) (DebugResponse, error) {
	var resp DebugResponse
	path := "/api/v1/debug/" + url.PathEscape(jid)
	if off {
		return resp, c.do(ctx, "DELETE", path, nil, &resp)
	}
	if d != "" {
		path += "?for=" + url.QueryEscape(d)
	}
	return resp, c.do(ctx, "PUT", path, nil, &resp)
}

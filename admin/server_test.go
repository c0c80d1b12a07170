package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/toggles"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fakeAccounts is an in-memory Accounts with auth's error rules.
type fakeAccounts struct {
	mu    sync.Mutex
	users map[string]string
	fail  error // returned by every call when set
}

func (f *fakeAccounts) Add(_ context.Context, user, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if strings.ContainsAny(pw, "\x00\x07") {
		return fmt.Errorf("password: control character: %w", auth.ErrInvalid)
	}
	if _, ok := f.users[user]; ok {
		return fmt.Errorf("add %s: %w", user, auth.ErrExists)
	}
	f.users[user] = pw
	return nil
}

func (f *fakeAccounts) SetPassword(_ context.Context, user, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.users[user]; !ok {
		return fmt.Errorf("set %s: %w", user, auth.ErrNoSuchUser)
	}
	f.users[user] = pw
	return nil
}

func (f *fakeAccounts) Delete(_ context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.users[user]; !ok {
		return fmt.Errorf("delete %s: %w", user, auth.ErrNoSuchUser)
	}
	delete(f.users, user)
	return nil
}

func (f *fakeAccounts) Exists(_ context.Context, user string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return false, f.fail
	}
	_, ok := f.users[user]
	return ok, nil
}

func (f *fakeAccounts) List(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []string
	for u := range f.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
}

// fakeSessions records debug switches and lists canned sessions.
type fakeSessions struct {
	mu     sync.Mutex
	debug  map[string]time.Time
	live   map[string][]SessionInfo
	kicked []string
}

func (f *fakeSessions) SetDebug(jid string, until time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if until.IsZero() {
		delete(f.debug, jid)
	} else {
		f.debug[jid] = until
	}
	return nil
}

func (f *fakeSessions) List(bare string) []SessionInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[bare]
}

func (f *fakeSessions) Kick(target, reason string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for bare, list := range f.live {
		var keep []SessionInfo
		for _, si := range list {
			if si.JID == target || bare == target {
				n++
				continue
			}
			keep = append(keep, si)
		}
		f.live[bare] = keep
	}
	f.kicked = append(f.kicked, fmt.Sprintf("%s:%s", target, reason))
	return n, nil
}

// fakeRosters serves canned rosters; alice and sam are friends, alice
// asked tia, zed (no account) is on alice's roster, uma on no one's.
type fakeRosters struct {
	fail  error
	loads int
	items map[string][]Contact
}

func (f *fakeRosters) Contacts(_ context.Context, user string) ([]Contact, error) {
	f.loads++
	if f.fail != nil {
		return nil, f.fail
	}
	return f.items[user], nil
}

// fakeRouter records what it is asked to route.
type fakeRouter struct {
	mu     sync.Mutex
	routed []string
}

func (f *fakeRouter) Route(_ context.Context, st *stanza.Element) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routed = append(f.routed, st.String())
}

// fakeToggles lists canned toggles; Reload fails when fail is set.
type fakeToggles struct {
	list    []toggles.Info
	fail    error
	reloads int
}

func (f *fakeToggles) List() []toggles.Info { return f.list }
func (f *fakeToggles) Reload() error {
	f.reloads++
	return f.fail
}

type pingFunc func(context.Context) error

func (p pingFunc) Ping(ctx context.Context) error { return p(ctx) }

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv      *Server
	accounts *fakeAccounts
	sessions *fakeSessions
	rosters  *fakeRosters
	router   *fakeRouter
	toggles  *fakeToggles
	tokens   *Tokens
	secrets  []string // of the read token "store" and the admin token "ops"
	pingErr  error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		accounts: &fakeAccounts{users: map[string]string{"alice": "wonderland", "sam": "s", "tia": "t", "uma": "u"}},
		sessions: &fakeSessions{debug: map[string]time.Time{}, live: map[string][]SessionInfo{
			"alice@localhost": {
				{JID: "alice@localhost/phone", RemoteAddr: "127.0.0.1:40000", Since: testNow, Priority: 5, Secure: true, Available: true, Show: "dnd", Status: "in a match"},
				{JID: "alice@localhost/pc", RemoteAddr: "127.0.0.1:40001", Since: testNow, Secure: true},
			},
		}},
		rosters: &fakeRosters{items: map[string][]Contact{
			"alice@localhost": {
				{JID: "sam@localhost", Name: "Sam", Groups: []string{"Duo"}, Subscription: "both", Listed: true},
				{JID: "tia@localhost", Subscription: "none", PendingOut: true, Listed: true},
				{JID: "zed@localhost", Subscription: "none", Listed: true},
			},
			"sam@localhost": {{JID: "alice@localhost", Subscription: "both", Listed: true}},
			"tia@localhost": {{JID: "alice@localhost", Subscription: "none", PendingIn: true}},
		}},
		router:  &fakeRouter{},
		toggles: &fakeToggles{list: []toggles.Info{{Name: "roster_notes", Toggle: toggles.Toggle{Percent: 20, Users: []string{"alice@localhost"}}}}},
	}
	var err error
	if f.tokens, err = OpenTokens(t.TempDir(), testToken); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []struct {
		name  string
		scope Scope
	}{{"store", ScopeRead}, {"ops", ScopeAdmin}} {
		secret, _, err := f.tokens.Add(tk.name, tk.scope)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets = append(f.secrets, secret)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_admin_test_total", Help: "test"}))
	srv, err2 := New(Options{
		Domain:   "localhost",
		Token:    testToken,
		Tokens:   f.tokens,
		Accounts: f.accounts,
		Sessions: f.sessions,
		Rosters:  f.rosters,
		Router:   f.router,
		Toggles:  f.toggles,
		Ready:    pingFunc(func(context.Context) error { return f.pingErr }),
		Gatherer: reg,
		Now:      func() time.Time { return testNow },
	})
	if err2 != nil {
		t.Fatal(err2)
	}
	f.srv = srv
	return f
}

func (f *fixture) do(method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		noToken    bool
		token      string // overrides testToken
		body       string
		wantStatus int
		wantBody   string // substring of the response body
	}{
		{name: "health without token", method: "GET", path: "/health", noToken: true, wantStatus: 200, wantBody: `"domain": "localhost"`},
		{name: "ready without token", method: "GET", path: "/ready", noToken: true, wantStatus: 200, wantBody: "ready"},
		{name: "metrics without token", method: "GET", path: "/metrics", noToken: true, wantStatus: 200, wantBody: "xmppd_admin_test_total 0"},
		{name: "api without token", method: "GET", path: "/api/v1/users", noToken: true, wantStatus: 401, wantBody: "missing bearer token"},
		{name: "api with wrong token", method: "GET", path: "/api/v1/users", token: strings.Repeat("f", 64), wantStatus: 401, wantBody: "invalid token"},
		{name: "api with token prefix", method: "GET", path: "/api/v1/users", token: testToken[:32], wantStatus: 401, wantBody: "invalid token"},
		{name: "unknown api path needs token", method: "GET", path: "/api/v1/nothing", noToken: true, wantStatus: 401},
		{name: "unknown api path", method: "GET", path: "/api/v1/nothing", wantStatus: 404, wantBody: `"error": "no such endpoint: /api/v1/nothing"`},
		{name: "wrong method", method: "PATCH", path: "/api/v1/users", wantStatus: 405, wantBody: "use GET or POST"},

		{name: "list users", method: "GET", path: "/api/v1/users", wantStatus: 200, wantBody: `"alice@localhost"`},
		{name: "add user", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost","password":"builder"}`, wantStatus: 201, wantBody: `"jid": "bob@localhost"`},
		{name: "add user normalises", method: "POST", path: "/api/v1/users", body: `{"jid":"Bob@LocalHost","password":"builder"}`, wantStatus: 201, wantBody: `"jid": "bob@localhost"`},
		{name: "add existing user", method: "POST", path: "/api/v1/users", body: `{"jid":"alice@localhost","password":"x"}`, wantStatus: 409, wantBody: "user alice@localhost already exists"},
		{name: "add with bad json", method: "POST", path: "/api/v1/users", body: `{"jid":`, wantStatus: 400, wantBody: "bad JSON"},
		{name: "add with empty body", method: "POST", path: "/api/v1/users", wantStatus: 400, wantBody: "empty body"},
		{name: "add with unknown field", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost","password":"x","admin":true}`, wantStatus: 400, wantBody: `unknown field \"admin\"`},
		{name: "add with trailing data", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost","password":"x"} {}`, wantStatus: 400, wantBody: "trailing data"},
		{name: "add without jid", method: "POST", path: "/api/v1/users", body: `{"password":"x"}`, wantStatus: 400, wantBody: "jid: missing"},
		{name: "add with bad jid", method: "POST", path: "/api/v1/users", body: `{"jid":"a@b@c d","password":"x"}`, wantStatus: 400, wantBody: `jid \"a@b@c d\"`},
		{name: "add server jid", method: "POST", path: "/api/v1/users", body: `{"jid":"localhost","password":"x"}`, wantStatus: 400, wantBody: "must be user@localhost"},
		{name: "add full jid", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost/res","password":"x"}`, wantStatus: 400, wantBody: "must be a bare JID"},
		{name: "add other domain", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@example.net","password":"x"}`, wantStatus: 400, wantBody: "domain example.net is not served here"},
		{name: "add without password", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost"}`, wantStatus: 400, wantBody: "password: missing"},
		{name: "add with invalid password", method: "POST", path: "/api/v1/users", body: `{"jid":"bob@localhost","password":"a\u0007"}`, wantStatus: 400, wantBody: "control character"},

		{name: "set password", method: "PUT", path: "/api/v1/users/alice@localhost/password", body: `{"password":"new"}`, wantStatus: 200, wantBody: `"jid": "alice@localhost"`},
		{name: "set password escaped jid", method: "PUT", path: "/api/v1/users/alice%40localhost/password", body: `{"password":"new"}`, wantStatus: 200},
		{name: "set password unknown user", method: "PUT", path: "/api/v1/users/carol@localhost/password", body: `{"password":"new"}`, wantStatus: 404, wantBody: "no such user carol@localhost"},
		{name: "set password other domain", method: "PUT", path: "/api/v1/users/alice@example.net/password", body: `{"password":"new"}`, wantStatus: 400, wantBody: "not served here"},
		{name: "set empty password", method: "PUT", path: "/api/v1/users/alice@localhost/password", body: `{"password":""}`, wantStatus: 400, wantBody: "password: missing"},
		{name: "set password wrong method", method: "POST", path: "/api/v1/users/alice@localhost/password", body: `{"password":"x"}`, wantStatus: 405, wantBody: "use PUT"},

		{name: "delete user", method: "DELETE", path: "/api/v1/users/alice@localhost", wantStatus: 200},
		{name: "delete unknown user", method: "DELETE", path: "/api/v1/users/carol@localhost", wantStatus: 404, wantBody: "no such user"},
		{name: "delete bad jid", method: "DELETE", path: "/api/v1/users/@localhost", wantStatus: 400},

		{name: "list sessions", method: "GET", path: "/api/v1/sessions?user=alice@localhost", wantStatus: 200, wantBody: `"remote_addr": "127.0.0.1:40000"`},
		{name: "list sessions offline", method: "GET", path: "/api/v1/sessions?user=bob@localhost", wantStatus: 200, wantBody: `"sessions": []`},
		{name: "list sessions without user", method: "GET", path: "/api/v1/sessions", wantStatus: 400, wantBody: "user: missing"},
		{name: "list sessions full jid", method: "GET", path: "/api/v1/sessions?user=alice@localhost/phone", wantStatus: 400, wantBody: "bare JID"},

		{name: "debug on", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost"}`, wantStatus: 200, wantBody: `"until": "2025-03-01T12:15:00Z"`},
		{name: "debug on full jid for 1h", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost/phone","for":"1h"}`, wantStatus: 200, wantBody: `"until": "2025-03-01T13:00:00Z"`},
		{name: "debug on bad duration", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost","for":"soon"}`, wantStatus: 400, wantBody: `for: \"soon\"`},
		{name: "debug on too long", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost","for":"48h"}`, wantStatus: 400, wantBody: "between 1s and 24h"},
		{name: "debug on negative", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost","for":"-1m"}`, wantStatus: 400},
		{name: "debug on other domain", method: "PUT", path: "/api/v1/sessions/debug", body: `{"jid":"alice@example.net"}`, wantStatus: 400, wantBody: "not served here"},
		{name: "debug off by body", method: "DELETE", path: "/api/v1/sessions/debug", body: `{"jid":"alice@localhost"}`, wantStatus: 200, wantBody: `"debug": false`},
		{name: "debug off by query", method: "DELETE", path: "/api/v1/sessions/debug?jid=alice@localhost", wantStatus: 200},
		{name: "debug off without jid", method: "DELETE", path: "/api/v1/sessions/debug", wantStatus: 400, wantBody: "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := testToken
			if tt.token != "" {
				tok = tt.token
			}
			if tt.noToken {
				tok = ""
			}
			w := f.do(tt.method, tt.path, tok, tt.body)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if ct := w.Header().Get("Content-Type"); tt.path != "/metrics" && ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if w.Code >= 400 && tt.path != "/metrics" {
				var e ErrorResponse
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", w.Body)
				}
			}
		})
	}
}

func TestUserChangesReachAccounts(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/api/v1/users", testToken, `{"jid":"bob@localhost","password":"builder"}`)
	f.do("PUT", "/api/v1/users/alice@localhost/password", testToken, `{"password":"looking-glass"}`)
	if got := f.accounts.users["bob"]; got != "builder" {
		t.Errorf("bob's password = %q, want builder", got)
	}
	if got := f.accounts.users["alice"]; got != "looking-glass" {
		t.Errorf("alice's password = %q, want looking-glass", got)
	}
	f.do("DELETE", "/api/v1/users/alice@localhost", testToken, "")
	if _, ok := f.accounts.users["alice"]; ok {
		t.Error("alice still exists after DELETE")
	}
	w := f.do("GET", "/api/v1/users", testToken, "")
	var resp UsersResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if strings.Join(resp.Users, ",") != "bob@localhost,sam@localhost,tia@localhost,uma@localhost" {
		t.Errorf("users = %v, want bob, sam, tia, uma", resp.Users)
	}
}

func TestDebugSwitchReachesSessions(t *testing.T) {
	f := newFixture(t)
	f.do("PUT", "/api/v1/sessions/debug", testToken, `{"jid":"Alice@localhost/phone","for":"30m"}`)
	want := testNow.Add(30 * time.Minute)
	if got := f.sessions.debug["alice@localhost/phone"]; !got.Equal(want) {
		t.Errorf("debug until = %v, want %v", got, want)
	}
	f.do("DELETE", "/api/v1/sessions/debug?jid=alice@localhost/phone", testToken, "")
	if _, ok := f.sessions.debug["alice@localhost/phone"]; ok {
		t.Error("debug still on after DELETE")
	}
}

func TestStorageFailures(t *testing.T) {
	f := newFixture(t)
	f.pingErr = errors.New("disk on fire")
	if w := f.do("GET", "/ready", "", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("GET /ready with failing storage = %d %s, want 503 naming the error", w.Code, w.Body)
	}
	f.accounts.fail = errors.New("storage: unavailable")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/users", `{"jid":"bob@localhost","password":"x"}`},
		{"DELETE", "/api/v1/users/alice@localhost", ""},
	} {
		if w := f.do(r.method, r.path, testToken, r.body); w.Code != 500 || !strings.Contains(w.Body.String(), "storage: unavailable") {
			t.Errorf("%s %s with failing storage = %d %s, want 500 naming the error", r.method, r.path, w.Code, w.Body)
		}
	}
}

func TestNoSessions(t *testing.T) {
	srv, err := New(Options{Domain: "localhost", Token: testToken, Accounts: &fakeAccounts{users: map[string]string{}}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/sessions?user=alice@localhost", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != 503 {
		t.Errorf("sessions without a Sessions = %d, want 503", w.Code)
	}
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 404 {
		t.Errorf("/metrics without a Gatherer = %d, want 404", w.Code)
	}
}

func TestNewRefusesMissingOptions(t *testing.T) {
	acc := &fakeAccounts{}
	for _, o := range []Options{
		{Token: testToken, Accounts: acc},
		{Domain: "localhost", Token: "short", Accounts: acc},
		{Domain: "localhost", Token: testToken},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestClient(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	ctx := context.Background()
	c := &Client{BaseURL: ts.URL, Token: testToken}

	h, err := c.Health(ctx)
	if err != nil || h.Domain != "localhost" {
		t.Fatalf("Health() = %+v, %v", h, err)
	}
	if err := c.AddUser(ctx, "bob@localhost", "builder"); err != nil {
		t.Fatal(err)
	}
	var apiErr *APIError
	if err := c.AddUser(ctx, "bob@localhost", "x"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("AddUser(existing) = %v, want a 409 APIError", err)
	}
	if err := c.SetPassword(ctx, "bob@localhost", "new"); err != nil {
		t.Fatal(err)
	}
	users, err := c.ListUsers(ctx)
	if err != nil || strings.Join(users, ",") != "alice@localhost,bob@localhost,sam@localhost,tia@localhost,uma@localhost" {
		t.Errorf("ListUsers() = %v, %v", users, err)
	}
	if err := c.DeleteUser(ctx, "carol@localhost"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("DeleteUser(unknown) = %v, want a 404 APIError", err)
	}
	bad := &Client{BaseURL: ts.URL, Token: strings.Repeat("0", 64)}
	if _, err := bad.ListUsers(ctx); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("ListUsers with a wrong token = %v, want 401", err)
	}
}

func TestClientNonJSONError(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		io.WriteString(w, "bad gateway\n")
	}))
	defer ts.Close()
	c := &Client{BaseURL: ts.URL, Token: testToken}
	err := c.DeleteUser(context.Background(), "a@localhost")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Message != "bad gateway" {
		t.Errorf("DeleteUser = %v, want APIError with the body as message", err)
	}
}

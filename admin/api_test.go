package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOperationsEndpoints covers the endpoints for backends and operators
// beyond user management, with each scope.
func TestOperationsEndpoints(t *testing.T) {
	const (
		asBuiltin = iota
		asRead
		asAdmin
	)
	tests := []struct {
		name       string
		as         int
		method     string
		path       string
		body       string
		wantStatus int
		wantBody   []string // substrings of the response body
		notBody    []string // must not appear
	}{
		{name: "friends both ways", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/sam@localhost", wantStatus: 200,
			wantBody: []string{`"friends": true`, `"user_side": {`, `"subscription": "both"`, `"contact": "sam@localhost"`}},
		{name: "friendship normalises", as: asRead, method: "GET", path: "/api/v1/users/Alice@LOCALHOST/friends/sam%40localhost", wantStatus: 200,
			wantBody: []string{`"user": "alice@localhost"`, `"friends": true`}},
		{name: "pending is not friends", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/tia@localhost", wantStatus: 200,
			wantBody: []string{`"friends": false`, `"pending_out": true`, `"pending_in": true`}},
		{name: "strangers", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/uma@localhost", wantStatus: 200,
			wantBody: []string{`"friends": false`, `"listed": false`}},
		{name: "friendship unknown contact", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/zed@localhost", wantStatus: 404,
			wantBody: []string{"no such user zed@localhost"}},
		{name: "friendship unknown user", as: asRead, method: "GET", path: "/api/v1/users/nobody@localhost/friends/alice@localhost", wantStatus: 404},
		{name: "friendship with self", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/alice@localhost", wantStatus: 400,
			wantBody: []string{"both alice@localhost"}},
		{name: "friendship bad jid", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/a@b@c", wantStatus: 400},
		{name: "friendship other domain", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends/sam@example.net", wantStatus: 400,
			wantBody: []string{"not served here"}},

		{name: "batch", as: asRead, method: "POST", path: "/api/v1/friendships/check",
			body:       `{"pairs":[{"user":"alice@localhost","contact":"sam@localhost"},{"user":"sam@localhost","contact":"tia@localhost"},{"user":"alice@localhost","contact":"ghost@localhost"},{"user":"x@y@z","contact":"alice@localhost"}]}`,
			wantStatus: 200, wantBody: []string{`"friends": true`, `"friends": false`, `"error": "no such user ghost@localhost"`, `"status": 404`, `"status": 400`}},
		{name: "batch empty", as: asRead, method: "POST", path: "/api/v1/friendships/check", body: `{"pairs":[]}`, wantStatus: 400, wantBody: []string{"pairs: missing or empty"}},
		{name: "batch bad json", as: asRead, method: "POST", path: "/api/v1/friendships/check", body: `{"pairs":[{"user":1}]}`, wantStatus: 400, wantBody: []string{"bad JSON"}},
		{name: "batch too many", as: asRead, method: "POST", path: "/api/v1/friendships/check",
			body: `{"pairs":[` + strings.TrimSuffix(strings.Repeat(`{"user":"a@localhost","contact":"b@localhost"},`, MaxBatchPairs+1), ",") + `]}`, wantStatus: 400, wantBody: []string{"at most 1000"}},

		{name: "friends list", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/friends", wantStatus: 200,
			wantBody: []string{`"jid": "sam@localhost"`, `"groups": [`}, notBody: []string{"tia@localhost", "zed@localhost"}},
		{name: "friends list empty", as: asRead, method: "GET", path: "/api/v1/users/uma@localhost/friends", wantStatus: 200, wantBody: []string{`"contacts": []`}},
		{name: "friends unknown user", as: asRead, method: "GET", path: "/api/v1/users/ghost@localhost/friends", wantStatus: 404},
		{name: "roster", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/roster", wantStatus: 200,
			wantBody: []string{"sam@localhost", "tia@localhost", "zed@localhost"}, notBody: []string{"note"}},
		{name: "roster leaves out requests", as: asRead, method: "GET", path: "/api/v1/users/tia@localhost/roster", wantStatus: 200, wantBody: []string{`"contacts": []`}},

		{name: "presence", as: asRead, method: "GET", path: "/api/v1/users/alice@localhost/presence", wantStatus: 200,
			wantBody: []string{`"online": true`, `"available": true`, `"show": "dnd"`, `"status": "in a match"`, `"priority": 5`, "alice@localhost/pc"}},
		{name: "presence offline", as: asRead, method: "GET", path: "/api/v1/users/sam@localhost/presence", wantStatus: 200,
			wantBody: []string{`"online": false`, `"resources": []`}},
		{name: "presence unknown", as: asRead, method: "GET", path: "/api/v1/users/ghost@localhost/presence", wantStatus: 404},

		{name: "message from server", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost","body":"maintenance at 3"}`, wantStatus: 202,
			wantBody: []string{`"from": "localhost"`, `"type": "chat"`, `"id": "api-`}},
		{name: "headline as user", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost/phone","from":"sam@localhost","type":"headline","subject":"Match found"}`, wantStatus: 202,
			wantBody: []string{`"from": "sam@localhost"`, `"to": "alice@localhost/phone"`}},
		{name: "message needs admin", as: asRead, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost","body":"x"}`, wantStatus: 403,
			wantBody: []string{`token \"store\" has scope read`, "needs scope admin"}},
		{name: "message unknown recipient", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"ghost@localhost","body":"x"}`, wantStatus: 404},
		{name: "message unknown sender", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost","from":"ghost@localhost","body":"x"}`, wantStatus: 404},
		{name: "message without to", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"body":"x"}`, wantStatus: 400, wantBody: []string{"to: missing"}},
		{name: "message without body", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost"}`, wantStatus: 400, wantBody: []string{"body: missing"}},
		{name: "message bad type", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost","type":"groupchat","body":"x"}`, wantStatus: 400, wantBody: []string{"chat, normal or headline"}},
		{name: "message control char", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"alice@localhost","body":"a\u0001"}`, wantStatus: 400, wantBody: []string{"U+0001"}},
		{name: "message remote", as: asAdmin, method: "POST", path: "/api/v1/messages", body: `{"to":"a@example.net","body":"x"}`, wantStatus: 400, wantBody: []string{"not served here"}},

		{name: "sessions by path", as: asRead, method: "GET", path: "/api/v1/sessions/alice@localhost", wantStatus: 200, wantBody: []string{"alice@localhost/phone"}},
		{name: "kick one resource", as: asAdmin, method: "DELETE", path: "/api/v1/sessions/alice@localhost/phone?reason=cheating", wantStatus: 200,
			wantBody: []string{`"closed": 1`, `"reason": "cheating"`}},
		{name: "kick all with body", as: asAdmin, method: "DELETE", path: "/api/v1/sessions/alice@localhost", body: `{"reason":"account suspended"}`, wantStatus: 200,
			wantBody: []string{`"closed": 2`, `"reason": "account suspended"`}},
		{name: "kick default reason", as: asBuiltin, method: "DELETE", path: "/api/v1/sessions/alice@localhost", wantStatus: 200, wantBody: []string{DefaultKickReason}},
		{name: "kick offline", as: asAdmin, method: "DELETE", path: "/api/v1/sessions/sam@localhost", wantStatus: 404, wantBody: []string{"no session bound for sam@localhost"}},
		{name: "kick needs admin", as: asRead, method: "DELETE", path: "/api/v1/sessions/alice@localhost", wantStatus: 403},
		{name: "kick bad body", as: asAdmin, method: "DELETE", path: "/api/v1/sessions/alice@localhost", body: `{"why":1}`, wantStatus: 400},

		{name: "debug path", as: asAdmin, method: "PUT", path: "/api/v1/debug/alice@localhost?for=15m", wantStatus: 200, wantBody: []string{`"until": "2025-03-01T12:15:00Z"`}},
		{name: "debug path default", as: asAdmin, method: "PUT", path: "/api/v1/debug/alice@localhost/phone", wantStatus: 200, wantBody: []string{`"jid": "alice@localhost/phone"`}},
		{name: "debug path bad duration", as: asAdmin, method: "PUT", path: "/api/v1/debug/alice@localhost?for=forever", wantStatus: 400, wantBody: []string{`for: \"forever\"`}},
		{name: "debug path off", as: asAdmin, method: "DELETE", path: "/api/v1/debug/alice@localhost", wantStatus: 200, wantBody: []string{`"debug": false`}},
		{name: "debug needs admin", as: asRead, method: "PUT", path: "/api/v1/debug/alice@localhost", wantStatus: 403},

		{name: "tokens list", as: asAdmin, method: "GET", path: "/api/v1/tokens", wantStatus: 200,
			wantBody: []string{`"name": "admin-token"`, `"builtin": true`, `"name": "store"`, `"scope": "read"`}, notBody: []string{"sha256", testToken}},
		{name: "tokens list needs admin", as: asRead, method: "GET", path: "/api/v1/tokens", wantStatus: 403},
		{name: "token add", as: asAdmin, method: "POST", path: "/api/v1/tokens", body: `{"name":"leagues","scope":"read"}`, wantStatus: 201, wantBody: []string{`"token": "`, `"name": "leagues"`}},
		{name: "token add exists", as: asAdmin, method: "POST", path: "/api/v1/tokens", body: `{"name":"store","scope":"read"}`, wantStatus: 409},
		{name: "token add bad scope", as: asAdmin, method: "POST", path: "/api/v1/tokens", body: `{"name":"x","scope":"root"}`, wantStatus: 400, wantBody: []string{`scope: \"root\"`}},
		{name: "token add no scope", as: asAdmin, method: "POST", path: "/api/v1/tokens", body: `{"name":"x"}`, wantStatus: 400, wantBody: []string{"scope: missing"}},
		{name: "token add bad name", as: asAdmin, method: "POST", path: "/api/v1/tokens", body: `{"name":"Has Space","scope":"read"}`, wantStatus: 400, wantBody: []string{"name:"}},
		{name: "token revoke", as: asAdmin, method: "DELETE", path: "/api/v1/tokens/store", wantStatus: 200},
		{name: "token revoke unknown", as: asAdmin, method: "DELETE", path: "/api/v1/tokens/nope", wantStatus: 404},
		{name: "token revoke builtin", as: asAdmin, method: "DELETE", path: "/api/v1/tokens/admin-token", wantStatus: 400, wantBody: []string{"cannot be revoked"}},

		{name: "toggles list", as: asRead, method: "GET", path: "/api/v1/toggles", wantStatus: 200, wantBody: []string{`"name": "roster_notes"`, `"percent": 20`}},
		{name: "toggles reload", as: asAdmin, method: "POST", path: "/api/v1/toggles/reload", wantStatus: 200, wantBody: []string{"roster_notes"}},
		{name: "toggles reload needs admin", as: asRead, method: "POST", path: "/api/v1/toggles/reload", wantStatus: 403},

		{name: "read token reads users", as: asRead, method: "GET", path: "/api/v1/users", wantStatus: 200},
		{name: "read token cannot add users", as: asRead, method: "POST", path: "/api/v1/users", body: `{"jid":"x@localhost","password":"p"}`, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := []string{testToken, f.secrets[0], f.secrets[1]}[tt.as]
			w := f.do(tt.method, tt.path, tok, tt.body)
			body := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, body, tt.wantStatus)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("%s %s body %s lacks %q", tt.method, tt.path, body, want)
				}
			}
			for _, not := range tt.notBody {
				if strings.Contains(body, not) {
					t.Errorf("%s %s body %s contains %q", tt.method, tt.path, body, not)
				}
			}
			if w.Code >= 400 {
				var e ErrorResponse
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", body)
				}
			}
		})
	}
}

func TestBatchLoadsEachRosterOnce(t *testing.T) {
	f := newFixture(t)
	body := `{"pairs":[{"user":"alice@localhost","contact":"sam@localhost"},{"user":"alice@localhost","contact":"tia@localhost"},{"user":"sam@localhost","contact":"alice@localhost"}]}`
	if w := f.do("POST", "/api/v1/friendships/check", testToken, body); w.Code != 200 {
		t.Fatalf("batch = %d %s", w.Code, w.Body)
	}
	if f.rosters.loads != 3 {
		t.Errorf("roster loads = %d, want 3 (alice, sam, tia once each)", f.rosters.loads)
	}
	f.rosters.fail = errors.New("storage: unavailable")
	if w := f.do("POST", "/api/v1/friendships/check", testToken, body); w.Code != 500 || !strings.Contains(w.Body.String(), "storage: unavailable") {
		t.Errorf("batch with failing storage = %d %s, want 500", w.Code, w.Body)
	}
}

func TestMessageReachesRouter(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/api/v1/messages", testToken, `{"to":"Alice@localhost","type":"headline","subject":"Season 3","body":"rewards <ready> & waiting"}`)
	if len(f.router.routed) != 1 {
		t.Fatalf("routed %d stanzas, want 1", len(f.router.routed))
	}
	got := f.router.routed[0]
	for _, want := range []string{`to='alice@localhost'`, `from='localhost'`, `type='headline'`, "<subject>Season 3</subject>", "<body>rewards &lt;ready&gt; &amp; waiting</body>"} {
		if !strings.Contains(got, want) {
			t.Errorf("routed %s lacks %s", got, want)
		}
	}
}

func TestKickAndDebugReachSessions(t *testing.T) {
	f := newFixture(t)
	f.do("DELETE", "/api/v1/sessions/alice@localhost/pc", testToken, `{"reason":"afk farming"}`)
	if strings.Join(f.sessions.kicked, ",") != "alice@localhost/pc:afk farming" {
		t.Errorf("kicked = %v", f.sessions.kicked)
	}
	f.do("PUT", "/api/v1/debug/alice@localhost?for=2h", testToken, "")
	if got := f.sessions.debug["alice@localhost"]; !got.Equal(testNow.Add(2 * time.Hour)) {
		t.Errorf("debug until = %v", got)
	}
}

func TestToggleReloadFailureKeepsOld(t *testing.T) {
	f := newFixture(t)
	f.toggles.fail = errors.New("toggles.x.percent: 300 must be 0 to 100")
	w := f.do("POST", "/api/v1/toggles/reload", testToken, "")
	if w.Code != 422 || !strings.Contains(w.Body.String(), "previous toggles stay") || !strings.Contains(w.Body.String(), "300 must be") {
		t.Errorf("failed reload = %d %s", w.Code, w.Body)
	}
}

func TestRevokedTokenStopsWorking(t *testing.T) {
	f := newFixture(t)
	if w := f.do("GET", "/api/v1/users", f.secrets[0], ""); w.Code != 200 {
		t.Fatalf("store token before revoke = %d", w.Code)
	}
	f.do("DELETE", "/api/v1/tokens/store", f.secrets[1], "")
	if w := f.do("GET", "/api/v1/users", f.secrets[0], ""); w.Code != 401 {
		t.Errorf("store token after revoke = %d, want 401", w.Code)
	}
	if w := f.do("GET", "/api/v1/users", testToken, ""); w.Code != 200 {
		t.Errorf("built-in token = %d, want 200", w.Code)
	}
}

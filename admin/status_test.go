package admin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeStatus struct{ st Status }

func (f fakeStatus) Status() Status { return f.st }

type fakeReloader struct {
	parts []ReloadPart
	calls int
}

func (f *fakeReloader) Reload() []ReloadPart { f.calls++; return f.parts }

// statusFixture is the API fixture with a status source and a reloader.
func statusFixture(t *testing.T, rl *fakeReloader) *fixture {
	t.Helper()
	f := newFixture(t)
	opts := f.srv.opts
	opts.Status = fakeStatus{Status{Version: "1.2.3", Started: testNow.Add(-90 * time.Minute), Sessions: 7, Rooms: 2}}
	opts.Reload = rl
	var err error
	if f.srv, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStatusAndReloadEndpoints(t *testing.T) {
	allOK := []ReloadPart{{Part: "certificate", OK: true}, {Part: "tokens", OK: true}, {Part: "toggles", OK: true}, {Part: "note_keys", OK: true}}
	oneFailed := []ReloadPart{{Part: "certificate", OK: true}, {Part: "toggles", Error: "toggles.x.percent: 300 must be 0 to 100"}}
	tests := []struct {
		name       string
		as         int // 0 read token, 1 admin token
		method     string
		path       string
		parts      []ReloadPart
		pingErr    error
		wantStatus int
		wantBody   []string
		wantCalls  int
	}{
		{name: "status", method: "GET", path: "/api/v1/status", wantStatus: 200,
			wantBody: []string{`"domain": "localhost"`, `"version": "1.2.3"`, `"uptime_seconds": 5400`, `"sessions": 7`, `"rooms": 2`,
				`"started": "2025-03-01T10:30:00Z"`, `"ok": true`}},
		{name: "status with storage down", method: "GET", path: "/api/v1/status", pingErr: errors.New("disk on fire"), wantStatus: 200,
			wantBody: []string{`"ok": false`, `"error": "disk on fire"`, `"sessions": 7`}},
		{name: "status wrong method", method: "POST", path: "/api/v1/status", wantStatus: 405},
		{name: "reload", as: 1, method: "POST", path: "/api/v1/reload", parts: allOK, wantStatus: 200, wantCalls: 1,
			wantBody: []string{`"part": "certificate"`, `"part": "note_keys"`}},
		{name: "reload partly failed", as: 1, method: "POST", path: "/api/v1/reload", parts: oneFailed, wantStatus: 422, wantCalls: 1,
			wantBody: []string{"reload incomplete", "toggles: toggles.x.percent: 300", `"part": "certificate"`, `"ok": true`}},
		{name: "reload needs admin", method: "POST", path: "/api/v1/reload", parts: allOK, wantStatus: 403, wantBody: []string{"needs scope admin"}},
		{name: "reload wrong method", as: 1, method: "GET", path: "/api/v1/reload", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl := &fakeReloader{parts: tt.parts}
			f := statusFixture(t, rl)
			f.pingErr = tt.pingErr
			w := f.do(tt.method, tt.path, f.secrets[tt.as], "")
			body := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, body, tt.wantStatus)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("%s %s body %s lacks %q", tt.method, tt.path, body, want)
				}
			}
			if rl.calls != tt.wantCalls {
				t.Errorf("Reload called %d times, want %d", rl.calls, tt.wantCalls)
			}
		})
	}
}

func TestStatusAndReloadUnavailable(t *testing.T) {
	f := newFixture(t) // no Status, no Reload
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/status"}, {"POST", "/api/v1/reload"}} {
		if w := f.do(r.method, r.path, testToken, ""); w.Code != 503 {
			t.Errorf("%s %s without its part = %d %s, want 503", r.method, r.path, w.Code, w.Body)
		}
	}
}

func TestClientOperations(t *testing.T) {
	rl := &fakeReloader{parts: []ReloadPart{{Part: "tokens", OK: true}, {Part: "toggles", Error: "bad file"}}}
	f := statusFixture(t, rl)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	ctx := context.Background()
	c := &Client{BaseURL: ts.URL, Token: testToken}

	st, err := c.Status(ctx)
	if err != nil || st.Sessions != 7 || st.Rooms != 2 || st.UptimeSeconds != 5400 || !st.Storage.OK {
		t.Errorf("Status() = %+v, %v", st, err)
	}
	list, err := c.Sessions(ctx, "alice@localhost")
	if err != nil || len(list) != 2 || list[0].JID != "alice@localhost/phone" {
		t.Errorf("Sessions(alice) = %+v, %v", list, err)
	}
	if list, err := c.Sessions(ctx, "sam@localhost"); err != nil || len(list) != 0 {
		t.Errorf("Sessions(sam) = %+v, %v; want none", list, err)
	}
	k, err := c.Kick(ctx, "alice@localhost/pc", "spam & more")
	if err != nil || k.Closed != 1 || k.Reason != "spam & more" {
		t.Errorf("Kick(alice/pc) = %+v, %v", k, err)
	}
	if got := strings.Join(f.sessions.kicked, ","); got != "alice@localhost/pc:spam & more" {
		t.Errorf("kicked = %q", got)
	}
	var apiErr *APIError
	if _, err := c.Kick(ctx, "sam@localhost", ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("Kick(offline) = %v, want a 404 APIError", err)
	}
	resp, err := c.Reload(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "toggles: bad file") {
		t.Errorf("Reload() error = %v, want a 422 naming the toggles", err)
	}
	if len(resp.Parts) != 2 || !resp.Parts[0].OK || resp.Parts[1].Error != "bad file" {
		t.Errorf("Reload() parts = %+v, want both with their outcome", resp.Parts)
	}
	rl.parts = rl.parts[:1]
	if resp, err := c.Reload(ctx); err != nil || len(resp.Parts) != 1 || resp.Error != "" {
		t.Errorf("Reload() = %+v, %v", resp, err)
	}
}

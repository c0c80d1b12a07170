package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/notes"
)

// fakeNotes records the calls of the rekey endpoint.
type fakeNotes struct {
	mu        sync.Mutex
	reloads   int
	rekeys    int
	reloadErr error
	stats     notes.Stats
	rekeyErr  error
	current   string
	// block, if set, holds Rekey until it is closed; started is closed
	// when Rekey begins.
	block, started chan struct{}
}

func (n *fakeNotes) ReloadKeys() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reloads++
	return n.reloadErr
}

func (n *fakeNotes) CurrentKey() string { return n.current }

func (n *fakeNotes) Rekey(ctx context.Context) (notes.Stats, error) {
	n.mu.Lock()
	n.rekeys++
	n.mu.Unlock()
	if n.block != nil {
		close(n.started)
		<-n.block
	}
	return n.stats, n.rekeyErr
}

// notesServer is the fixture's server with Notes set to n.
func notesServer(t *testing.T, n Notes) (*fixture, *Server) {
	f := newFixture(t)
	opts := f.srv.opts
	opts.Notes = n
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, srv
}

func doOn(srv *Server, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

func TestRekeyNotesEndpoint(t *testing.T) {
	done := notes.Stats{Users: 3, Rekeyed: 7, Current: 2}
	tests := []struct {
		name        string
		notes       *fakeNotes // nil: no Notes configured
		token       int        // 0 built-in, 1 read, 2 admin
		method      string
		wantStatus  int
		wantBody    []string
		wantReloads int
		wantRekeys  int
	}{
		{name: "rekey", notes: &fakeNotes{current: "k2", stats: done}, method: "POST", wantStatus: 200,
			wantBody:    []string{`"current_key": "k2"`, `"users": 3`, `"rekeyed": 7`, `"current": 2`, `"failed": 0`, `"user_errors": 0`},
			wantReloads: 1, wantRekeys: 1},
		{name: "named admin token", notes: &fakeNotes{current: "k2", stats: done}, token: 2, method: "POST", wantStatus: 200,
			wantBody: []string{`"rekeyed": 7`}, wantReloads: 1, wantRekeys: 1},
		{name: "read token refused", notes: &fakeNotes{current: "k2"}, token: 1, method: "POST", wantStatus: 403,
			wantBody: []string{"needs scope admin"}},
		{name: "get not allowed", notes: &fakeNotes{current: "k2"}, method: "GET", wantStatus: 405, wantBody: []string{"use POST"}},
		{name: "no notes", method: "POST", wantStatus: 503, wantBody: []string{"roster notes are not available"}},
		{name: "reload fails", notes: &fakeNotes{current: "k1", reloadErr: errors.New(`notes: key file line 2: key is not hex or base64`)}, method: "POST",
			wantStatus: 422, wantBody: []string{"nothing was rekeyed", "previous keys stay", "line 2"}, wantReloads: 1},
		{name: "rekey partly fails", notes: &fakeNotes{current: "k2", stats: notes.Stats{Users: 2, Rekeyed: 4, UserErrors: 1},
			rekeyErr: errors.New("notes: rekey: 1 of 3 users failed, first: storage: unavailable")}, method: "POST",
			wantStatus: 500, wantBody: []string{`"users": 2`, `"rekeyed": 4`, `"user_errors": 1`, "rekey incomplete (current key k2: 2 users, 4 notes rekeyed", "storage: unavailable"},
			wantReloads: 1, wantRekeys: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n Notes
			if tt.notes != nil {
				n = tt.notes
			}
			f, srv := notesServer(t, n)
			tok := []string{testToken, f.secrets[0], f.secrets[1]}[tt.token]
			w := doOn(srv, tt.method, "/api/v1/notes/rekey", tok)
			body := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("%s = %d %s, want %d", tt.method, w.Code, body, tt.wantStatus)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("body %s lacks %q", body, want)
				}
			}
			if w.Code >= 400 {
				var e ErrorResponse
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", body)
				}
			}
			if tt.notes != nil && (tt.notes.reloads != tt.wantReloads || tt.notes.rekeys != tt.wantRekeys) {
				t.Errorf("reloads, rekeys = %d, %d; want %d, %d", tt.notes.reloads, tt.notes.rekeys, tt.wantReloads, tt.wantRekeys)
			}
		})
	}
}

func TestRekeyNotesOneAtATime(t *testing.T) {
	n := &fakeNotes{current: "k2", block: make(chan struct{}), started: make(chan struct{})}
	_, srv := notesServer(t, n)
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- doOn(srv, "POST", "/api/v1/notes/rekey", testToken) }()
	<-n.started
	if w := doOn(srv, "POST", "/api/v1/notes/rekey", testToken); w.Code != 409 || !strings.Contains(w.Body.String(), "already running") {
		t.Errorf("second rekey during the first = %d %s, want 409", w.Code, w.Body)
	}
	close(n.block)
	if w := <-first; w.Code != 200 {
		t.Errorf("first rekey = %d %s", w.Code, w.Body)
	}
	n.block = nil
	if w := doOn(srv, "POST", "/api/v1/notes/rekey", testToken); w.Code != 200 {
		t.Errorf("rekey after the first ended = %d %s", w.Code, w.Body)
	}
	if n.rekeys != 2 {
		t.Errorf("rekeys = %d, want 2", n.rekeys)
	}
}

func TestClientRekeyNotes(t *testing.T) {
	n := &fakeNotes{current: "2026-02", stats: notes.Stats{Users: 5, Rekeyed: 9, Current: 1, Failed: 1}}
	_, srv := notesServer(t, n)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &Client{BaseURL: ts.URL, Token: testToken, HTTP: ts.Client()}
	resp, err := c.RekeyNotes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := RekeyResponse{CurrentKey: "2026-02", Stats: n.stats}
	if resp != want {
		t.Errorf("RekeyNotes = %+v, want %+v", resp, want)
	}
	if got := resp.String(); got != "current key 2026-02: 5 users, 9 notes rekeyed, 1 already current, 1 failed verification, 0 user errors" {
		t.Errorf("String() = %q", got)
	}

	n.rekeyErr = errors.New("storage: unavailable")
	_, err = c.RekeyNotes(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusInternalServerError || !strings.Contains(apiErr.Message, "5 users, 9 notes rekeyed") {
		t.Errorf("failing rekey: err = %v, want a 500 APIError with the counts", err)
	}
}

// TestRekeyOutlastsListenerTimeouts runs a rekey longer than the
// listener's read and write timeouts: the endpoint lifts them, so the
// client still gets the answer.
func TestRekeyOutlastsListenerTimeouts(t *testing.T) {
	n := &fakeNotes{current: "k2", stats: notes.Stats{Users: 1, Rekeyed: 1}, block: make(chan struct{}), started: make(chan struct{})}
	_, srv := notesServer(t, n)
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ReadTimeout = 50 * time.Millisecond
	ts.Config.WriteTimeout = 50 * time.Millisecond
	ts.Start()
	defer ts.Close()
	go func() {
		<-n.started
		time.Sleep(300 * time.Millisecond) // six times the timeouts
		close(n.block)
	}()
	c := &Client{BaseURL: ts.URL, Token: testToken, HTTP: ts.Client()}
	resp, err := c.RekeyNotes(context.Background())
	if err != nil || resp.Rekeyed != 1 {
		t.Fatalf("rekey longer than the listener timeouts = %+v, %v", resp, err)
	}
}

package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/xmppd/xmppd/notes"
)

// Notes is the roster-note key management behind POST
// /api/v1/notes/rekey; cmd/xmppd implements it over the keyring and the
// roster service.
type Notes interface {
	// ReloadKeys re-reads the note keys; on error the old keys stay.
	ReloadKeys() error
	// CurrentKey is the id of the key new notes are sealed under.
	CurrentKey() string
	// Rekey re-seals every note not under the current key (notes.Rekey).
	// On error the stats count what was done before it.
	Rekey(ctx context.Context) (notes.Stats, error)
}

// RekeyResponse is the body of POST /api/v1/notes/rekey: the key the
// notes are now under and what the rekey did. Error is set, with status
// 500, when some users' notes could not be rewritten; the counts then say
// how far it got.
type RekeyResponse struct {
	CurrentKey string `json:"current_key"`
	notes.Stats
	Error string `json:"error,omitempty"`
}

// rekeyNotes reloads the note keys, so that the key file as it is now
// decides the current key, and rekeys every note under it. It can run for
// a long time on a large store: the listener's read and write timeouts are
// lifted for this request, and a client that goes away stops it (running
// it again picks up where it stopped). One rekey runs at a time.
func (s *Server) rekeyNotes(w http.ResponseWriter, r *http.Request) {
	if s.opts.Notes == nil {
		writeError(w, http.StatusServiceUnavailable, "roster notes are not available on this server")
		return
	}
	if !s.rekeying.TryLock() {
		writeError(w, http.StatusConflict, "a notes rekey is already running")
		return
	}
	defer s.rekeying.Unlock()
	if err := s.opts.Notes.ReloadKeys(); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "reloading the note keys failed, nothing was rekeyed and the previous keys stay in force: "+err.Error())
		return
	}
	// Not every ResponseWriter supports deadlines (tests); then the
	// listener's own timeouts apply.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	st, err := s.opts.Notes.Rekey(r.Context())
	resp := RekeyResponse{CurrentKey: s.opts.Notes.CurrentKey(), Stats: st}
	s.audit(r, "notes rekeyed", "current_key", resp.CurrentKey, "users", st.Users, "rekeyed", st.Rekeyed,
		"already_current", st.Current, "failed_verification", st.Failed, "user_errors", st.UserErrors)
	if err != nil {
		resp.Error = fmt.Sprintf("rekey incomplete (%s): %v", resp, err)
		writeJSON(w, http.StatusInternalServerError, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// String says what the rekey did in one line (xmppd notes rekey prints
// it), leaving out Error.
func (r RekeyResponse) String() string {
	return fmt.Sprintf("current key %s: %d users, %d notes rekeyed, %d already current, %d failed verification, %d user errors",
		r.CurrentKey, r.Users, r.Rekeyed, r.Current, r.Failed, r.UserErrors)
}

// RekeyNotes calls POST /api/v1/notes/rekey. The call lasts as long as
// the rekey: give it a client without a short timeout.
func (c *Client) RekeyNotes(ctx context.Context) (RekeyResponse, error) {
	var resp RekeyResponse
	err := c.do(ctx, "POST", "/api/v1/notes/rekey", nil, &resp)
	return resp, err
}

package notes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// A RekeySource gives Rekey every stored note. The roster package
// implements it over its CRDT documents.
type RekeySource interface {
	// Users lists every user whose roster may hold notes.
	Users(ctx context.Context) ([]string, error)

	// RewriteNotes runs one read-merge-write update of user's roster
	// document: it calls f once for each item that has a note (owner is
	// user, contact the item's bare JID, sealed the stored bytes), and
	// writes every non-nil replacement f returns as a new value of that
	// item's note, in a single CRDT update that leaves every other field
	// and item alone. A nil replacement leaves the note as it is. If f
	// returns an error, nothing is written and RewriteNotes returns that
	// error. It returns the number of notes it replaced; with no
	// replacement it need not write at all.
	RewriteNotes(ctx context.Context, user string, f func(owner, contact string, sealed []byte) ([]byte, error)) (int, error)
}

// Stats reports what a Rekey did. Its JSON form is what the admin API
// returns for a rekey.
type Stats struct {
	Users      int `json:"users"`       // users whose roster was rewritten (or needed nothing)
	Rekeyed    int `json:"rekeyed"`     // notes re-sealed under the current key
	Current    int `json:"current"`     // notes already under the current key
	Failed     int `json:"failed"`      // notes that did not verify, left untouched
	UserErrors int `json:"user_errors"` // users whose rewrite failed, e.g. a storage error
}

// Rekey re-seals every note that is not under k's current key, one user's
// roster document at a time, while the server keeps running. Each user's
// notes are rewritten through src's ordinary CRDT update, so a concurrent
// change to the same roster (another item, a name, a subscription, another
// note) is merged, not lost. The one overlap it cannot order better is the
// owner setting the very note being rekeyed between the rekey's read and
// its write (milliseconds): the two writes are then concurrent and the
// document's last-writer-wins rule keeps the later-stamped one, as for two
// resources setting one note at once.
//
// Every note is verified, current or not: a note that fails (tampered,
// moved, unknown key, malformed) is logged at error level, counted in
// Stats.Failed and in the keyring's metrics, and left as it is — a key
// added back later may still open it. A user whose rewrite fails is
// logged and counted in Stats.UserErrors and the run goes on; Rekey then
// returns an error after the last user. It stops at once, with the
// counts so far, when ctx is done. Running Rekey again is harmless: notes
// already current are only verified.
func Rekey(ctx context.Context, src RekeySource, k *Keyring, log *slog.Logger) (Stats, error) {
	var st Stats
	users, err := src.Users(ctx)
	if err != nil {
		return st, fmt.Errorf("notes: rekey: list users: %w", err)
	}
	current := k.CurrentID()
	log.Info("rekeying roster notes", "users", len(users), "current_key", current)
	var firstErr error
	for _, user := range users {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("notes: rekey: stopped after %d of %d users: %w", st.Users+st.UserErrors, len(users), err)
		}
		var u Stats
		n, err := src.RewriteNotes(ctx, user, func(owner, contact string, sealed []byte) ([]byte, error) {
			plain, err := k.Open(owner, contact, sealed)
			if err != nil {
				u.Failed++
				log.Error("stored note failed verification; left as it is", "jid", owner, "contact", contact, "err", err)
				return nil, nil
			}
			defer clear(plain)
			if !k.NeedsRekey(sealed) {
				u.Current++
				return nil, nil
			}
			return k.Seal(owner, contact, plain)
		})
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return st, fmt.Errorf("notes: rekey: stopped after %d of %d users: %w", st.Users+st.UserErrors, len(users), err)
			}
			st.UserErrors++
			if firstErr == nil {
				firstErr = err
			}
			log.Error("rekeying a user's notes failed; nothing of theirs was changed", "jid", user, "err", err)
			continue
		}
		st.Users++
		st.Rekeyed += n
		st.Current += u.Current
		st.Failed += u.Failed
		k.metrics.rekeyed(n)
	}
	log.Info("rekeyed roster notes", "current_key", current, "users", st.Users, "rekeyed", st.Rekeyed,
		"already_current", st.Current, "failed_verification", st.Failed, "user_errors", st.UserErrors)
	if firstErr != nil {
		return st, fmt.Errorf("notes: rekey: %d of %d users failed, first: %w", st.UserErrors, len(users), firstErr)
	}
	return st, nil
}

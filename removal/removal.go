// Package removal deletes an account together with everything the server
// keeps for it, so that a new account of the same name starts empty: no
// roster, privacy lists, offline messages, archive, vCard or last
// activity of its predecessor (XEP-0077 §3.2: the server "SHOULD remove
// all data associated with the account").
//
// A Remover is built once by cmd/xmppd from the feature packages: each
// contributes a Step that forgets one kind of data for a bare JID. The
// same Remover serves every way an account is deleted — the admin API,
// xmppd user del on the store directly, and in-band <remove/> (which runs
// Purge once its sessions are gone).
//
// Delete first removes the credentials, so nobody can log in while the
// rest goes; then it closes the account's live sessions and waits for
// them to finish, so that what their close hooks store (last activity,
// say) cannot outlive the purge; then it runs every step, even after one
// fails, and reports all failures together. Running it again after a
// partial failure is safe: steps treat missing data as done, and Purge
// runs without credentials.
package removal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Credentials deletes the login of an account by its username (the JID
// localpart); *auth.Accounts implements it. Delete wraps
// auth.ErrNoSuchUser for an unknown account.
type Credentials interface {
	Delete(ctx context.Context, username string) error
}

// A Step forgets one kind of data of the account bare (a normalised bare
// JID). Remove must treat data that is already gone as success.
type Step struct {
	Name   string
	Remove func(ctx context.Context, bare string) error
}

// Options are the parts of a Remover. Credentials and Domain are required.
type Options struct {
	Credentials Credentials
	// Domain is the served domain; usernames become bare JIDs with it.
	Domain string
	// CloseSessions ends the account's live sessions and returns once
	// they have finished closing (or ctx ended). Nil when no server runs.
	CloseSessions func(ctx context.Context, bare string) error
	// Steps run in order after the sessions are closed.
	Steps []Step
	Log   *slog.Logger
}

// A Remover deletes accounts completely. It is safe for concurrent use.
type Remover struct{ opts Options }

// New returns a Remover.
func New(opts Options) (*Remover, error) {
	if opts.Credentials == nil || opts.Domain == "" {
		return nil, errors.New("removal: Options need Credentials and Domain")
	}
	for _, st := range opts.Steps {
		if st.Name == "" || st.Remove == nil {
			return nil, errors.New("removal: a step needs a Name and Remove")
		}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Remover{opts: opts}, nil
}

// Delete removes the account username (a JID localpart) and all its data.
// An unknown account returns the Credentials' error (wrapping
// auth.ErrNoSuchUser) and touches nothing else.
func (r *Remover) Delete(ctx context.Context, username string) error {
	if err := r.opts.Credentials.Delete(ctx, username); err != nil {
		return err
	}
	bare := username + "@" + r.opts.Domain
	var errs []error
	if r.opts.CloseSessions != nil {
		if err := r.opts.CloseSessions(ctx, bare); err != nil {
			errs = append(errs, fmt.Errorf("close sessions: %w", err))
		}
	}
	if err := r.Purge(ctx, bare); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("account %s deleted, but not all of its data: %w", bare, err)
	}
	return nil
}

// Purge runs every step for bare, whose credentials are already gone, and
// returns the failures joined, each named after its step.
func (r *Remover) Purge(ctx context.Context, bare string) error {
	var errs []error
	for _, st := range r.opts.Steps {
		if err := st.Remove(ctx, bare); err != nil {
			r.opts.Log.Error("removing account data failed", "jid", bare, "data", st.Name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", st.Name, err))
		}
	}
	if len(errs) == 0 {
		r.opts.Log.Info("account data removed", "jid", bare, "steps", len(r.opts.Steps))
	}
	return errors.Join(errs...)
}

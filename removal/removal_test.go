package removal

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

var errNoSuchUser = errors.New("no such user")

// fakeCredentials records deletions and knows the accounts in users.
type fakeCredentials struct {
	users map[string]bool
	log   *[]string
}

func (f fakeCredentials) Delete(_ context.Context, username string) error {
	if !f.users[username] {
		return errNoSuchUser
	}
	delete(f.users, username)
	*f.log = append(*f.log, "credentials "+username)
	return nil
}

func TestDelete(t *testing.T) {
	fail := errors.New("disk on fire")
	for _, tc := range []struct {
		name     string
		user     string
		failStep string // step that fails
		wantErr  error
		wantLog  []string
	}{
		{
			name: "everything in order",
			user: "alice",
			wantLog: []string{"credentials alice", "close alice@example.net",
				"roster alice@example.net", "offline alice@example.net", "vcard alice@example.net"},
		},
		{
			name:    "unknown account touches nothing",
			user:    "nobody",
			wantErr: errNoSuchUser,
		},
		{
			name:     "a failing step does not stop the others",
			user:     "alice",
			failStep: "offline",
			wantErr:  fail,
			wantLog: []string{"credentials alice", "close alice@example.net",
				"roster alice@example.net", "vcard alice@example.net"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			step := func(name string) Step {
				return Step{Name: name, Remove: func(_ context.Context, bare string) error {
					if name == tc.failStep {
						return fail
					}
					log = append(log, name+" "+bare)
					return nil
				}}
			}
			r, err := New(Options{
				Credentials: fakeCredentials{users: map[string]bool{"alice": true}, log: &log},
				Domain:      "example.net",
				CloseSessions: func(_ context.Context, bare string) error {
					log = append(log, "close "+bare)
					return nil
				},
				Steps: []Step{step("roster"), step("offline"), step("vcard")},
			})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Delete(context.Background(), tc.user)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Delete: %v, want %v", err, tc.wantErr)
			}
			if tc.failStep != "" && !strings.Contains(err.Error(), tc.failStep+": ") {
				t.Errorf("error %q does not name the failed step %s", err, tc.failStep)
			}
			if !slices.Equal(log, tc.wantLog) {
				t.Errorf("ran %q, want %q", log, tc.wantLog)
			}
		})
	}
}

func TestNewChecksOptions(t *testing.T) {
	var log []string
	creds := fakeCredentials{log: &log}
	for _, opts := range []Options{
		{Domain: "example.net"},
		{Credentials: creds},
		{Credentials: creds, Domain: "example.net", Steps: []Step{{Name: "x"}}},
		{Credentials: creds, Domain: "example.net", Steps: []Step{{Remove: func(context.Context, string) error { return nil }}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}

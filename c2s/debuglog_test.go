package c2s

import (
	"testing"
	"time"
)

func TestDebugUntil(t *testing.T) {
	srv := newTestServer(t, Config{}, nil)
	soon, later := time.Now().Add(time.Hour).Truncate(time.Second), time.Now().Add(2*time.Hour).Truncate(time.Second)
	if err := srv.SetDebug("alice@localhost", soon); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDebug("bob@localhost/phone", later); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDebug("carol@localhost", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   time.Time
	}{
		{"alice@localhost", soon},
		{"alice@localhost/any", soon},  // the account's switch covers it
		{"bob@localhost", later},       // a resource's switch: the account is watched
		{"bob@localhost/phone", later}, //
		{"bob@localhost/laptop", time.Time{}},
		{"bobby@localhost", time.Time{}}, // not a prefix match on the localpart
		{"carol@localhost", time.Time{}}, // expired
		{"dave@localhost", time.Time{}},  // never on
		{"@bad", time.Time{}},
	} {
		if got := srv.DebugUntil(tc.target); !got.Equal(tc.want) {
			t.Errorf("DebugUntil(%q) = %v, want %v", tc.target, got, tc.want)
		}
	}
	srv.SetDebug("alice@localhost", time.Time{})
	if got := srv.DebugUntil("alice@localhost"); !got.IsZero() {
		t.Errorf("after switching off: %v", got)
	}
}

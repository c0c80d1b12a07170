package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Offline messages (XEP-0160), driven with slixmpp.

func offlineUsers() map[string]string {
	return map[string]string{"alice": "alice-pw", "bob": "bob-pw"}
}

func TestSlixmppOfflineStore(t *testing.T) {
	s := startServer(t, serverOptions{users: offlineUsers()})
	s.runSlixmpp("offline_store.py")
}

func TestSlixmppOfflineQuota(t *testing.T) {
	s := startServer(t, serverOptions{users: offlineUsers(), config: "[offline]\nmax_messages = 2\n"})
	s.runSlixmpp("offline_quota.py")
}

func TestSlixmppOfflineNegativePriority(t *testing.T) {
	s := startServer(t, serverOptions{users: offlineUsers()})
	s.runSlixmpp("offline_priority.py")
}

func TestSlixmppOfflineTwoResourcesAtOnce(t *testing.T) {
	s := startServer(t, serverOptions{users: offlineUsers()})
	s.runSlixmpp("offline_race.py")
}

func TestSlixmppOfflineSurvivesRestart(t *testing.T) {
	s := startServer(t, serverOptions{users: offlineUsers()})
	s.runSlixmpp("offline_restart.py", "store")
	s.restart()
	s.runSlixmpp("offline_restart.py", "fetch")
}

// TestSlixmppOfflineCrashDuringDelivery kills the server (SIGKILL) while
// it delivers a full queue and checks, after a restart, that every message
// reached bob in one login or the other.
func TestSlixmppOfflineCrashDuringDelivery(t *testing.T) {
	const n = "1000"
	// alice stores the 1000 messages as fast as she can: the per-session
	// rate limit, which would rightly refuse such a flood, is off here.
	s := startServer(t, serverOptions{users: offlineUsers(), config: "[c2s]\nstanzas_per_second = -1\nbytes_per_second = -1\n"})
	s.runSlixmpp("offline_crash.py", "store", n)
	received := filepath.Join(t.TempDir(), "received")
	if err := os.WriteFile(received, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runSlixmpp("offline_crash.py", "burst", received)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(received)
		if strings.Count(string(b), "\n") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob received nothing within 30s")
		}
		time.Sleep(time.Millisecond)
	}
	s.crash()
	<-done
	s.runSlixmpp("offline_crash.py", "fetch", received, n)
}

package notes

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestEnsureKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path, err := EnsureKeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, GeneratedKeyFile); path != want {
		t.Errorf("EnsureKeyFile = %q, want %q", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v, want 0600", perm)
	}
	first, _ := os.ReadFile(path)
	if again, err := EnsureKeyFile(dir); err != nil || again != path {
		t.Fatalf("second EnsureKeyFile = %q, %v", again, err)
	}
	if second, _ := os.ReadFile(path); !bytes.Equal(first, second) {
		t.Error("second EnsureKeyFile changed the file")
	}
	k := load(t, Config{KeyFile: path})
	if id := k.CurrentID(); !strings.HasPrefix(id, "auto-") || len(id) != len("auto-")+8 {
		t.Errorf("generated key id = %q, want auto-<8 hex digits>", id)
	}
	if bits := k.set.Load().current.bits; bits != 256 {
		t.Errorf("generated key has %d bits, want 256", bits)
	}
	// Another data directory gets another key.
	other, err := EnsureKeyFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if k2 := load(t, Config{KeyFile: other}); k2.CurrentID() == k.CurrentID() {
		t.Error("two generated key files share a key id")
	}
}

func TestEnsureKeyFileRace(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	contents := make([][]byte, 4)
	for i := range contents {
		wg.Go(func() {
			path, err := EnsureKeyFile(dir)
			if err != nil {
				t.Error(err)
				return
			}
			contents[i], _ = os.ReadFile(path)
		})
	}
	wg.Wait()
	for i := range contents {
		if !bytes.Equal(contents[i], contents[0]) {
			t.Fatalf("concurrent EnsureKeyFile calls saw different keys")
		}
	}
}

func TestSetup(t *testing.T) {
	t.Setenv(DefaultKeyEnv, "")
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// Fresh machine: a key file is generated and the log says so.
	k, err := Setup(Config{}, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "generated a key file") || !strings.Contains(logs.String(), GeneratedKeyFile) {
		t.Errorf("first start did not log the generated key file:\n%s", logs.String())
	}
	sealed, _ := k.Seal(owner, contact, []byte("kept across restarts"))

	// Restart: the same key.
	logs.Reset()
	k, err = Setup(Config{}, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(owner, contact, sealed); err != nil || string(got) != "kept across restarts" {
		t.Errorf("Open after restart = %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "using the generated key file") {
		t.Errorf("restart log:\n%s", logs.String())
	}

	// Keys configured elsewhere while the generated file exists: a warning.
	logs.Reset()
	keys := writeKeys(t, line("k1", key128))
	os.Chmod(keys, 0o644)
	if _, err := Setup(Config{KeyFile: keys}, dir, log); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"generated note key file exists", "readable by other users"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	// Keys from the environment: nothing generated.
	t.Setenv(DefaultKeyEnv, line("e1", key256))
	fresh := t.TempDir()
	k, err = Setup(Config{}, fresh, log)
	if err != nil {
		t.Fatal(err)
	}
	if k.CurrentID() != "e1" {
		t.Errorf("CurrentID = %q, want e1", k.CurrentID())
	}
	if _, err := os.Stat(filepath.Join(fresh, GeneratedKeyFile)); !os.IsNotExist(err) {
		t.Errorf("a key file was generated although keys were configured: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "zero", cfg: Config{}},
		{name: "all set", cfg: Config{KeyFile: "/etc/xmppd/notes-keys", KeyEnv: "NOTES_KEYS", Current: "2026-02"}},
		{name: "env with dash", cfg: Config{KeyEnv: "NOTES-KEYS"}, wantErr: true},
		{name: "current with space", cfg: Config{Current: "k 1"}, wantErr: true},
		{name: "current too long", cfg: Config{Current: strings.Repeat("k", maxKeyID+1)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

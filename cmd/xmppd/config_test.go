package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/notes"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "xmppd.toml")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDefaults(t *testing.T) {
	cfg, err := loadConfig(overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.C2S.Domain = "localhost"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("loadConfig without file =\n%+v\nwant\n%+v", cfg, want)
	}
	if cfg.Listen.C2S != ":5222" || cfg.Listen.TLS != ":5223" || cfg.Listen.HTTP != "127.0.0.1:5280" || cfg.DataDir != "xmppd-data" {
		t.Errorf("defaults = %+v %q, want :5222 :5223 127.0.0.1:5280 xmppd-data", cfg.Listen, cfg.DataDir)
	}
}

func TestFileSetsValues(t *testing.T) {
	name := writeConfig(t, `
domain = "Example.COM"
data_dir = "/var/lib/xmppd"
shutdown_timeout = "30s"

[listen]
c2s = "0.0.0.0:5222"
tls = ""
http = "127.0.0.1:9999"

[log]
level = "debug"

[c2s]
max_depth = 32
auth_timeout = "10s"
allow_registration = true

[auth]
scram_iterations = 10000

[storage]
backend = "riak"
[storage.riak]
nodes = ["10.0.0.1:8087", "10.0.0.2:8087"]

[notes]
key_file = "/etc/xmppd/notes-keys"
key_env = "GAME_NOTE_KEYS"
current_key = "2026-02"
`)
	cfg, err := loadConfig(overrides{configFile: name})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"domain (prepared)", cfg.Domain, "example.com"},
		{"c2s domain follows", cfg.C2S.Domain, "example.com"},
		{"data_dir", cfg.DataDir, "/var/lib/xmppd"},
		{"shutdown_timeout", cfg.ShutdownTimeout, c2s.Duration(30 * time.Second)},
		{"listen.c2s", cfg.Listen.C2S, "0.0.0.0:5222"},
		{"listen.tls", cfg.Listen.TLS, ""},
		{"listen.http", cfg.Listen.HTTP, "127.0.0.1:9999"},
		{"log.level", cfg.Log.Level, "debug"},
		{"c2s.max_depth", cfg.C2S.MaxDepth, 32},
		{"c2s.auth_timeout", cfg.C2S.AuthTimeout, c2s.Duration(10 * time.Second)},
		{"c2s.allow_registration", cfg.C2S.AllowRegistration, true},
		{"c2s.queue_length (default)", cfg.C2S.QueueLength, 0},
		{"auth.scram_iterations", cfg.Auth.Iterations, 10000},
		{"storage.backend", cfg.Storage.Backend, "riak"},
		{"storage.riak.nodes", strings.Join(cfg.Storage.Riak.Nodes, ","), "10.0.0.1:8087,10.0.0.2:8087"},
		{"notes", cfg.Notes, notes.Config{KeyFile: "/etc/xmppd/notes-keys", KeyEnv: "GAME_NOTE_KEYS", Current: "2026-02"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // substring of the error
	}{
		{name: "unknown top-level key", text: `domian = "x"`, want: "unknown key domian"},
		{name: "unknown section key", text: "[c2s]\nmax_deph = 3", want: "unknown key c2s.max_deph"},
		{name: "unknown section", text: "[muc]\nenabled = true", want: "unknown key muc"},
		{name: "several unknown keys", text: "a = 1\n[log]\nlevl = \"x\"", want: "unknown key a, log.levl"},
		{name: "wrong type", text: "[c2s]\nmax_depth = \"deep\"", want: "c2s.max_depth"},
		{name: "bad duration", text: "[c2s]\nauth_timeout = \"soon\"", want: "c2s.auth_timeout"},
		{name: "syntax error", text: "domain = ", want: "line 1"},
		{name: "c2s validation", text: "[c2s]\nmax_depth = 5000", want: "c2s.max_depth: must be"},
		{name: "c2s stanza size", text: "[c2s]\nmax_stanza_bytes = 100", want: "c2s.max_stanza_bytes: must be at least 10000"},
		{name: "c2s domain", text: "[c2s]\ndomain = \"x.example\"", want: "c2s.domain: not a setting; set the top-level domain"},
		{name: "auth validation", text: "[auth]\nscram_iterations = 10", want: "auth.scram_iterations: must be between"},
		{name: "empty domain", text: `domain = ""`, want: "domain: must not be empty"},
		{name: "bad domain", text: `domain = "a b"`, want: "domain: \"a b\" is not a valid XMPP domain"},
		{name: "ip domain", text: `domain = "[::1]"`, want: "domain: \"[::1]\" must be a host name"},
		{name: "empty data dir", text: `data_dir = ""`, want: "data_dir: must not be empty"},
		{name: "zero shutdown", text: `shutdown_timeout = "0s"`, want: "shutdown_timeout: must be positive"},
		{name: "bad listen address", text: "[listen]\nc2s = \"5222\"", want: "listen.c2s: \"5222\" is not host:port"},
		{name: "bad port", text: "[listen]\nhttp = \"localhost:http-ish\"", want: "listen.http: \"localhost:http-ish\": port must be a number"},
		{name: "no client listener", text: "[listen]\nc2s = \"\"\ntls = \"\"", want: "listen.c2s: listen.c2s and listen.tls must not both be empty"},
		{name: "log level", text: "[log]\nlevel = \"loud\"", want: "log.level: \"loud\" must be one of debug, info, warn, error"},
		{name: "tls half", text: "[tls]\ncert_file = \"/etc/cert.pem\"", want: "tls.key_file: must be set"},
		{name: "backend", text: "[storage]\nbackend = \"mysql\"", want: "storage.backend: \"mysql\" must be \"embedded\" or \"riak\""},
		{name: "riak without nodes", text: "[storage]\nbackend = \"riak\"", want: "storage.riak.nodes: at least one"},
		{name: "riak bad node", text: "[storage]\nbackend = \"riak\"\n[storage.riak]\nnodes = [\"riak1\"]", want: "storage.riak.nodes: \"riak1\""},
		{name: "embedded negative", text: "[storage.embedded]\ncache_bytes = -1", want: "storage.embedded.cache_bytes: must not be negative"},
		{name: "embedded small values", text: "[storage.embedded]\nmax_value_bytes = 1000", want: "storage.embedded.max_value_bytes: must be at least"},
		{name: "notes key env", text: "[notes]\nkey_env = \"NOT A VAR\"", want: "notes.key_env: \"NOT A VAR\" is not an environment variable name"},
		{name: "notes current key", text: "[notes]\ncurrent_key = \"a b\"", want: "notes.current_key: \"a b\" is not a key id"},
		{name: "notes unknown key", text: "[notes]\nkeyfile = \"/etc/keys\"", want: "unknown key notes.keyfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := writeConfig(t, tt.text)
			_, err := loadConfig(overrides{configFile: name})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadConfig(%q) = %v, want error containing %q", tt.text, err, tt.want)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file %s", err, name)
			}
		})
	}
}

func TestRiakSectionIgnoredWithEmbedded(t *testing.T) {
	// An operator may keep a riak section while testing on one node.
	name := writeConfig(t, "[storage]\nbackend = \"embedded\"\n[storage.riak]\nretries = 5")
	if _, err := loadConfig(overrides{configFile: name}); err != nil {
		t.Fatal(err)
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	name := writeConfig(t, `
domain = "file.example"
data_dir = "/from/file"
[listen]
c2s = ":1111"
tls = ":2222"
http = "127.0.0.1:3333"
`)
	o := overrides{configFile: name, domain: "flag.example", httpAddr: "127.0.0.1:4444", c2sAddr: ":9", set: map[string]bool{"domain": true, "http-addr": true}}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Domain != "flag.example" || cfg.Listen.HTTP != "127.0.0.1:4444" {
		t.Errorf("flags given: domain %q http %q, want flag.example 127.0.0.1:4444", cfg.Domain, cfg.Listen.HTTP)
	}
	if cfg.Listen.C2S != ":1111" || cfg.Listen.TLS != ":2222" || cfg.DataDir != "/from/file" {
		t.Errorf("flags not given must keep the file's values: %+v %q", cfg.Listen, cfg.DataDir)
	}

	// A flag's value is validated like the file's and named by its key.
	o = overrides{configFile: name, c2sAddr: "nonsense", set: map[string]bool{"c2s-addr": true}}
	if _, err := loadConfig(o); err == nil || !strings.Contains(err.Error(), "listen.c2s:") {
		t.Errorf("loadConfig with --c2s-addr nonsense = %v, want a listen.c2s error", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := loadConfig(overrides{configFile: filepath.Join(t.TempDir(), "nope.toml")})
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Errorf("loadConfig(missing) = %v, want an error naming the file", err)
	}
}

// tomlKeys returns the dotted keys that decoding into t reads.
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, tomlKeys(f.Type, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// TestExampleFile checks that xmppd.example.toml names every key, each
// with a value that decodes and validates, and nothing else.
func TestExampleFile(t *testing.T) {
	b, err := os.ReadFile("../../xmppd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment "# key = value" and "# [section]" lines; prose comments
	// ("#  text" or "## text") stay comments.
	setting := regexp.MustCompile(`(?m)^# ?((\[[a-z0-9._]+\])|([a-z0-9_]+ = .*))$`)
	text := setting.ReplaceAllString(string(b), "$1")
	var cfg Config = defaultConfig()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		t.Fatalf("example with every setting uncommented: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Errorf("example names keys that do not exist: %v", und)
	}
	var listed []string
	for _, k := range md.Keys() {
		listed = append(listed, k.String())
	}
	for _, k := range tomlKeys(reflect.TypeFor[Config](), "") {
		if k == "c2s.domain" {
			continue // refused: the top-level domain is the one key
		}
		// A map section (toggles) is listed by an example entry under it.
		if !slices.ContainsFunc(listed, func(l string) bool { return l == k || strings.HasPrefix(l, k+".") }) {
			t.Errorf("example does not list key %s", k)
		}
	}
	if err := cfg.validate(); err != nil {
		t.Errorf("example values do not validate: %v", err)
	}
}

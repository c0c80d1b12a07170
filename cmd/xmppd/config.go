package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/certs"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/metrics/graphite"
	"github.com/xmppd/xmppd/muc"
	"github.com/xmppd/xmppd/notes"
	"github.com/xmppd/xmppd/offline"
	"github.com/xmppd/xmppd/toggles"
	"github.com/xmppd/xmppd/vcard"
)

// Config is the whole configuration file: a few top-level settings and one
// section per package, each package's own Config. docs/config.md is the
// reference; xmppd.example.toml lists every key with its default.
type Config struct {
	// Domain is the XMPP domain served.
	Domain string `toml:"domain"`
	// DataDir holds the embedded store, the generated certificate and the
	// admin token.
	DataDir string `toml:"data_dir"`
	// ShutdownTimeout bounds a graceful shutdown before connections are cut.
	ShutdownTimeout c2s.Duration `toml:"shutdown_timeout"`

	Listen  ListenConfig   `toml:"listen"`
	TLS     certs.Config   `toml:"tls"`
	Log     LogConfig      `toml:"log"`
	C2S     c2s.Config     `toml:"c2s"`
	Auth    auth.Config    `toml:"auth"`
	Storage StorageConfig  `toml:"storage"`
	Offline offline.Config `toml:"offline"`
	MUC     muc.Config     `toml:"muc"`
	// MAM is the message archive (XEP-0313).
	MAM mam.Config `toml:"mam"`
	// VCard holds the vCard limits (XEP-0054).
	VCard vcard.Config `toml:"vcard"`
	// Notes says where the roster-note encryption keys come from.
	Notes notes.Config `toml:"notes"`
	// Toggles are the feature toggles ([toggles.NAME]), reloadable.
	Toggles toggles.Config `toml:"toggles"`
	Metrics MetricsConfig  `toml:"metrics"`
}

// MetricsConfig holds the metrics settings beyond the /metrics endpoint.
type MetricsConfig struct {
	// Graphite pushes the same registry to Carbon when its address is set.
	Graphite graphite.Config `toml:"graphite"`
	// Pprof serves Go's profiler under /debug/pprof/ on the admin
	// listener (admin-scope token). Off by default: profiles cost CPU
	// while they run and show memory contents.
	Pprof bool `toml:"pprof"`
}

// ListenConfig holds the listener addresses (host:port; an empty host
// means every interface). An empty address disables that listener.
type ListenConfig struct {
	// C2S is the client listener with STARTTLS (RFC 6120 §5).
	C2S string `toml:"c2s"`
	// TLS is the client listener with direct TLS (XEP-0368).
	TLS string `toml:"tls"`
	// HTTP is the admin listener: metrics, health, the admin API. Keep it
	// on loopback or a private network.
	HTTP string `toml:"http"`
}

// LogConfig holds the logging settings.
type LogConfig struct {
	// Level is the lowest level logged: debug, info, warn or error.
	Level string `toml:"level"`
}

// Default values of the top-level and listener settings. The sections of
// other packages have their defaults in their zero values.
const (
	defaultDomain          = "localhost"
	defaultDataDir         = "xmppd-data"
	defaultShutdownTimeout = 10 * time.Second
	defaultC2SAddr         = ":5222"
	defaultTLSAddr         = ":5223"
	defaultHTTPAddr        = "127.0.0.1:5280"
	defaultLogLevel        = "info"
)

// defaultConfig returns the configuration used when no file is given.
func defaultConfig() Config {
	return Config{
		Domain:          defaultDomain,
		DataDir:         defaultDataDir,
		ShutdownTimeout: c2s.Duration(defaultShutdownTimeout),
		Listen:          ListenConfig{C2S: defaultC2SAddr, TLS: defaultTLSAddr, HTTP: defaultHTTPAddr},
		Log:             LogConfig{Level: defaultLogLevel},
		Storage:         defaultStorageConfig(),
	}
}

// overrides are the command-line flags that replace settings of the file.
type overrides struct {
	configFile string
	domain     string
	c2sAddr    string
	tlsAddr    string
	httpAddr   string
	dataDir    string
	set        map[string]bool // flags given on the command line
}

// register adds the configuration flags to fs.
func (o *overrides) register(fs *flag.FlagSet) {
	fs.StringVar(&o.configFile, "config", "", "configuration `file` (TOML); defaults apply without one")
	fs.StringVar(&o.domain, "domain", defaultDomain, "XMPP `domain` served (domain)")
	fs.StringVar(&o.c2sAddr, "c2s-addr", defaultC2SAddr, "client STARTTLS listener `address` (listen.c2s)")
	fs.StringVar(&o.tlsAddr, "tls-addr", defaultTLSAddr, "client direct TLS listener `address` (listen.tls)")
	fs.StringVar(&o.httpAddr, "http-addr", defaultHTTPAddr, "admin HTTP listener `address` (listen.http)")
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir, "data `directory` (data_dir)")
}

// loadConfig reads the file named by o (if any) over the defaults, applies
// the flags that were set and validates the result. Every error names the
// key it is about.
func loadConfig(o overrides) (Config, error) {
	cfg := defaultConfig()
	if o.configFile != "" {
		b, err := os.ReadFile(o.configFile)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decodeConfig(string(b), &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", o.configFile, err)
		}
	}
	for _, f := range []struct {
		flag string
		dst  *string
		val  string
	}{
		{"domain", &cfg.Domain, o.domain},
		{"c2s-addr", &cfg.Listen.C2S, o.c2sAddr},
		{"tls-addr", &cfg.Listen.TLS, o.tlsAddr},
		{"http-addr", &cfg.Listen.HTTP, o.httpAddr},
		{"data-dir", &cfg.DataDir, o.dataDir},
	} {
		if o.set[f.flag] {
			*f.dst = f.val
		}
	}
	if err := cfg.validate(); err != nil {
		if o.configFile != "" {
			return Config{}, fmt.Errorf("config %s: %w", o.configFile, err)
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	// One name for the domain everywhere after this point.
	d, _ := jid.New("", cfg.Domain, "")
	cfg.Domain = d.Domainpart()
	cfg.C2S.Domain = cfg.Domain
	return cfg, nil
}

// decodeConfig decodes TOML text over cfg and refuses keys that no setting
// reads, so that a typo is an error rather than a silently ignored line.
func decodeConfig(text string, cfg *Config) error {
	md, err := toml.Decode(text, cfg)
	if err != nil {
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("unknown key %s (see docs/config.md for the keys)", strings.Join(keys, ", "))
	}
	return nil
}

// validate reports every setting that cannot work, each naming its key.
func (c Config) validate() error {
	var errs []error
	if c.Domain == "" {
		errs = append(errs, errors.New("domain: must not be empty"))
	} else if d, err := jid.New("", c.Domain, ""); err != nil {
		errs = append(errs, fmt.Errorf("domain: %q is not a valid XMPP domain: %v", c.Domain, err))
	} else if strings.Contains(d.Domainpart(), ":") || strings.HasPrefix(d.Domainpart(), "[") {
		errs = append(errs, fmt.Errorf("domain: %q must be a host name, not an IP address", c.Domain))
	}
	if c.C2S.Domain != "" {
		errs = append(errs, errors.New("c2s.domain: not a setting; set the top-level domain key instead"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be positive, e.g. \"10s\""))
	}
	for _, l := range []struct{ key, addr string }{
		{"listen.c2s", c.Listen.C2S}, {"listen.tls", c.Listen.TLS}, {"listen.http", c.Listen.HTTP},
	} {
		if err := checkAddr(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", l.key, err))
		}
	}
	if c.Listen.C2S == "" && c.Listen.TLS == "" {
		errs = append(errs, errors.New("listen.c2s: listen.c2s and listen.tls must not both be empty"))
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %v", err))
	}
	errs = append(errs, c.TLS.Validate(), c.C2S.Validate(), c.Auth.Validate(), c.Storage.validate(), c.Offline.Validate(), c.MUC.Validate(), c.Toggles.Validate(), c.Metrics.Graphite.Validate())
	errs = append(errs, c.MAM.Validate(), c.VCard.Validate(), c.Notes.Validate())
	return errors.Join(errs...)
}

// checkAddr accepts "" (disabled) and host:port with a numeric port.
func checkAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

var levels = []string{"debug", "info", "warn", "error"}

// parseLevel maps a log.level value to a slog level.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if !slices.Contains(levels, s) {
		return l, fmt.Errorf("%q must be one of %s", s, strings.Join(levels, ", "))
	}
	err := l.UnmarshalText([]byte(s))
	return l, err
}

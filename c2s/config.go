package c2s

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the client-to-server settings. The zero value means the
// defaults below; Validate fills nothing in, it only rejects nonsense, and
// the accessor methods apply the defaults.
type Config struct {
	// Domain is the XMPP domain served ("localhost" by default).
	Domain string `toml:"domain"`
	// MaxStanzaBytes bounds one stanza on the wire (default 256 KiB);
	// larger gets <policy-violation/> and the stream is closed.
	MaxStanzaBytes int `toml:"max_stanza_bytes"`
	// MaxDepth bounds XML nesting inside one stanza (default 64).
	MaxDepth int `toml:"max_depth"`
	// AuthTimeout is how long a stream may stay unauthenticated (default 30s).
	AuthTimeout Duration `toml:"auth_timeout"`
	// IdleTimeout closes a bound stream that sent nothing for this long,
	// after a ping went unanswered (default 5m).
	IdleTimeout Duration `toml:"idle_timeout"`
	// QueueLength is each session's outbound queue capacity in stanzas
	// (default 1024).
	QueueLength int `toml:"queue_length"`
	// SlowConsumerGrace is how long a sender waits on a full outbound queue
	// before the recipient's stream is closed (default 2s).
	SlowConsumerGrace Duration `toml:"slow_consumer_grace"`
	// AuthFailuresPerMinute is how many failed authentications one IP may
	// make per minute before further attempts are delayed (default 10).
	AuthFailuresPerMinute int `toml:"auth_failures_per_minute"`
	// AllowRegistration enables XEP-0077 in-band registration (off).
	AllowRegistration bool `toml:"allow_registration"`
	// ResumeTimeout is how long a session with XEP-0198 resumption waits
	// for its client to come back after the connection is lost (default
	// 5m); a client may ask for less.
	ResumeTimeout Duration `toml:"resume_timeout"`
	// MaxUnacked bounds the stanzas a session with XEP-0198 holds
	// unacknowledged, detached ones included (default 5000); beyond it the
	// stream is closed and they are rerouted.
	MaxUnacked int `toml:"max_unacked"`
	// CSIMaxHeld bounds the presence updates and chat states held for a
	// client that said it is inactive (XEP-0352), after collapsing
	// (default 500); beyond it all are written.
	CSIMaxHeld int `toml:"csi_max_held"`

	// Rate limits (ratelimit.go); negative switches one off.
	// StanzasPerSecond and StanzaBurst bound each session's stanzas
	// (default 50/s, burst 200); BytesPerSecond and ByteBurst its input
	// bytes (default 256 KiB/s, burst 1 MiB, at least max_stanza_bytes).
	// A stanza over either is answered with <policy-violation/> (type
	// wait); more than RateViolations (default 20) such refusals in a row
	// close the stream with <policy-violation/>.
	StanzasPerSecond float64 `toml:"stanzas_per_second"`
	StanzaBurst      int     `toml:"stanza_burst"`
	BytesPerSecond   float64 `toml:"bytes_per_second"`
	ByteBurst        int     `toml:"byte_burst"`
	RateViolations   int     `toml:"rate_violations"`
	// MaxConnectionsPerIP bounds the open connections from one address
	// (default 100); ConnectionsPerIPPerMinute its new connections
	// (default 300). Over either, a connection is closed at once.
	MaxConnectionsPerIP       int `toml:"max_connections_per_ip"`
	ConnectionsPerIPPerMinute int `toml:"connections_per_ip_per_minute"`
}

// Duration is a time.Duration that decodes from strings such as "30s".
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func orDefault[T ~int | ~int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (c Config) domain() string {
	if c.Domain == "" {
		return "localhost"
	}
	return c.Domain
}
func (c Config) maxStanzaBytes() int { return orDefault(c.MaxStanzaBytes, 256<<10) }
func (c Config) maxDepth() int       { return orDefault(c.MaxDepth, 64) }
func (c Config) authTimeout() time.Duration {
	return time.Duration(orDefault(c.AuthTimeout, Duration(30*time.Second)))
}
func (c Config) idleTimeout() time.Duration {
	return time.Duration(orDefault(c.IdleTimeout, Duration(5*time.Minute)))
}
func (c Config) queueLength() int { return orDefault(c.QueueLength, 1024) }
func (c Config) slowConsumerGrace() time.Duration {
	return time.Duration(orDefault(c.SlowConsumerGrace, Duration(2*time.Second)))
}
func (c Config) authFailuresPerMinute() int { return orDefault(c.AuthFailuresPerMinute, 10) }
func (c Config) resumeTimeout() time.Duration {
	return time.Duration(orDefault(c.ResumeTimeout, Duration(5*time.Minute)))
}
func (c Config) maxUnacked() int { return orDefault(c.MaxUnacked, 5000) }
func (c Config) csiMaxHeld() int { return orDefault(c.CSIMaxHeld, 500) }

// Rate limits (ratelimit.go): zero means the default, a negative value
// switches that limit off.
func limitOr[T ~int | ~float64](v, def T) T {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}
func (c Config) stanzasPerSecond() float64 { return limitOr(c.StanzasPerSecond, 50) }
func (c Config) stanzaBurst() int          { return max(limitOr(c.StanzaBurst, 200), 1) }
func (c Config) bytesPerSecond() float64   { return limitOr(c.BytesPerSecond, 256<<10) }
func (c Config) byteBurst() int {
	// A stanza of the maximum size must fit in the bucket.
	return max(limitOr(c.ByteBurst, 1<<20), c.maxStanzaBytes()+slack)
}
func (c Config) rateViolations() int            { return max(limitOr(c.RateViolations, 20), 0) }
func (c Config) maxConnectionsPerIP() int       { return limitOr(c.MaxConnectionsPerIP, 100) }
func (c Config) connectionsPerIPPerMinute() int { return limitOr(c.ConnectionsPerIPPerMinute, 300) }

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, key, problem string) {
		if !ok {
			errs = append(errs, fmt.Errorf("c2s.%s: %s", key, problem))
		}
	}
	check(c.MaxStanzaBytes == 0 || c.MaxStanzaBytes >= 10000, "max_stanza_bytes", "must be at least 10000 (RFC 6120 §13.12)")
	check(c.MaxDepth >= 0 && c.MaxDepth <= 1000, "max_depth", "must be between 1 and 1000")
	check(c.AuthTimeout >= 0, "auth_timeout", "must not be negative")
	check(c.IdleTimeout >= 0, "idle_timeout", "must not be negative")
	check(c.QueueLength >= 0, "queue_length", "must not be negative")
	check(c.SlowConsumerGrace >= 0, "slow_consumer_grace", "must not be negative")
	check(c.AuthFailuresPerMinute >= 0, "auth_failures_per_minute", "must not be negative")
	check(c.ResumeTimeout == 0 || c.ResumeTimeout >= Duration(time.Second), "resume_timeout", "must be at least 1s")
	check(c.MaxUnacked >= 0, "max_unacked", "must not be negative")
	check(c.CSIMaxHeld >= 0, "csi_max_held", "must not be negative")
	check(c.RateViolations >= 0, "rate_violations", "must not be negative")
	return errors.Join(errs...)
}

package muc

import (
	"errors"
	"fmt"
)

// Config holds the MUC service settings. The zero value means the defaults
// given on each field; Validate only rejects nonsense.
type Config struct {
	// Domain is the service's domain (default "conference." + the server's
	// domain).
	Domain string `toml:"domain"`
	// MaxOccupants caps the occupants of one room (default 200); a room's
	// muc#roomconfig_maxusers may lower it, never raise it. A join past
	// the cap gets <service-unavailable/> (XEP-0045 §7.2.10).
	MaxOccupants int `toml:"max_occupants"`
	// MaxRoomsPerUser bounds how many rooms one account (all its
	// resources together) may be in at once (default 100); past it a join
	// gets <resource-constraint/>.
	MaxRoomsPerUser int `toml:"max_rooms_per_user"`
	// MessagesPerSecond is the sustained groupchat and private message
	// rate of one occupant (default 5); MessageBurst the burst (default 10).
	// Faster messages get <resource-constraint/> and are not delivered.
	MessagesPerSecond float64 `toml:"messages_per_second"`
	MessageBurst      int     `toml:"message_burst"`
	// MaxMessageBytes bounds the body plus subject of one message, in
	// bytes of UTF-8 (default 10000); larger gets <not-acceptable/>.
	MaxMessageBytes int `toml:"max_message_bytes"`
	// HistoryLength is how many groupchat messages a room keeps for
	// history on join (default 20; -1 keeps none).
	HistoryLength int `toml:"history_length"`
}

func orDefault[T ~int | ~float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (c Config) domain(server string) string {
	if c.Domain == "" {
		return "conference." + server
	}
	return c.Domain
}
func (c Config) maxOccupants() int    { return orDefault(c.MaxOccupants, 200) }
func (c Config) maxRoomsPerUser() int { return orDefault(c.MaxRoomsPerUser, 100) }
func (c Config) messagesPerSecond() float64 {
	return orDefault(c.MessagesPerSecond, 5)
}
func (c Config) messageBurst() int    { return orDefault(c.MessageBurst, 10) }
func (c Config) maxMessageBytes() int { return orDefault(c.MaxMessageBytes, 10000) }
func (c Config) historyLength() int {
	switch {
	case c.HistoryLength < 0:
		return 0
	case c.HistoryLength == 0:
		return 20
	}
	return c.HistoryLength
}

// Validate reports every setting that cannot work, naming its key.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, key, problem string) {
		if !ok {
			errs = append(errs, fmt.Errorf("muc.%s: %s", key, problem))
		}
	}
	check(c.MaxOccupants >= 0, "max_occupants", "must not be negative")
	check(c.MaxRoomsPerUser >= 0, "max_rooms_per_user", "must not be negative")
	check(c.MessagesPerSecond >= 0, "messages_per_second", "must not be negative")
	check(c.MessageBurst >= 0, "message_burst", "must not be negative")
	check(c.MaxMessageBytes >= 0, "max_message_bytes", "must not be negative")
	check(c.HistoryLength >= -1 && c.HistoryLength <= 10000, "history_length", "must be between -1 and 10000")
	return errors.Join(errs...)
}

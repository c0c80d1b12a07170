package notes

import (
	"fmt"
	"regexp"
)

// DefaultKeyEnv is the environment variable read for keys when
// Config.KeyEnv is empty.
const DefaultKeyEnv = "XMPPD_NOTES_KEYS"

// Config says where the note keys come from. The zero value reads the
// keys from $XMPPD_NOTES_KEYS only; see the package comment for the format
// and for which key is current.
type Config struct {
	// KeyFile is a file of "<id> <key>" lines; the first key is the
	// current one unless Current says otherwise. It should be mode 0600.
	KeyFile string `toml:"key_file"`

	// KeyEnv names an environment variable holding keys in the same
	// format (';' also separates entries). Default XMPPD_NOTES_KEYS.
	KeyEnv string `toml:"key_env"`

	// Current, when set, is the id of the key that seals new notes; it
	// must be one of the configured keys.
	Current string `toml:"current_key"`
}

func (c Config) keyEnv() string {
	if c.KeyEnv == "" {
		return DefaultKeyEnv
	}
	return c.KeyEnv
}

var (
	validKeyID  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	validEnvVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// maxKeyID is the longest key id; the stored format spends one byte on
// its length.
const maxKeyID = 64

// Validate reports a setting that cannot work, naming its key. Whether the
// key file exists and parses is checked by LoadKeyring.
func (c Config) Validate() error {
	if c.KeyEnv != "" && !validEnvVar.MatchString(c.KeyEnv) {
		return fmt.Errorf("notes.key_env: %q is not an environment variable name", c.KeyEnv)
	}
	if c.Current != "" && !validKeyID.MatchString(c.Current) {
		return fmt.Errorf("notes.current_key: %q is not a key id (1 to %d letters, digits, '.', '_', '-')", c.Current, maxKeyID)
	}
	return nil
}

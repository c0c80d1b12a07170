package auth

import "fmt"

// Iteration bounds for the SCRAM key derivation. RFC 7677 §4 asks for at
// least 4096; the upper bound catches typos that would make every login
// take seconds of CPU.
const (
	DefaultIterations = 4096
	MinIterations     = 4096
	MaxIterations     = 1_000_000
)

// Config holds the account settings. The zero value means the defaults.
type Config struct {
	// Iterations is the PBKDF2 iteration count used for new and changed
	// passwords (default 4096, at least 4096). Existing accounts keep the
	// count they were stored with until their password is set again.
	Iterations int `toml:"scram_iterations"`
}

func (c Config) iterations() int {
	if c.Iterations == 0 {
		return DefaultIterations
	}
	return c.Iterations
}

// Validate reports a setting that cannot work, naming its key.
func (c Config) Validate() error {
	if c.Iterations != 0 && (c.Iterations < MinIterations || c.Iterations > MaxIterations) {
		return fmt.Errorf("auth.scram_iterations: must be between %d and %d, got %d", MinIterations, MaxIterations, c.Iterations)
	}
	return nil
}

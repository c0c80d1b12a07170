package notes

import "errors"

// Errors of Open. They never carry key material or plaintext; Open wraps
// them with the key id when it knows it, so test with errors.Is.
var (
	// ErrTampered means the note's MAC did not verify: its bytes were
	// changed, it was moved to another owner or contact, or it was sealed
	// under a different key that carries the same id.
	ErrTampered = errors.New("notes: sealed note failed verification")

	// ErrUnknownKey means the note names a key id that is not configured,
	// typically a key removed before every note was rekeyed. A key id byte
	// changed in storage into an id that is not configured also ends here:
	// without the key nothing can be verified.
	ErrUnknownKey = errors.New("notes: sealed under a key that is not configured")

	// ErrMalformed means the bytes are not a sealed note of a known
	// version: too short, an unknown version byte, or a bad key id.
	ErrMalformed = errors.New("notes: malformed sealed note")

	// ErrNoKeys is returned by LoadKeyring when neither the key file nor
	// the environment variable provides a key.
	ErrNoKeys = errors.New("notes: no keys configured")
)

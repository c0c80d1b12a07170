// Package notes seals roster notes for storage and opens them again: the
// "Notes encryption at rest" section of DESIGN.md. It owns the keys, the
// stored format and the re-encryption of old notes under a new key; the
// roster package owns the notes themselves and calls Seal before writing a
// note into a user's roster document and Open after reading it.
//
// # Construction
//
// Encrypt-then-MAC. Each configured key (16 or 32 random bytes) is expanded
// with HKDF-SHA256 (RFC 5869) into two independent subkeys, one for AES-CTR
// (same length as the configured key, so AES-128 or AES-256) and a 32-byte
// one for HMAC-SHA256 (RFC 2104), so no key is used for two purposes. Seal
// draws a fresh random 16-byte IV, encrypts the note with AES-CTR (NIST SP
// 800-38A) and computes
//
//	HMAC(macKey, L(version) ‖ L(key id) ‖ L(IV) ‖ L(ciphertext) ‖ L(owner) ‖ L(contact))
//
// where L(x) is x's length as 8 bytes big-endian followed by x, so no two
// different tuples feed the MAC the same bytes. Binding owner and contact
// (normalised bare JIDs) means a sealed note copied to another roster item,
// or another user's roster, fails verification. Open checks the MAC in
// constant time (hmac.Equal) before decrypting anything, and never returns
// plaintext that did not verify.
//
// # Stored format (version 1)
//
//	byte 0        version, 0x01
//	byte 1        n, length of the key id (1..64)
//	bytes 2..2+n  key id, ASCII letters, digits, '.', '_', '-'
//	16 bytes      IV (initial AES-CTR counter block)
//	m bytes       ciphertext, as long as the note
//	32 bytes      HMAC-SHA256 tag
//
// A sealed note is 50+n bytes longer than the note. The key id travels in
// clear so that Open picks the right key and NeedsRekey can tell old notes
// without any cryptography.
//
// # Keys
//
// Keys come from a key file (Config.KeyFile), from an environment variable
// (Config.KeyEnv, default XMPPD_NOTES_KEYS), or both, never from the data
// store. The format is one key per line:
//
//	# comments and blank lines are ignored
//	2026-02 3f0c…(64 hex digits)
//	2025-11 q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=
//
// that is "<id> <key>", the key written as hex (32 or 64 digits) or base64
// (standard or URL alphabet, padded or not) of 16 or 32 bytes. In the
// environment variable ';' may separate entries as well as newlines. The
// current key — the one Seal uses — is Config.Current when set, otherwise
// the first key of the key file, otherwise the first key of the variable.
// Every configured key opens notes. An id listed twice with the same key is
// accepted; with different keys it is an error.
//
// With no key configured at all, cmd/xmppd calls Setup, which generates a
// key file in the data directory on first start (EnsureKeyFile: one 256-bit
// key, mode 0600) and says so in the log, so that a fresh machine starts
// with one command. That file is the only copy of the key: back it up with
// the data, and in a cluster configure one key file on every node instead.
//
// # Rotation
//
// Keys rotate without downtime, node by node:
//
//  1. add the new key as the last line of the key file on every node and
//     reload (Keyring.Reload, SIGHUP or the admin API) — every node can now
//     open notes sealed under it;
//  2. move it to the first line (or set current_key) and reload — new notes
//     are sealed under it;
//  3. run "xmppd notes rekey" — Rekey re-seals every older note, one user's
//     roster document at a time, through the roster's ordinary CRDT update,
//     and reports how many notes were rekeyed, already current, or failed
//     verification;
//  4. remove the old key once a rekey reports no failures.
//
// Keys never appear in logs, errors or fmt output: the Keyring and its keys
// print as their ids only.
package notes

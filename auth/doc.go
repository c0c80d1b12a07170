// Package auth owns user accounts and the server side of SASL for xmppd:
// the credential store, the SASL mechanisms (SCRAM-SHA-256, SCRAM-SHA-1,
// PLAIN) and a per-IP throttle for failed authentications. The stream layer
// (package c2s) handles the XML around SASL (<auth/>, <challenge/>,
// <response/>, <success/>, <failure/>, base64) and calls this package with
// decoded bytes; this package never touches a socket.
//
// # Specifications
//
//   - RFC 6120 §6: SASL in XMPP. Failure conditions (§6.5) are returned as
//     *Failure values whose Condition is the element name to send. An empty
//     response sent as "=" arrives here as a zero-length, non-nil slice
//     (§6.4.2); no initial response arrives as nil.
//   - RFC 4616: PLAIN, offered only on TLS-protected streams.
//   - RFC 5802 and RFC 7677: SCRAM-SHA-1 and SCRAM-SHA-256. The -PLUS
//     (channel binding) variants are not offered, so a client gs2 flag "y"
//     is accepted and "p=" is refused.
//   - RFC 7622 / RFC 8265 (PRECIS): usernames are JID localparts prepared
//     with the UsernameCaseMapped profile; passwords with OpaqueString,
//     which replaces SASLprep (RFC 4013) for XMPP.
//
// # Credentials
//
// Accounts never stores a password. For each account it stores, per hash
// (SHA-1 and SHA-256), a random 16-byte salt, the iteration count, and the
// SCRAM StoredKey and ServerKey (RFC 5802 §3). PLAIN is verified by
// deriving the SCRAM-SHA-256 StoredKey from the offered password with the
// stored salt and iteration count and comparing it in constant time.
//
// An account lives in storage.KV under Key{Kind: "account",
// User: "<localpart>@<domain>"} as JSON:
//
//	{
//	  "v": 1,
//	  "sha1":   {"salt": "<base64>", "i": 4096, "stored_key": "<base64>", "server_key": "<base64>"},
//	  "sha256": {"salt": "<base64>", "i": 4096, "stored_key": "<base64>", "server_key": "<base64>"}
//	}
//
// "v" is the format version; a reader refuses versions it does not know
// rather than guess. Byte fields are standard base64 with padding.
//
// A server secret of 32 random bytes is kept under Key{Kind: "auth-secret",
// User: "<domain>"}, created on first use. It derives the fake salt that
// SCRAM announces for a user that does not exist, so that the first server
// message looks the same for existing and missing users and stays the same
// across restarts; such an exchange fails only at the proof, with the same
// not-authorized as a wrong password.
package auth

// Package roster owns rosters, presence subscriptions and presence
// broadcast (RFC 6121 §2–4), roster versioning (XEP-0237) and roster notes
// (DESIGN.md, "Roster notes").
//
// # Storage
//
// A user's roster is one CRDT document (crdtstore, kind "roster"): one
// element per contact, keyed by the contact's bare JID, with
// last-writer-wins fields for the name, the groups (a sorted list), the
// subscription state (subscription, ask, pending-in, approved), the sealed
// note and the time of the last change the owner can see. Every change is
// a read-merge-write of that document that writes only the fields it
// changes, so two resources — or two nodes — editing one roster at once
// never lose an update, and loading a roster is one storage read however
// many contacts it holds. A subscription request from someone not on the
// roster is an element that is not "listed": it exists to be delivered at
// the next login until it is answered.
//
// # Subscriptions
//
// The state machine of RFC 6121 Appendix A is State's methods: the Out*
// transitions on the sender's roster, the In* transitions on the
// recipient's. When both users are local, both sides run in the sender's
// goroutine, one document update each; every change the owner can see is
// pushed to the owner's interested resources (those that fetched the
// roster, §2.1.6). Subscription stanzas travel with a bare 'from' (§3.1.2),
// and the server answers for a user who already approved or pre-approved
// (§3.1.3, §3.4).
//
// # Presence
//
// Each session caches the part of its roster that presence needs (who is
// subscribed to it, whom it is subscribed to, pending requests): filled by
// the roster get or the first presence, rebuilt from the new document
// whenever this server changes the roster. Broadcasts go to subscribers
// only (from, both); the probes of an initial presence are answered from
// the session directory with the contacts' resources' last presence, so a
// login costs one storage read, not one per contact. Directed presence is
// remembered per session and followed by unavailable when the session
// goes offline (§4.6), TCP drops included. In a cluster the cache would
// need an invalidation from other nodes' changes; today it is exact on a
// single node.
//
// # Versioning and notes
//
// Versions (version.go) combine the newest change time with a checksum of
// the roster: an unchanged roster answers with an empty result, a client a
// little behind gets only the changed items as pushes after it, removals
// included (tombstones, pruned after 30 days or beyond 200). Notes are
// sealed by a NoteSealer (the notes package) bound to owner and contact,
// shown only to the owner (get and pushes), never to the contact nor in
// presence; one that fails to open is logged, counted and left out.
package roster

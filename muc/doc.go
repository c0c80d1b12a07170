// Package muc is xmppd's multi-user chat service (XEP-0045), served on its
// own domain (conference.<domain> by default) with no central router.
//
// Design. The c2s core hands every stanza addressed to the service's
// domain to Service.handleDomain in the goroutine of the session that sent
// it. That goroutine looks the room up in a sharded registry (64 map
// shards, each with its own RWMutex, keyed by the room's bare JID), takes
// the room's own mutex, and fans the stanza out itself to the occupants'
// c2s.Resource.Send queues. Nothing that every room message passes
// through exists: two rooms share at most a registry shard's read lock.
// The room's lock is held during the fan-out so that every occupant sees a
// room's stanzas in the same order (presence before the messages that
// follow it, history before the subject); Send never blocks for longer
// than the core's slow-consumer grace period, after which the slow
// recipient's stream is closed and its occupants leave through the
// OnClosed hook. Stanzas for JIDs outside the room (invitations, declines)
// are routed after the room lock is released, so two rooms never lock
// each other.
//
// What it implements of XEP-0045 (section numbers of version 1.35):
//   - entering (§7.2): the presence of the other occupants first, then the
//     newcomer's own presence to everyone, to the newcomer last with 110
//     (and 100 in non-anonymous rooms, 201 for a new room); history
//     (maxstanzas, maxchars, seconds, since; XEP-0203 delay from the room
//     JID), then the subject, always; the errors of §7.2.6–7.2.11.
//   - room creation (§10.1): the first to enter owns the room; with the
//     MUC <x/> it is locked (item-not-found for others) until the owner
//     submits the configuration form or an empty instant form; cancel
//     destroys it.
//   - presence changes, nick changes (303), leaving (§7.6, §7.7, §7.14);
//     groupchat messages, subject changes, private messages, mediated
//     invitations and declines, voice requests (§7.4–7.13, §8.6).
//   - roles and affiliations with the permission tables of §5: kick (307),
//     voice, moderator, ban (301), member, admin and owner lists through
//     muc#admin (§8, §9, §10); configuration with muc#roomconfig data forms
//     (status 104, 172, 173; 322 when a room becomes members-only) and
//     destruction with an alternate venue (§10.9).
//   - discovery (§6): the service, public rooms, and room features
//     (muc_public, muc_persistent, muc_passwordprotected, …) with the
//     muc#roominfo form.
//   - IQ requests to an occupant's room JID (§7.2's "IQ requests", vCard
//     and version queries the common case) go to the occupant's real full
//     JID from the requester's room JID, under an id of the service's own
//     (random, 96 bits; at most 4096 awaited at once, the oldest forgotten
//     first). The response, which the occupant sends to the requester's
//     room JID, goes back to the requester under the original id from
//     the occupant's room JID; a response from anyone but the occupant
//     asked, or to an id nobody awaits, is dropped. Pings to one's own
//     room JID are answered by the service (XEP-0410).
//
// Room archives (XEP-0313 "MUC archives", with Options.Archives): every
// groupchat message with a body is appended, as the room reflects it
// (from room/nick), to {Kind: "mam", User: room bare JID} through a
// mam.RoomArchive, which reuses the user archives' query parsing, RSM
// paging and <fin/>. The reflected message carries <stanza-id
// xmlns='urn:xmpp:sid:0' by='room@service' id='…'/>; stanza ids that a
// sender put there claiming to be the room's are removed first. An
// urn:xmpp:mam:2 query to the room JID is answered with results from the
// room JID; members-only and hidden rooms answer occupants only, others
// anyone but outcasts. Rooms advertise urn:xmpp:mam:2 in disco#info. A
// room that is destroyed, or a temporary room that vanishes, takes its
// archive with it, so a later room of the same name cannot read it.
//
// Persistent rooms keep their configuration, affiliations and subject in
// storage.KV (kind "muc_room", one value per room) and are restored by
// Load at start; temporary rooms vanish when the last occupant leaves.
//
// Limits (Config): occupants per room (service-unavailable), rooms one
// account may be in (resource-constraint), the message rate of one
// occupant (golang.org/x/time/rate; resource-constraint) and the size of
// a message's body and subject (not-acceptable).
package muc

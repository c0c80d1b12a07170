// Package mam keeps each user's message archive and answers queries on it
// (XEP-0313 Message Archive Management, namespace urn:xmpp:mam:2 with the
// #extended additions), with XEP-0059 paging and XEP-0359 stanza ids.
//
// # Archiving
//
// Two core hooks feed the archive. OnMessageSent sees every message a
// client sends: a chat or normal message with a body goes into the
// sender's archive (with = the addressee's bare JID) before it is routed.
// OnMessageIn sees every chat or normal message on its way to a local
// account, once, before delivery or offline storage: it goes into the
// recipient's archive (with = the sender's bare JID), and the message the
// recipient gets carries <stanza-id xmlns='urn:xmpp:sid:0'
// by='user@domain' id='…'/> naming that archive entry. Stanza ids with
// by='user@domain' that anyone else put there are removed first (XEP-0359
// §3.1), so a sender cannot forge an id of the recipient's archive. A
// message to oneself is archived once. What counts as archivable: type
// chat or normal, with a <body/> or the XEP-0334 <store/> hint, and without
// <no-store/> or <no-permanent-store/>; chat states and receipts without a
// body, groupchat, headline and error messages are not archived. A message
// the sender archived may still bounce later (the addressee does not
// exist): the sender's archive records what was sent, as ejabberd's does.
// A storage failure while archiving is logged and counted; the message is
// delivered anyway (nothing accepted is lost).
//
// Entries live in storage.Archives under {Kind: "mam", User: bare JID}:
// the entry's ID is the archive id (ordered like time), With the other
// party's bare JID, Data the message as XML.
//
// # Preferences
//
// <prefs default='always|never|roster'> with <always/> and <never/> JID
// lists (XEP-0313 §6.1), kept in storage.KV under {Kind: "mam-prefs"}. A
// listed JID matches the other party's bare JID, or its full JID when the
// list holds a full JID; never wins over always; otherwise the default
// decides, "roster" meaning the other party is on the user's roster (an
// InRoster lookup, one roster read). No stored preferences means
// Config.Default ("always" unless configured).
//
// # Queries
//
// An IQ set <query/> to one's own bare JID runs a query; a get returns the
// form. Form fields: with (bare: a storage filter; full: the bare filter
// plus a check of the stored message's addresses), start and end
// (XEP-0082), before-id, after-id and ids (#extended). RSM: max (capped at
// Config.MaxPage; Config.DefaultPage when absent), after, before (empty =
// the last page), and <flip-page/> (#extended) reverses the order of the
// page. Results are <message><result queryid id><forwarded><delay
// stamp/><message/></forwarded></result></message> to the querying
// resource, then the IQ result with <fin/>; complete='true' only when the
// page reaches the end of the archive in the direction of the query. The
// fin's <set/> names the first and last ids; <count/> and <first index/>
// are included when the query matches at most Config.CountLimit entries
// (counting costs a read of every matching entry, so large archives skip
// it, as XEP-0313 allows). An id that is not in the archive (after,
// before, before-id, after-id, ids) is <item-not-found/>.
//
// # Retention
//
// Config.Retention bounds how long entries are kept: queries never return
// older entries, and appending to an archive removes the expired ones
// (DeleteBefore) at most once an hour per archive and node.
//
// # Room archives
//
// RoomArchive serves MUC room archives for the muc package (which calls
// it; this package knows nothing of rooms): Append keeps a reflected
// groupchat message under {Kind: "mam", User: room bare JID} (With = the
// room, so a 'with' of an occupant's room JID selects by the stored
// message's from), and Query runs the same parsing, paging and <fin/> as
// user queries, with result messages from the room. Its metrics are
// xmppd_muc_mam_….
package mam

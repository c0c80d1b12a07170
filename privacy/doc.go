// Package privacy owns privacy lists (XEP-0016) with xmppd's incremental
// updates (DESIGN.md, "Incremental privacy-list updates"), the blocking
// command (XEP-0191) served from the same lists, and their enforcement on
// the routing path.
//
// # Storage
//
// A user's lists are one CRDT document (crdtstore, kind "privacy"): one
// element per list name, one per item keyed by list, type and value, an
// order index that keeps orders unique, and the default list's name as a
// document field (store.go). Every change is one read-merge-write of that
// document, so the <add/> and <remove/> elements of one IQ apply
// atomically, in document order, and touch O(1) elements each whatever
// the size of the list; concurrent writers on other nodes produce
// siblings that the next read merges.
//
// # Enforcement
//
// The service compiles the lists in effect — each session's active list,
// kept in a c2s.Slot, and each user's default list — into an evaluator
// whose jid items sit in a map (eval.go): a 10,000-entry ignore list
// costs a few map lookups per stanza, no scan. The c2s filters consult it
// with no storage access: outbound for what a client sends (items with no
// children, presence-out), inbound for what reaches a resource or offline
// storage (message, iq, presence-in, and the sender's presence-out for
// presence the roster delivers itself). A blocked sender learns nothing:
// messages and IQ requests get service-unavailable as from a user who is
// not there, presence vanishes (XEP-0016 §2.13). A stanza the user sends
// to someone a list denies gets not-acceptable, with XEP-0191's <blocked/>
// when a block decided.
//
// Changes take effect at once: a change is written under a per-user lock
// (privacy changes of one user on one node are serialised, so the cache
// always reflects the last write), and the compiled lists in use are
// patched with the net change — an incremental update copies the jid map
// rather than rereading the list — then every resource gets the list push
// (rule 10), and resources that asked for the blocklist the XEP-0191
// pushes. Roster changes drop the cached roster view that group and
// subscription items read (rule 9). The default lists of users who are
// offline are cached (bounded) for offline delivery.
//
// # Debug trace
//
// For a session whose debug switch is on (c2s.Session.Debugging), every
// decision of a list in effect is logged at Debug on its logger as
// "privacy verdict" (trace.go): direction (in: the recipient's list, out:
// the sender's), list name, stanza and the kind it was judged as, peer,
// verdict, and the deciding item's order, action, type and value (and
// whether it is a blocklist item), or match=none. The recipient's trace
// shows its inbound verdicts, the sender's its outbound and presence-out
// ones; offline delivery has no session to trace on.
//
// # Blocking
//
// The blocklist is the default list's jid items that deny everything
// (XEP-0191 §3): block adds such items before the others (creating the
// list "Blocked contacts" as the default when there is none), unblock
// removes them, and an edit of the default list through privacy lists
// shows in the blocklist and its pushes. Newly blocked contacts allowed
// to see the user's presence get unavailable presence from each of the
// user's available resources; unblocked ones get the current presence.
package privacy

// Package offline stores messages for users who have no available resource
// and delivers them when the user comes back (XEP-0160, RFC 6121 §8.5.2.2.1).
//
// Storing. The core hands the feature every chat or normal message that RFC
// 6121 §8 says to keep for later (OnUndeliverable). The message, with a
// XEP-0203 <delay from='domain' stamp='…'/> recording when the server
// received it, is pushed onto the user's queue in storage.Queues (key
// {Kind: "offline", User: bare JID}); the handler returns only once the
// backend says the push is durable, so a message the sender was not told
// about is never only in memory. What is not stored:
//
//   - headline, groupchat and error messages (RFC 6121 §8.5.2.2.1; the core
//     does not pass them, the feature checks anyway);
//   - messages without a body that carry only chat state notifications
//     (XEP-0085, XEP-0160 §3): dropped silently, they are transient;
//   - messages carrying the XEP-0334 <no-store/> hint: answered with
//     <service-unavailable/>, as RFC 6121 asks of a server that does not
//     store a message. <store/> forces storage of what would be skipped,
//     <no-permanent-store/> does not prevent it.
//
// A full queue (Config.MaxMessages per user) answers the sender with
// <resource-constraint/> (type wait); a message larger than the backend
// accepts with <not-acceptable/>; a storage failure with
// <internal-server-error/> (type wait). Never silence.
//
// Delivering. When a session sends initial presence with a non-negative
// priority, or raises a negative priority to a non-negative one (a session
// at negative priority gets no offline messages, XEP-0160 §2), the queue is
// read in FIFO order and each message is queued to that session with
// Session.Send; a batch is acknowledged (removed from storage) only after
// all of its Sends succeeded. A message queued to a session that dies
// before writing it is rerouted by the core — back into this queue,
// keeping its first stamp — so acknowledging after Send loses nothing
// while the process lives; a crash between Send and Ack redelivers (at
// least once). What no server without stream management (XEP-0198) can
// promise is the window after the Ack: a crash (SIGKILL) while
// acknowledged messages still wait in the session's outbound queue, or a
// connection that dies with them in the kernel's socket buffer, loses
// them. The window is short — the writer drains the queue while the Ack
// is fsynced — and the integration test that kills the server during a
// burst of 1000 deliveries finds every message in one login or the next.
// Delivery for one user is
// serialised by a per-user lock (sharded maps of reference-counted
// mutexes, no global lock), so two resources coming online at the same
// moment get each message exactly once in total.
//
// One race is closed explicitly: a message may be pushed just after a
// resource became available and already read an empty queue. After every
// push the feature looks the user up in the directory and, if a resource
// is available with non-negative priority, flushes the queue to it.
//
// Messages that arrive live while a backlog is being delivered may reach
// the client before older stored ones; their delay stamps order them.
package offline

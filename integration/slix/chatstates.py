"""XEP-0085 chat states, XEP-0184 receipts and XEP-0333 markers pass
through the server untouched (slixmpp's plugins on both ends), and chat
states are never stored offline while messages with a body are, their
markable and receipt request intact."""
import asyncio

from common import Client, Failed, TIMEOUT, expect, jid, run

PLUGINS = ("xep_0030", "xep_0085", "xep_0184", "xep_0333")


class ChatClient(Client):
    def __init__(self, j, pw):
        super().__init__(j, pw, plugins=PLUGINS)
        self.events = asyncio.Queue()
        for ev in ("chatstate", "receipt_received", "marker_displayed", "marker_received"):
            self.add_event_handler(ev, lambda m, ev=ev: self.events.put_nowait((ev, m)))

    async def next_event(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.events.get(), timeout)

    async def no_event(self, wait=1.0):
        try:
            ev = await asyncio.wait_for(self.events.get(), wait)
        except asyncio.TimeoutError:
            return
        raise Failed("unexpected %s" % (ev,))


async def scenario():
    alice = await ChatClient(jid("alice", "a"), "alice-pw").start()
    bob = await ChatClient(jid("bob", "b"), "bob-pw").start()
    await asyncio.sleep(0.3)

    for state in ("active", "composing", "paused"):
        m = alice.make_message(mto=jid("bob", "b"), mtype="chat")
        m["chat_state"] = state
        m["id"] = "cs-" + state
        m.send()
        ev, got = await bob.next_event()
        expect(ev == "chatstate" and got["chat_state"] == state and got["id"] == "cs-" + state,
               "chat state %s arrived as %s %s" % (state, ev, got))

    # Receipt: alice asks, bob's client acknowledges automatically.
    m = alice.make_message(mto=jid("bob"), mbody="did you get this?", mtype="chat")
    m["id"] = "r-1"
    m["request_receipt"] = True
    m["markable"] = True
    m.send()
    got = await bob.next_message()
    expect(got["request_receipt"] and got.xml.find("{urn:xmpp:chat-markers:0}markable") is not None,
           "request or markable lost: %s" % got)
    ev, r = await alice.next_event()
    expect(ev == "receipt_received" and r["receipt"] == "r-1" and r["from"] == jid("bob", "b"),
           "receipt: %s %s" % (ev, r))
    # Marker: bob says he displayed it.
    bob["xep_0333"].send_marker(jid("alice", "a"), "r-1", "displayed")
    ev, mk = await alice.next_event()
    expect(ev == "marker_displayed" and mk["displayed"]["id"] == "r-1", "marker: %s %s" % (ev, mk))

    # bob goes offline: the chat state is dropped, the message stored.
    await bob.stop()
    await asyncio.sleep(0.3)
    m = alice.make_message(mto=jid("bob"), mtype="chat")
    m["chat_state"] = "composing"
    m.send()
    m = alice.make_message(mto=jid("bob"), mbody="later", mtype="chat")
    m["id"] = "r-2"
    m["chat_state"] = "active"
    m["request_receipt"] = True
    m["markable"] = True
    m.send()
    await alice.no_error()
    await asyncio.sleep(0.3)
    bob2 = await ChatClient(jid("bob", "b2"), "bob-pw").start()
    got = await bob2.next_message()
    expect(got["body"] == "later" and got["id"] == "r-2", "offline message: %s" % got)
    expect(got["request_receipt"] and got.xml.find("{urn:xmpp:chat-markers:0}markable") is not None,
           "offline message lost its request or markable: %s" % got)
    # Its 'active' state came with the body; the lone 'composing' did not come.
    ev, cs = await bob2.next_event()
    expect(ev == "chatstate" and cs["chat_state"] == "active" and cs["id"] == "r-2", "stored chat state: %s %s" % (ev, cs))
    await bob2.no_event()
    await bob2.no_message()
    ev, r = await alice.next_event()
    expect(ev == "receipt_received" and r["receipt"] == "r-2", "receipt after offline delivery: %s %s" % (ev, r))

    await alice.stop()
    await bob2.stop()


run(scenario)

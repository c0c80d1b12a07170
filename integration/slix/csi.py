"""XEP-0352 client state indication with slixmpp's xep_0352 plugin.

bob is subscribed to alice's presence. While bob is inactive, alice's
presence changes and typing notifications are held and collapsed; her
message with a body reaches him at once, after what was held; on
<active/> he gets only her latest presence and chat state.

usage: csi.py CASE; CASE "plain", or "sm" to run it all with XEP-0198
stream management on (held stanzas are acked once written). Accounts are
CASE-named. The "bad" case checks that an unknown element in the CSI
namespace ends the stream.
"""
import asyncio
import sys

from slixmpp.exceptions import IqError

from common import Client, DOMAIN, Failed, TIMEOUT, expect, jid, quiet, run

case = sys.argv[1]
PLUGINS = ("xep_0030", "xep_0085", "xep_0199", "xep_0352")
if case == "sm":
    PLUGINS += ("xep_0198",)


def user(name):
    return "%s-%s" % (case, name)


def csi_client(name, resource):
    c = Client(jid(user(name), resource), "pw", plugins=PLUGINS)
    c.chatstates = asyncio.Queue()
    c.add_event_handler("chatstate", c.chatstates.put_nowait)
    return c


async def sync(c):
    """Everything c sent before is handled once the server answers a ping
    (the server handles a stream's input in order)."""
    try:
        await c["xep_0199"].send_ping(DOMAIN, timeout=TIMEOUT)
    except IqError as e:
        raise Failed("ping failed: %s" % e.iq["error"]["condition"])


def drain(queue):
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def from_alice(p):
    return p["from"].bare == jid(user("alice"))


async def typing(alice, to, state):
    m = alice.make_message(mto=to, mtype="chat")
    m["chat_state"] = state
    m.send()


async def main():
    alice = await csi_client("alice", "phone").start()
    bob = await csi_client("bob", "tab").start()
    # slixmpp may start the session (stream management does) before it
    # has walked the rest of the features.
    for _ in range(40):
        if bob["xep_0352"].enabled:
            break
        await asyncio.sleep(0.05)
    expect(bob["xep_0352"].enabled, "the server did not offer <csi/> after authentication")
    if case == "sm":
        expect(bob["xep_0198"].enabled_out, "stream management not enabled")
    bob_full = jid(user("bob"), "tab")

    # bob subscribes to alice (she approves automatically) and sees her.
    bob.send_presence(pto=jid(user("alice")), ptype="subscribe")
    await bob.next_presence(lambda p: from_alice(p) and p["type"] == "available")
    await sync(alice)
    await asyncio.sleep(0.3)
    drain(bob.presences)
    drain(bob.chatstates)

    # Inactive: presence and typing are held.
    bob["xep_0352"].send_inactive()
    await sync(bob)
    alice.send_presence(pshow="away", pstatus="in a meeting")
    await typing(alice, bob_full, "composing")
    await sync(alice)
    await quiet(bob.presences, 1.0, "presence while inactive")
    await quiet(bob.chatstates, 0.1, "chat state while inactive")

    # A message with a body goes at once, after what was held.
    alice.send_message(mto=bob_full, mbody="call me when you can", mtype="chat")
    m = await bob.next_message()
    expect(m["body"] == "call me when you can", "message: %s" % m)
    held = [p for p in drain(bob.presences) if from_alice(p)]
    expect(len(held) == 1 and held[0]["show"] == "away", "presence written before the message: %s" % held)
    states = [c["chat_state"] for c in drain(bob.chatstates)]
    # The message itself carries 'active' (slixmpp adds it to messages
    # with a body when xep_0085 is on): composing came first.
    expect(states[:1] == ["composing"], "chat states around the message: %s" % states)

    # Still inactive: many changes, nothing arrives.
    for show, status in (("xa", "gone"), ("dnd", "busy"), ("chat", "latest")):
        alice.send_presence(pshow=show, pstatus=status)
    for state in ("composing", "paused", "composing", "paused"):
        await typing(alice, bob_full, state)
    await sync(alice)
    await quiet(bob.presences, 1.0, "presence while inactive")
    await quiet(bob.chatstates, 0.1, "chat state while inactive")

    # Active: only the latest of each.
    bob["xep_0352"].send_active()
    await sync(bob)
    await asyncio.sleep(0.3)
    got = [p for p in drain(bob.presences) if from_alice(p)]
    expect(len(got) == 1 and got[0]["show"] == "chat" and got[0]["status"] == "latest",
           "presence on active: %s" % [(p["show"], p["status"]) for p in got])
    states = [c["chat_state"] for c in drain(bob.chatstates)]
    expect(states == ["paused"], "chat states on active: %s" % states)

    # Active again: everything flows at once.
    alice.send_presence(pshow="away", pstatus="after")
    p = await bob.next_presence(from_alice)
    expect(p["status"] == "after", "presence while active: %s" % p)

    if case == "sm":
        # bob's acks count what he received; had the server numbered the
        # stanzas it held and dropped, they would not match its count
        # (too high closes the stream; too low leaves them unacked).
        bob["xep_0198"].request_ack()
        await sync(bob)
        expect(not bob.gone.is_set() and bob.stream_errors == [], "stream errors: %s" % bob.stream_errors)

    await alice.stop()
    await bob.stop()


async def bad():
    c = await csi_client("bob", "bad").start()
    c.send_raw("<sleepy xmlns='urn:xmpp:csi:0'/>")
    await asyncio.wait_for(c.gone.wait(), TIMEOUT)
    expect(c.stream_errors == ["unsupported-stanza-type"], "stream errors: %s" % c.stream_errors)


run(bad if case == "bad" else main)

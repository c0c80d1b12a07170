"""XEP-0191 blocking on the wire, served from the privacy lists: block,
blocklist, pushes to the resources that asked for the blocklist, the
<blocked/> error for messages to a blocked contact, service-unavailable
for the blocked contact, the blocked contact seeing the blocker go
unavailable, unblock and unblock-all, and the blocklist being the
default privacy list."""
import asyncio

from common import expect, jid, run, condition, TIMEOUT
from privacy_lib import PrivacyClient, elem, no_presence_from

PLUGINS = ("xep_0030", "xep_0199", "xep_0191")


async def login(user, res):
    c = await PrivacyClient(jid(user, res), user + "-pw", PLUGINS).start()
    c.blocks = asyncio.Queue()
    c.add_event_handler("blocked", lambda iq: c.blocks.put_nowait(("block", sorted(str(j) for j in iq["block"]["items"]))))
    c.add_event_handler("unblocked", lambda iq: c.blocks.put_nowait(("unblock", sorted(str(j) for j in iq["unblock"]["items"]))))
    return c


async def subscribe(a, b):
    """Make a and b mutual subscribers."""
    for x, y in ((a, b), (b, a)):
        x.send_presence(pto=y.boundjid.bare, ptype="subscribe")
        await y.next_presence(lambda p: p["type"] == "subscribe")
        y.send_presence(pto=x.boundjid.bare, ptype="subscribed")
        await x.next_presence(lambda p: p["type"] == "subscribed")
    await asyncio.sleep(0.3)


async def blocklist(c):
    res = await c.plugin["xep_0191"].get_blocked(timeout=TIMEOUT)
    return sorted(str(j) for j in res["blocklist"]["items"])


async def scenario():
    alice = await login("alice", "one")
    alice2 = await login("alice", "two")
    alice3 = await login("alice", "three")  # never asks for the blocklist
    bob = await login("bob", "desk")
    carol = await login("carol", "pc")
    await subscribe(alice, bob)
    for c in (alice, alice2, alice3, bob, carol):
        c.drain()

    expect(await blocklist(alice) == [], "empty blocklist")
    expect(await blocklist(alice2) == [], "empty blocklist on two")

    await alice.plugin["xep_0191"].block([jid("bob")], timeout=TIMEOUT)
    # bob, who was subscribed, sees alice's resources go unavailable.
    seen = set()
    while len(seen) < 3:
        p = await bob.next_presence(lambda p: p["from"].bare == jid("alice") and p["type"] == "unavailable")
        seen.add(p["from"].resource)
    expect(seen == {"one", "two", "three"}, "unavailable from each resource: %s" % seen)
    for c in (alice, alice2):
        op, items = await asyncio.wait_for(c.blocks.get(), TIMEOUT)
        expect(op == "block" and items == [jid("bob")], "block push to %s: %s %s" % (c.boundjid, op, items))
    try:
        got = await asyncio.wait_for(alice3.blocks.get(), 0.5)
        expect(False, "a resource that never asked for the blocklist got a push: %s" % (got,))
    except asyncio.TimeoutError:
        pass
    expect(await blocklist(alice2) == [jid("bob")], "blocklist after block")

    # The blocklist is the default privacy list.
    q = await alice.ok("get")
    d = q.find("{jabber:iq:privacy}default")
    expect(d is not None and d.get("name") == "Blocked contacts", "default list: %s" % (d.attrib if d is not None else None))

    # bob cannot reach alice: service-unavailable, nothing delivered.
    bob.send_message(mto=jid("alice"), mbody="let me in", mtype="chat")
    err = await bob.next_error()
    expect(condition(err) == "service-unavailable", "blocked contact's message: %s" % err)
    await alice.no_message()
    iq = bob.make_iq_get(queryxmlns="jabber:iq:version", ito=jid("alice", "one"))
    try:
        await iq.send(timeout=TIMEOUT)
        expect(False, "blocked contact's IQ was answered")
    except Exception as e:
        expect("service-unavailable" in str(getattr(e, "iq", e)), "blocked contact's IQ: %s" % e)
    # and alice's presence no longer reaches bob.
    alice.send_presence(pstatus="invisible to bob")
    await no_presence_from(bob, jid("alice"))

    # alice messaging bob gets not-acceptable with <blocked/>.
    bob.drain()
    alice.send_message(mto=jid("bob"), mbody="hi bob", mtype="chat")
    err = await alice.next_error()
    expect(condition(err) == "not-acceptable", "message to a blocked contact: %s" % err)
    expect(err.xml.find("{jabber:client}error/{urn:xmpp:blocking:errors}blocked") is not None,
           "<blocked/> app error: %s" % err)
    await bob.no_message()

    # Bad block requests.
    iq = alice.make_iq_set()
    iq.append(alice.plugin["xep_0191"].stanza.Block())
    try:
        await iq.send(timeout=TIMEOUT)
        expect(False, "empty block accepted")
    except Exception as e:
        expect(e.iq["error"]["condition"] == "bad-request", "empty block: %s" % e)

    # Unblock: pushes, presence back to bob, messages flow.
    await alice.plugin["xep_0191"].block([jid("carol")], timeout=TIMEOUT)
    for c in (alice, alice2):
        await asyncio.wait_for(c.blocks.get(), TIMEOUT)
    bob.drain()
    await alice.plugin["xep_0191"].unblock([jid("bob")], timeout=TIMEOUT)
    for c in (alice, alice2):
        op, items = await asyncio.wait_for(c.blocks.get(), TIMEOUT)
        expect(op == "unblock" and items == [jid("bob")], "unblock push: %s %s" % (op, items))
    p = await bob.next_presence(lambda p: p["from"] == jid("alice", "one") and p["type"] != "unavailable")
    expect(p["status"] == "invisible to bob", "current presence after unblock: %r" % p["status"])
    alice.drain()
    bob.send_message(mto=jid("alice", "one"), mbody="back", mtype="chat")
    m = await alice.next_message()
    expect(m["body"] == "back", "message after unblock")
    expect(await blocklist(alice) == [jid("carol")], "blocklist after unblock")

    # Unblock all: an empty push, empty list, carol gets through.
    await alice.plugin["xep_0191"].unblock([], timeout=TIMEOUT)
    op, items = await asyncio.wait_for(alice2.blocks.get(), TIMEOUT)
    expect(op == "unblock" and items == [], "unblock-all push: %s %s" % (op, items))
    expect(await blocklist(alice) == [], "blocklist after unblock all")
    carol.send_message(mto=jid("alice", "one"), mbody="carol here", mtype="chat")
    m = await alice.next_message()
    expect(m["body"] == "carol here", "carol after unblock all")

    for c in (alice, alice2, alice3, bob, carol):
        await c.stop()


if __name__ == "__main__":
    run(scenario)

"""Logins and logouts (RFC 6121 §3.1.3, §4.2–4.6, XEP-0237): a request to
an offline user is delivered when they log in; probes at login show the
contacts already online; a dropped TCP connection is seen as unavailable;
directed presence is followed by unavailable at logout; a second login
with the stored version gets an empty roster result."""
import asyncio

from common import expect, jid, run
from roster_lib import NS, Q, RosterClient, frm


async def login(user, res, presence=True):
    c = await RosterClient(jid(user, res), user + "-pw").start(presence=False)
    await c.items()
    if presence:
        c.send_presence()
        await asyncio.sleep(0.2)
    return c


async def scenario():
    # alice asks bob, who is offline; he gets the request at login, and
    # again at the next login while he has not answered.
    alice = await login("alice", "laptop")
    alice.send_presence(pto=jid("bob"), ptype="subscribe", pstatus="add me")
    await alice.next_push()
    bob = await login("bob", "desk")
    p = await bob.next_presence(frm(jid("alice"), "subscribe"))
    expect(p["status"] == "add me", "stored request keeps its status: %r" % p["status"])
    await bob.stop()
    bob = await login("bob", "desk")
    await bob.next_presence(frm(jid("alice"), "subscribe"))
    bob.send_presence(pto=jid("alice"), ptype="subscribed")
    await alice.next_presence(frm(jid("bob", "desk")))
    bob.send_presence(pto=jid("alice"), ptype="subscribe")
    await alice.next_presence(frm(jid("bob"), "subscribe"))
    alice.send_presence(pto=jid("bob"), ptype="subscribed")
    await bob.next_presence(frm(jid("alice", "laptop")))
    await bob.stop()

    # Probes: bob logs in after alice and sees her online at once.
    alice.drain()
    bob = await login("bob", "desk")
    p = await bob.next_presence(frm(jid("alice", "laptop")))
    expect(p["type"] in ("available", ""), "alice seen online at login: %s" % p["type"])
    await alice.next_presence(frm(jid("bob", "desk")))

    # A second resource of bob sees the first one.
    bob2 = await login("bob", "tablet")
    want = {jid("bob", "desk"), jid("alice", "laptop")}
    while want:
        p = await bob2.next_presence(lambda p: str(p["from"]) in want)
        want.discard(str(p["from"]))

    # TCP drop: alice sees bob's desk go unavailable.
    alice.drain()
    bob.transport.abort()
    await alice.next_presence(frm(jid("bob", "desk"), "unavailable"))
    await bob2.next_presence(frm(jid("bob", "desk"), "unavailable"))

    # Directed presence to carol (no subscription): she gets it, and gets
    # unavailable when alice logs out; she never gets the broadcasts.
    carol = await login("carol", "pc")
    alice.send_presence(pto=jid("carol"), pstatus="just for carol")
    p = await carol.next_presence(frm(jid("alice", "laptop")))
    expect(p["status"] == "just for carol", "directed presence: %r" % p["status"])
    alice.send_presence(pstatus="broadcast only")
    await carol.no_presence(frm(jid("alice")))

    # Versioning across logins: the version from this session makes the
    # next login's roster get an empty result.
    items, q = await alice.items(ver="")
    ver = q.get("ver")
    expect(jid("bob") in items and ver, "versioned roster with bob: %s" % list(items))
    await alice.stop()
    await carol.next_presence(frm(jid("alice", "laptop"), "unavailable"))
    await bob2.next_presence(frm(jid("alice", "laptop"), "unavailable"))

    alice = await RosterClient(jid("alice", "laptop"), "alice-pw").start(presence=False)
    resp, err = await alice.iq("get", "<query xmlns='%s' ver='%s'/>" % (NS, ver))
    expect(err is None and resp.find(Q + "query") is None, "second login with the version: empty result")
    await alice.no_push(0.5)

    for c in (alice, bob2, carol):
        await c.stop()


run(scenario)

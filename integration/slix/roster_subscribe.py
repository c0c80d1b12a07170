"""Subscriptions and presence between users (RFC 6121 §3–4): a full
handshake with presence flowing only after it, one direction at a time;
notes never reaching the contact; unsubscribe stopping presence;
pre-approval answered by the server; no presence leaked to a user without
a subscription; roster remove cancelling both directions."""
import asyncio

from common import expect, jid, run
from roster_lib import Q, RosterClient, frm


async def login(user, res):
    c = await RosterClient(jid(user, res), user + "-pw").start(presence=False)
    await c.items()
    c.send_presence()
    await asyncio.sleep(0.2)
    c.drain()
    return c


async def scenario():
    alice = await login("alice", "laptop")
    alice2 = await login("alice", "phone")
    bob = await login("bob", "desk")
    carol = await login("carol", "pc")

    # alice notes something about bob: her resources only ever see it.
    await alice.set_item(jid("bob"), name="Bob", note="secret about bob")
    await alice.next_push()
    await alice2.next_push()

    # alice asks bob: her roster shows ask='subscribe'; bob gets the request
    # from alice's bare JID, with her status text, and nothing else.
    alice.send_presence(pto=jid("bob"), ptype="subscribe", pstatus="hi bob")
    item, _ = await alice.next_push()
    expect(item.get("ask") == "subscribe" and item.get("subscription") == "none", "pending out: %s" % item.attrib)
    expect(item.findtext(Q + "note") == "secret about bob", "owner's pushes keep the note")
    await alice2.next_push()
    p = await bob.next_presence(frm(jid("alice"), "subscribe"))
    expect(str(p["from"]) == jid("alice"), "subscribe from the bare JID: %s" % p["from"])
    expect(p["status"] == "hi bob", "status travels with the request: %r" % p["status"])
    expect("secret" not in str(p), "the note never reaches the contact")
    await bob.no_push(0.3)

    # Before approval no presence flows either way.
    bob.send_presence(pstatus="bob here")
    await alice.no_presence(frm(jid("bob")))

    # bob approves: alice gets subscribed, a push to 'to', and bob's presence.
    bob.send_presence(pto=jid("alice"), ptype="subscribed")
    p = await alice.next_presence(frm(jid("bob"), "subscribed"))
    item, _ = await alice.next_push()
    expect(item.get("subscription") == "to" and item.get("ask") is None, "after approval: %s" % item.attrib)
    p = await alice.next_presence(frm(jid("bob")))
    expect(p["status"] == "bob here", "bob's current presence after approval: %r" % p["status"])
    await alice2.next_presence(frm(jid("bob")))
    item, _ = await bob.next_push()
    expect(item.get("jid") == jid("alice") and item.get("subscription") == "from", "bob's side: %s" % item.attrib)
    expect(item.find(Q + "note") is None, "bob's roster has no note of alice's")

    # Presence flows bob -> alice only: alice's own changes stay with her.
    bob.send_presence(pshow="away", pstatus="lunch")
    p = await alice.next_presence(frm(jid("bob")))
    expect(p["status"] == "lunch", "bob's update reaches alice: %r" % p["status"])
    await carol.no_presence(frm(jid("bob")), 0.3)
    alice.send_presence(pstatus="alice busy")
    await bob.no_presence(frm(jid("alice")))

    # bob subscribes back: both.
    bob.send_presence(pto=jid("alice"), ptype="subscribe")
    await alice.next_presence(frm(jid("bob"), "subscribe"))
    alice.send_presence(pto=jid("bob"), ptype="subscribed")
    p = await bob.next_presence(frm(jid("alice", "laptop")))
    # alice's presence now reaches bob, and never carol.
    alice.send_presence(pstatus="alice again")
    p = await bob.next_presence(frm(jid("alice", "laptop")))
    expect(p["status"] == "alice again", "alice's update reaches bob: %r" % p["status"])
    expect("secret" not in str(p), "no note in presence")
    await carol.no_presence(frm(jid("alice")), 0.3)
    alice.drain()
    bob.drain()

    # alice unsubscribes from bob: bob gets unsubscribe, alice sees bob go
    # offline, and bob's later presence no longer reaches her.
    alice.send_presence(pto=jid("bob"), ptype="unsubscribe")
    await bob.next_presence(frm(jid("alice"), "unsubscribe"))
    await alice.next_presence(frm(jid("bob", "desk"), "unavailable"))
    item, _ = await alice.next_push()
    expect(item.get("subscription") == "from", "alice keeps 'from': %s" % item.attrib)
    bob.send_presence(pstatus="anyone?")
    await alice.no_presence(frm(jid("bob")))
    # bob still gets alice's.
    alice.send_presence(pstatus="still here")
    await bob.next_presence(frm(jid("alice", "laptop")))

    # Pre-approval: carol approves dave before he asks; his request is
    # answered by the server and carol's clients never see it.
    await carol.items()
    carol.send_presence(pto=jid("dave"), ptype="subscribed")
    item, _ = await carol.next_push()
    expect(item.get("approved") == "true" and item.get("subscription") == "none", "pre-approved: %s" % item.attrib)
    dave = await login("dave", "x")
    dave.send_presence(pto=jid("carol"), ptype="subscribe")
    await dave.next_presence(frm(jid("carol"), "subscribed"))
    await dave.next_presence(frm(jid("carol", "pc")))
    await carol.no_presence(frm(jid("dave"), "subscribe"))
    item, _ = await carol.next_push()
    expect(item.get("subscription") == "from" and item.get("approved") is None, "carol after auto-approval: %s" % item.attrib)

    # Roster remove cancels what bob has: he is subscribed to alice ('to';
    # alice dropped her side), so alice gets unsubscribe and loses 'from'.
    bob.drain()
    await bob.iq("set", "<query xmlns='jabber:iq:roster'><item jid='%s' subscription='remove'/></query>" % jid("alice"))
    item, _ = await bob.next_push()
    expect(item.get("subscription") == "remove", "bob's removal push %s" % item.attrib)
    await alice.next_presence(frm(jid("bob"), "unsubscribe"))
    item, _ = await alice.next_push()
    expect(item.get("subscription") == "none", "alice after bob removed her: %s" % item.attrib)
    alice.send_presence(pstatus="bob gone")
    await bob.no_presence(frm(jid("alice")))

    for c in (alice, alice2, bob, carol, dave):
        await c.stop()


run(scenario)

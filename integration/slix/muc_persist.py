"""Persistent rooms across a restart (XEP-0045 §10.2, muc_persistent):
phase "before" creates a persistent room with a name, a member and a
subject, and a temporary room; everyone leaves. Phase "after" (the server
was restarted in between) finds the persistent room with its
configuration, affiliations and subject, the temporary one gone, and makes
the room temporary again so that it vanishes when empty."""
import asyncio
import sys

from common import expect, jid, run
from muc_lib import codes, configure, connect, is_presence, room

KEEP = room("keep")
TEMP = room("temp")


async def gone(c, r):
    resp, cond = await c.raw_iq("get", r, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    return cond == "item-not-found"


async def before():
    alice, bob, dave = await connect("alice", "bob", "dave")
    await alice.join(KEEP, "Alice")
    cond = await configure(alice, KEEP, persistentroom=True, roomname="Kept", roomdesc="survives restarts")
    expect(cond is None, "persistent: %s" % cond)
    await alice.muc.set_affiliation(KEEP, "member", jid=jid("bob"), timeout=10)
    alice.muc.set_subject(KEEP, "Still here")
    await alice.next(lambda e: e.get("from") == KEEP + "/Alice" and e.find("{jabber:client}subject") is not None, "subject")
    await alice.join(TEMP, "Alice")
    await alice.instant(TEMP)
    alice.muc.leave_muc(KEEP, "Alice")
    alice.muc.leave_muc(TEMP, "Alice")
    await alice.next(is_presence(TEMP + "/Alice", "unavailable"), "left")
    await asyncio.sleep(0.2)
    expect(not await gone(dave, KEEP), "persistent room stays when empty")
    expect(await gone(dave, TEMP), "temporary room vanishes when empty")
    for c in (alice, bob, dave):
        await c.stop()


async def after():
    alice, bob, dave = await connect("alice", "bob", "dave")
    info = await dave.plugin["xep_0030"].get_info(jid=KEEP, timeout=10)
    feats = info["disco_info"]["features"]
    expect("muc_persistent" in feats, "persistent after restart: %s" % feats)
    expect(any(i[3] == "Kept" for i in info["disco_info"]["identities"]), "name after restart")
    expect(await gone(dave, TEMP), "temporary room not restored")
    pres, subject, *_ = await bob.join(KEEP, "Bob")
    expect(pres["muc"]["affiliation"] == "member", "member after restart: %s" % pres["muc"]["affiliation"])
    expect(201 not in codes(pres.xml), "no 201 for a restored room")
    expect(subject["subject"] == "Still here", "subject after restart: %r" % subject["subject"])
    pres, *_ = await alice.join(KEEP, "Alice")
    expect(pres["muc"]["affiliation"] == "owner", "owner after restart")
    cond = await configure(alice, KEEP, persistentroom=False)
    expect(cond is None, "temporary again: %s" % cond)
    bob.muc.leave_muc(KEEP, "Bob")
    alice.muc.leave_muc(KEEP, "Alice")
    await alice.next(is_presence(KEEP + "/Alice", "unavailable"), "left")
    await asyncio.sleep(0.2)
    expect(await gone(dave, KEEP), "no longer persistent: gone when empty")
    for c in (alice, bob, dave):
        await c.stop()


async def still_gone():
    (dave,) = await connect("dave")
    expect(await gone(dave, KEEP), "a room made temporary is not restored")
    await dave.stop()


run({"before": before, "after": after, "gone": still_gone}[sys.argv[1]])

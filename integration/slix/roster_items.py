"""Roster get/set/remove (RFC 6121 §2), pushes to the user's other
resource, the errors of §2.3.3 and §2.5.3, notes (1 KiB limit, pushed to
the owner's resources), versioning (XEP-0237), concurrent edits from two
resources, and the notes disco feature."""
import asyncio

from common import DOMAIN, expect, jid, run
from roster_lib import NS, Q, RosterClient


async def scenario():
    laptop = await RosterClient(jid("alice", "laptop"), "alice-pw").start()
    phone = await RosterClient(jid("alice", "phone"), "alice-pw").start()
    items, _ = await laptop.items()
    expect(items == {}, "a new roster is empty: %s" % items)
    await phone.items()

    # Set with name, groups and a note: both resources get the push.
    _, err = await laptop.set_item(jid("bob"), name="Bobby", groups=["Work", "Friends"], note="plays ranked")
    expect(err is None, "set failed: %s" % err)
    for c in (laptop, phone):
        item, _ = await c.next_push()
        expect(item.get("jid") == jid("bob") and item.get("name") == "Bobby", "push item %s" % item.attrib)
        expect(item.get("subscription") == "none", "new item subscription %s" % item.get("subscription"))
        groups = sorted(g.text for g in item.findall(Q + "group"))
        expect(groups == ["Friends", "Work"], "push groups %s" % groups)
        expect(item.findtext(Q + "note") == "plays ranked", "push note %r" % item.findtext(Q + "note"))
    items, _ = await phone.items()
    expect(items[jid("bob")].findtext(Q + "note") == "plays ranked", "get shows the note")

    # A set without a note clears it; the name changes.
    _, err = await phone.set_item(jid("bob"), name="Bob")
    expect(err is None, "second set failed: %s" % err)
    item, _ = await laptop.next_push()
    expect(item.get("name") == "Bob" and item.find(Q + "note") is None, "note cleared, name changed: %s" % item.attrib)
    expect(item.findall(Q + "group") == [], "groups cleared by a set without groups")
    await phone.next_push()

    # Notes: 1 KiB of UTF-8 is fine, one byte more is not-acceptable.
    _, err = await laptop.set_item(jid("bob"), note="é" * 512)
    expect(err is None, "a 1024-byte note is accepted: %s" % err)
    item, _ = await laptop.next_push()
    expect(item.findtext(Q + "note") == "é" * 512, "long note round trip")
    await phone.next_push()
    _, err = await laptop.set_item(jid("bob"), note="é" * 512 + "x")
    expect(err == "not-acceptable", "a 1025-byte note: %s" % err)

    # The errors of §2.3.3.
    bad = [
        ("<query xmlns='%s'><item jid='%s'/><item jid='%s'/></query>" % (NS, jid("bob"), jid("carol")), "bad-request", "two items"),
        ("<query xmlns='%s'><item name='x'/></query>" % NS, "bad-request", "item without jid"),
        ("<query xmlns='%s'><item jid='a@b@c'/></query>" % NS, "bad-request", "invalid jid"),
        ("<query xmlns='%s'><item jid='%s'><group>G</group><group>G</group></item></query>" % (NS, jid("bob")), "bad-request", "duplicate groups"),
        ("<query xmlns='%s'><item jid='%s'><group></group></item></query>" % (NS, jid("bob")), "not-acceptable", "empty group"),
        ("<query xmlns='%s'><item jid='%s' name='%s'/></query>" % (NS, jid("bob"), "n" * 2000), "not-acceptable", "name too long"),
        ("<query xmlns='%s'><item jid='%s'/></query>" % (NS, jid("alice")), "not-allowed", "own JID"),
        ("<query xmlns='%s'><item jid='%s' subscription='remove'/></query>" % (NS, jid("nobody")), "item-not-found", "remove unknown"),
    ]
    for q, want, what in bad:
        _, err = await laptop.iq("set", q)
        expect(err == want, "%s: got %s, want %s" % (what, err, want))
    _, err = await laptop.iq("get", "<query xmlns='%s'/>" % NS, to=jid("bob"))
    expect(err == "forbidden", "roster get of another user: %s" % err)
    _, err = await laptop.iq("set", "<query xmlns='%s'><item jid='%s'/></query>" % (NS, jid("carol")), to=jid("bob"))
    expect(err == "forbidden", "roster set for another user: %s" % err)
    await phone.no_push(0.3)

    # Versioning: a get with ver='' gets the roster and a version; the
    # same version again gets an empty result.
    items, q = await laptop.items(ver="")
    ver = q.get("ver")
    expect(ver, "versioned result carries ver")
    expect(list(items) == [jid("bob")], "roster %s" % list(items))
    resp, err = await laptop.iq("get", "<query xmlns='%s' ver='%s'/>" % (NS, ver))
    expect(err is None and resp.find(Q + "query") is None, "unchanged roster: empty result")

    # A change from the other resource, then a get with the old version:
    # an empty result followed by the change as a push carrying the new ver.
    await phone.set_item(jid("carol"), name="Carol")
    await laptop.next_push()
    await phone.next_push()
    resp, err = await laptop.iq("get", "<query xmlns='%s' ver='%s'/>" % (NS, ver))
    expect(err is None, "incremental get: %s" % err)
    if resp.find(Q + "query") is None:
        # Pushes follow, oldest change first; each carries a version and
        # the last one the roster's current version.
        seen = []
        while True:
            item, newver = await laptop.next_push()
            seen.append(item.get("jid"))
            expect(newver, "an incremental push carries a version")
            if not newver.endswith("-x"):
                break
        expect(seen[-1] == jid("carol"), "the newest change comes last: %s" % seen)
        expect(newver != ver, "the last push carries the new version %r" % newver)
        _, q = await laptop.items(ver=newver)
        expect(q is None, "the pushed version is current")
    else:
        expect(len(resp.find(Q + "query").findall(Q + "item")) == 2, "full roster instead")

    # Remove: pushed with subscription='remove'.
    _, err = await laptop.iq("set", "<query xmlns='%s'><item jid='%s' subscription='remove'/></query>" % (NS, jid("carol")))
    expect(err is None, "remove: %s" % err)
    item, _ = await phone.next_push()
    expect(item.get("jid") == jid("carol") and item.get("subscription") == "remove", "remove push %s" % item.attrib)
    await laptop.next_push()

    # Concurrent edits from two resources lose nothing.
    async def add(c, prefix, n):
        for i in range(n):
            _, err = await c.set_item("%s%d@example.net" % (prefix, i))
            expect(err is None, "concurrent add: %s" % err)
    await asyncio.gather(add(laptop, "l", 15), add(phone, "p", 15))
    items, _ = await laptop.items()
    missing = [j for j in ["l%d@example.net" % i for i in range(15)] + ["p%d@example.net" % i for i in range(15)] if j not in items]
    expect(not missing, "lost concurrent adds: %s" % missing)

    # Disco advertises notes on the server and the account.
    for target in (DOMAIN, jid("alice")):
        info = await laptop["xep_0030"].get_info(jid=target)
        expect("urn:xmppd:roster-notes:0" in info["disco_info"]["features"], "notes feature on %s" % target)

    await laptop.stop()
    await phone.stop()


run(scenario)

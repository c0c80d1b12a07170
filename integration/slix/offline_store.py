"""XEP-0160 offline storage: what is stored for an offline user and what
is not, delivery in order with delay stamps at the next login, the disco
feature, and errors for what is refused."""
import asyncio

from common import DOMAIN, condition, expect, jid, run
from offline_lib import OfflineClient, check_delay, utcnow

CHATSTATE = "<composing xmlns='http://jabber.org/protocol/chatstates'/>"


async def scenario():
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()

    info = await alice["xep_0030"].get_info(jid=DOMAIN)
    feats = info["disco_info"]["features"]
    expect("msgoffline" in feats, "msgoffline missing from server features %s" % feats)

    t0 = utcnow()
    for i in (1, 2, 3):
        alice.send_raw_message(jid("bob"), "m%d" % i, body="offline %d" % i)
    # A headline is never stored (RFC 6121 §8.5.2.2.1).
    alice.send_raw_message(jid("bob"), "h1", mtype="headline", body="news")
    # A chat to a full JID of an offline user is stored like one to the bare JID.
    alice.send_raw_message(jid("bob", "gone"), "m4", body="to a full JID")
    # A standalone chat state is not stored (XEP-0085, XEP-0160 §3).
    alice.send_raw_message(jid("bob"), "cs1", extra=[CHATSTATE])
    # ...unless the sender asks for it (XEP-0334 <store/>).
    alice.send_raw_message(jid("bob"), "cs2", extra=[CHATSTATE, "<store xmlns='urn:xmpp:hints'/>"])
    # <no-store/> is respected, and the sender is told.
    alice.send_raw_message(jid("bob"), "ns1", body="not for storage", extra=["<no-store xmlns='urn:xmpp:hints'/>"])
    # A normal message (no type) is stored too.
    alice.send_raw_message(jid("bob"), "m5", mtype="normal", body="normal one")
    await alice.sync()

    err = await alice.next_error()
    expect(err["id"] == "ns1" and condition(err) == "service-unavailable",
           "no-store answered %s %s, want ns1 service-unavailable" % (err["id"], condition(err)))
    await alice.no_error()

    bob = await OfflineClient(jid("bob", "phone"), "bob-pw").start()
    got = await bob.collect(6)
    ids = [m["id"] for m in got]
    expect(ids == ["m1", "m2", "m3", "m4", "cs2", "m5"], "delivered %s, want m1 m2 m3 m4 cs2 m5 in order" % ids)
    for m in got:
        check_delay(m, t0)
        expect(str(m["from"]) == jid("alice", "laptop"), "%s from %s" % (m["id"], m["from"]))
    expect(got[0]["body"] == "offline 1" and got[3]["body"] == "to a full JID", "bodies %r %r" % (got[0]["body"], got[3]["body"]))
    expect(got[4].xml.find("{http://jabber.org/protocol/chatstates}composing") is not None, "cs2 lost its chat state")
    await bob.nothing_more()

    # Now bob is online: live messages carry no offline delay, and nothing
    # is stored for him any more.
    alice.send_raw_message(jid("bob"), "live", body="live")
    m = (await bob.collect(1))[0]
    expect(m["id"] == "live" and m.xml.find("{urn:xmpp:delay}delay") is None, "live message %s" % m)

    # A second login of bob later finds nothing left.
    await bob.stop()
    bob2 = await OfflineClient(jid("bob", "tablet"), "bob-pw").start()
    await bob2.nothing_more()
    await bob2.stop()
    await alice.stop()


run(scenario)

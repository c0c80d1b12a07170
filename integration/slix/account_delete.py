"""Deleting an account removes everything of it.

usage: account_delete.py setup|verify

setup: alice and bob become mutual contacts, alice publishes a vCard and
logs out, bob sends her a message that waits offline.
verify (after alice was deleted and created again): the new alice has an
empty roster, no offline message and no vCard; bob's roster still lists
alice but with no subscription (the server unsubscribed both ways).
"""
import asyncio
import sys

from common import Client, TIMEOUT, expect, jid, run
from slixmpp.exceptions import IqError

PLUGINS = ("xep_0030", "xep_0199", "xep_0054")


async def subscription(c, who):
    await c.get_roster()
    return c.client_roster[who]["subscription"] if who in c.client_roster else None


async def setup():
    bob = await Client(jid("bob", "b"), "bob-pw", plugins=PLUGINS).start()
    alice = await Client(jid("alice", "a"), "alice-pw", plugins=PLUGINS).start()
    alice.send_presence(pto=jid("bob"), ptype="subscribe")
    for _ in range(50):
        if await subscription(alice, jid("bob")) == "both" and await subscription(bob, jid("alice")) == "both":
            break
        await asyncio.sleep(0.2)
    expect(await subscription(alice, jid("bob")) == "both", "alice-bob subscription: %s" % await subscription(alice, jid("bob")))
    card = alice.plugin["xep_0054"].make_vcard()
    card["FN"] = "Alice Original"
    await alice.plugin["xep_0054"].publish_vcard(card, timeout=TIMEOUT)
    await alice.stop()
    await asyncio.sleep(0.3)
    bob.send_message(mto=jid("alice"), mbody="for the old alice", mtype="chat")
    await bob.stop()
    print("alice has a roster item, a vCard and an offline message")


async def verify():
    alice = Client(jid("alice", "a"), "new-pw", plugins=PLUGINS)
    await alice.start()
    await alice.get_roster()
    # slixmpp lists the user's own JID in its roster object.
    items = [j for j in alice.client_roster.keys() if j != jid("alice")]
    expect(items == [], "new alice's roster: %s" % items)
    await alice.no_message(wait=1.5)
    try:
        res = await alice.plugin["xep_0054"].get_vcard(jid("alice"), local=False, cached=False, timeout=TIMEOUT)
        fn = res["vcard_temp"]["FN"]
        expect(fn == "", "new alice's vCard has FN %r" % fn)
    except IqError as e:
        expect(e.iq["error"]["condition"] == "item-not-found", "vCard get: %s" % e.iq["error"]["condition"])
    await alice.stop()
    bob = await Client(jid("bob", "b"), "bob-pw", plugins=PLUGINS).start()
    sub = await subscription(bob, jid("alice"))
    expect(sub in (None, "none"), "bob's subscription with the deleted alice: %s" % sub)
    await bob.stop()
    print("new alice starts empty; bob's subscription is gone")


run({"setup": setup, "verify": verify}[sys.argv[1]])

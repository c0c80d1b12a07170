"""XEP-0016 privacy lists and xmppd's incremental updates, on the wire:
create, get, activate and default lists; a deny rule blocking one stanza
kind only (messages get service-unavailable, presence vanishes); the
decline and conflict rules; list pushes to every resource; <add/> and
<remove/> changing routing at once; item-not-found and bad-request."""
import asyncio

from common import expect, jid, run, condition
from privacy_lib import PrivacyClient, elem, item, no_presence_from


async def login(user, res):
    c = await PrivacyClient(jid(user, res), user + "-pw").start()
    await asyncio.sleep(0.2)
    c.drain()
    return c


async def message_blocked(sender, to, body):
    sender.send_message(mto=to, mbody=body, mtype="chat")
    err = await sender.next_error()
    expect(condition(err) == "service-unavailable", "blocked message %r: %s" % (body, err))


async def delivered(sender, rcpt, to, body):
    sender.send_message(mto=to, mbody=body, mtype="chat")
    m = await rcpt.next_message()
    expect(m["body"] == body, "expected %r, got %r" % (body, m["body"]))


async def scenario():
    a1 = await login("alice", "one")
    a2 = await login("alice", "two")
    bob = await login("bob", "desk")
    carol = await login("carol", "pc")

    info = await a1.plugin["xep_0030"].get_info(jid=a1.boundjid.domain)
    feats = info["disco_info"]["features"]
    for f in ("jabber:iq:privacy", "urn:xmppd:privacy-incremental:0", "urn:xmpp:blocking"):
        expect(f in feats, "disco feature %s missing: %s" % (f, feats))

    q = await a1.ok("get")
    expect(len(list(q)) == 0, "no lists yet: %s" % list(q))

    # A list that denies bob's messages only; both resources get the push.
    await a1.ok("set", elem("list", "nomsg", item(1, value=jid("bob"), kinds=("message",))))
    for r in (a1, a2):
        expect(await r.next_push() == "nomsg", "list push to %s" % r.boundjid)
    q = await a1.ok("get", elem("list", "nomsg"))
    items = q.findall("{jabber:iq:privacy}list/{jabber:iq:privacy}item")
    expect(len(items) == 1 and items[0].get("value") == jid("bob") and items[0].get("action") == "deny"
           and items[0].find("{jabber:iq:privacy}message") is not None, "stored list: %s" % items)

    # Errors of get and set.
    expect(await a1.err("get", elem("list", "nomsg"), elem("list", "other")) == "bad-request", "two lists in one get")
    expect(await a1.err("get", elem("list", "missing")) == "item-not-found", "get of an unknown list")
    expect(await a1.err("set", elem("active", "missing")) == "item-not-found", "activate an unknown list")
    expect(await a1.err("set", elem("default", "missing")) == "item-not-found", "default an unknown list")
    expect(await a1.err("set", elem("active", "nomsg"), elem("default", "nomsg")) == "bad-request", "two children in a set")
    expect(await a1.err("set", elem("list", "dup", item(1, value=jid("x")), item(1, value=jid("y")))) == "bad-request",
           "duplicate orders")
    expect(await a1.err("set", elem("list", "bad", item(1, action="maybe", value=jid("x")))) == "bad-request", "bad action")
    expect(await a1.err("set", elem("list", "bad", item("x1", value=jid("x")))) == "bad-request", "bad order")
    expect(await a1.err("set", elem("list", "bad", item(1, typ="subscription", value="sometimes"))) == "bad-request",
           "bad subscription value")

    # Active on one: bob's messages to alice/one bounce, presence and
    # others' messages still arrive; alice/two is not affected.
    await a1.ok("set", elem("active", "nomsg"))
    q = await a1.ok("get")
    expect(q.find("{jabber:iq:privacy}active").get("name") == "nomsg", "get names shows the active list")
    await message_blocked(bob, jid("alice", "one"), "blocked")
    await a1.no_message()
    bob.send_presence(pto=jid("alice", "one"), pstatus="bob says hi")
    p = await a1.next_presence(lambda p: p["from"].bare == jid("bob"))
    expect(p["status"] == "bob says hi", "presence is not blocked by a message rule")
    await delivered(carol, a1, jid("alice", "one"), "from carol")
    await delivered(bob, a2, jid("alice", "two"), "to the other resource")

    # Incremental: add carol, at once blocked; both resources get the push.
    await a1.ok("set", elem("add", "nomsg", item(2, value=jid("carol"))))
    for r in (a1, a2):
        expect(await r.next_push() == "nomsg", "incremental push to %s" % r.boundjid)
    await message_blocked(carol, jid("alice", "one"), "carol blocked")
    q = await a1.ok("get", elem("list", "nomsg"))
    values = sorted(i.get("value") for i in q.iter("{jabber:iq:privacy}item"))
    expect(values == [jid("bob"), jid("carol")], "list after add: %s" % values)
    # ...and removing her lets her through again at once.
    rm = elem("remove", "nomsg")
    rm.append(item_value(jid("carol")))
    await a1.ok("set", rm)
    expect(await a2.next_push() == "nomsg", "push after remove")
    await delivered(carol, a1, jid("alice", "one"), "carol again")

    # Several edits in one IQ, atomically: an unknown list fails them all.
    bad = elem("remove", "nosuchlist")
    bad.append(item_value(jid("bob")))
    expect(await a1.err("set", elem("add", "nomsg", item(3, value=jid("dave"))), bad) == "item-not-found",
           "remove from an unknown list")
    q = await a1.ok("get", elem("list", "nomsg"))
    expect(jid("dave") not in [i.get("value") for i in q.iter("{jabber:iq:privacy}item")], "nothing applied on error")
    expect(await a1.err("set", elem("add", "nomsg", item(4, action="maybe", value=jid("dave")))) == "bad-request",
           "malformed item in add")
    expect(await a1.err("set", elem("add", "nomsg", item(1, value=jid("dave")))) == "bad-request",
           "add with an order already taken")
    # An add creates its list.
    await a1.ok("set", elem("add", "fresh", item(1, value=jid("dave"))))
    q = await a1.ok("get")
    names = [l.get("name") for l in q.findall("{jabber:iq:privacy}list")]
    expect("fresh" in names and "nomsg" in names, "lists: %s" % names)

    # Default: alice/two has no active list, so the default applies to it.
    await a1.ok("set", elem("default", "nomsg"))
    await message_blocked(bob, jid("alice", "two"), "blocked by default")
    # Conflicts: declining the default or removing it while alice/two uses it.
    expect(await a1.err("set", elem("default")) == "conflict", "decline a default in use elsewhere")
    expect(await a1.err("set", elem("list", "nomsg")) == "conflict", "remove a list in use elsewhere")
    # Declining the active list on one is fine; the default then applies.
    await a1.ok("set", elem("active"))
    await message_blocked(bob, jid("alice", "one"), "default after decline")
    # alice/two activates another list: now the default can go.
    await a2.ok("set", elem("active", "fresh"))
    await delivered(bob, a2, jid("alice", "two"), "fresh allows bob")
    await a1.ok("set", elem("default"))
    await delivered(bob, a1, jid("alice", "one"), "no default any more")

    # presence-in only: directed presence from bob vanishes, messages pass.
    await a1.ok("set", elem("list", "nopres", item(5, value=jid("bob"), kinds=("presence-in",))))
    await a1.ok("set", elem("active", "nopres"))
    a1.drain()
    bob.send_presence(pto=jid("alice", "one"), pstatus="hidden")
    await no_presence_from(a1, jid("bob"))
    await bob.no_error(0.3)
    await delivered(bob, a1, jid("alice", "one"), "messages still pass")

    # Removing a list used only by the sender is allowed.
    await a1.ok("set", elem("active"))
    await a1.ok("set", elem("list", "nopres"))
    expect(await a1.err("get", elem("list", "nopres")) == "item-not-found", "removed list is gone")

    for c in (a1, a2, bob, carol):
        await c.stop()


def item_value(value, typ=None):
    import xml.etree.ElementTree as ET
    el = ET.Element("{jabber:iq:privacy}item", {"value": value})
    if typ:
        el.set("type", typ)
    return el


if __name__ == "__main__":
    run(scenario)

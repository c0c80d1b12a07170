"""XEP-0280 message carbons with slixmpp's xep_0280 plugin.

usage: carbons.py CASE, CASE one of CASES; accounts are CASE-named.
"""
import asyncio
import sys

from common import Client, DOMAIN, expect, iq_error, jid, quiet, run

case = sys.argv[1]
PLUGINS = ("xep_0030", "xep_0199", "xep_0280", "xep_0334")


def user(name):
    return "%s-%s" % (case, name)


def carbon_client(name, resource):
    c = Client(jid(user(name), resource), "pw", plugins=PLUGINS)
    c.received = asyncio.Queue()
    c.sent = asyncio.Queue()
    c.add_event_handler("carbon_received", c.received.put_nowait)
    c.add_event_handler("carbon_sent", c.sent.put_nowait)
    return c


async def next_copy(queue):
    return await asyncio.wait_for(queue.get(), 10)


async def copies():
    """Received and sent copies go to the other carbons-enabled resources,
    wrapped and from the bare JID, never to the addressed or sending one
    nor to resources without carbons."""
    info = await (await Client(jid(user("bob"), "probe"), "pw").start())["xep_0030"].get_info(DOMAIN, timeout=5)
    expect("urn:xmpp:carbons:2" in info["disco_info"]["features"], "carbons not advertised")
    one = await carbon_client("alice", "one").start()
    two = await carbon_client("alice", "two").start()
    plain = await carbon_client("alice", "plain").start()
    for c in (one, two):
        await c["xep_0280"].enable(timeout=5)
    await one["xep_0280"].enable(timeout=5)  # enabling twice is fine
    bob = await Client(jid(user("bob"), "pc"), "pw").start()

    bob.send_message(mto=jid(user("alice"), "one"), mbody="to one", mtype="chat")
    m = await one.next_message()
    expect(m["body"] == "to one", "one got %r" % m["body"])
    c = await next_copy(two.received)
    expect(str(c["from"]) == jid(user("alice")), "copy from %s" % c["from"])
    expect(str(c["to"]) == jid(user("alice"), "two"), "copy to %s" % c["to"])
    fwd = c["carbon_received"]
    expect(fwd["body"] == "to one" and str(fwd["from"]) == jid(user("bob"), "pc"), "forwarded %s" % fwd)
    await quiet(one.received, 0.5, "received copy at the addressed resource")
    await quiet(plain.received, 0.1, "received copy without carbons")
    await plain.no_message(0.1)

    one.send_message(mto=jid(user("bob"), "pc"), mbody="from one", mtype="chat")
    await bob.next_message()
    c = await next_copy(two.sent)
    fwd = c["carbon_sent"]
    expect(fwd["body"] == "from one" and str(fwd["to"]) == jid(user("bob"), "pc"), "sent copy %s" % fwd)
    await quiet(one.sent, 0.5, "sent copy at the sender")
    await quiet(plain.sent, 0.1, "sent copy without carbons")

    # Normal messages with a body are copied; groupchat-less headlines are not.
    bob.send_message(mto=jid(user("alice"), "one"), mbody="normal", mtype="normal")
    c = await next_copy(two.received)
    expect(c["carbon_received"]["body"] == "normal", "normal copy %s" % c)
    bob.send_message(mto=jid(user("alice"), "one"), mbody="headline", mtype="headline")
    await one.next_message()
    await quiet(two.received, 0.5, "copy of a headline")

    # Disabled: no more copies.
    await two["xep_0280"].disable(timeout=5)
    bob.send_message(mto=jid(user("alice"), "one"), mbody="after disable", mtype="chat")
    await one.next_message()
    await quiet(two.received, 0.5, "copy after disable")
    for c in (one, two, plain, bob):
        await c.stop()


async def private():
    """<private/> and the no-copy hint keep a message out of carbons, sent
    or received."""
    one = await carbon_client("alice", "one").start()
    two = await carbon_client("alice", "two").start()
    for c in (one, two):
        await c["xep_0280"].enable(timeout=5)
    bob = await Client(jid(user("bob"), "pc"), "pw", plugins=PLUGINS).start()

    m = one.make_message(mto=jid(user("bob"), "pc"), mbody="private", mtype="chat")
    m.enable("carbon_private")
    m.send()
    got = await bob.next_message()
    # §6: the server removes <private/> from the original it delivers.
    expect(got.xml.find("{urn:xmpp:carbons:2}private") is None, "delivered with <private/>: %s" % got)
    m = bob.make_message(mto=jid(user("alice"), "one"), mbody="private in", mtype="chat")
    m.enable("carbon_private")
    m.send()
    got = await one.next_message()
    expect(got["body"] == "private in", "one got %r" % got["body"])
    expect(got.xml.find("{urn:xmpp:carbons:2}private") is None, "delivered with <private/>: %s" % got)
    await quiet(two.received, 0.5, "received copy of a private message")
    m = bob.make_message(mto=jid(user("alice"), "one"), mbody="no copy", mtype="chat")
    m["no-copy"] = True
    m.send()
    await one.next_message()
    await quiet(two.sent, 0.5, "sent copy of a private message")
    await quiet(two.received, 0.3, "received copy of a no-copy message")
    # An ordinary message still is.
    bob.send_message(mto=jid(user("alice"), "one"), mbody="plain", mtype="chat")
    c = await next_copy(two.received)
    expect(c["carbon_received"]["body"] == "plain", "copy %s" % c)
    for c in (one, two, bob):
        await c.stop()


async def bare():
    """A message to the bare JID reaches the highest-priority resource; the
    other carbons-enabled ones get a received copy."""
    hi = await carbon_client("alice", "hi").start(priority=5)
    lo = await carbon_client("alice", "lo").start(priority=1)
    for c in (hi, lo):
        await c["xep_0280"].enable(timeout=5)
    bob = await Client(jid(user("bob"), "pc"), "pw").start()
    bob.send_message(mto=jid(user("alice")), mbody="to the bare JID", mtype="chat")
    m = await hi.next_message()
    expect(m["body"] == "to the bare JID", "hi got %r" % m["body"])
    c = await next_copy(lo.received)
    expect(c["carbon_received"]["body"] == "to the bare JID", "copy %s" % c)
    await lo.no_message(0.3)
    await quiet(hi.received, 0.3, "copy at the resource that got the message")
    # Bad requests: a get is refused.
    iq = hi.make_iq_get(queryxmlns=None)
    iq.enable("carbon_enable")
    cond = await iq_error(iq)
    expect(cond == "bad-request", "carbons get: %s" % cond)
    for c in (hi, lo, bob):
        await c.stop()


CASES = {f.__name__: f for f in (copies, private, bare)}

if case not in CASES:
    raise SystemExit("unknown case %r" % case)
run(CASES[case])

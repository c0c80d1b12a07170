"""Resource binding and presence among one's own resources.

usage: sessions.py CASE, CASE one of CASES; accounts are CASE-named.
"""
import asyncio
import sys

from common import Client, DOMAIN, expect, jid, run

case = sys.argv[1]


def user(name):
    return "%s-%s" % (case, name)


async def conflict():
    """RFC 6120 §7.7.2.2: binding a full JID that is in use closes the
    older session with a <conflict/> stream error; the new one works."""
    first = await Client(jid(user("alice"), "same"), "pw").start()
    second = await Client(jid(user("alice"), "same"), "pw").start()
    expect(str(second.boundjid) == jid(user("alice"), "same"), "second bound %s" % second.boundjid)
    await asyncio.wait_for(first.gone.wait(), 10)
    expect(first.stream_errors == ["conflict"], "first session's stream errors: %s" % first.stream_errors)
    expect(second.stream_errors == [], "second session's stream errors: %s" % second.stream_errors)
    await second["xep_0199"].ping(DOMAIN, timeout=5)
    # Messages to the full JID now reach the new session.
    other = await Client(jid(user("bob"), "b"), "pw").start()
    other.send_message(mto=jid(user("alice"), "same"), mbody="to the new one", mtype="chat")
    m = await second.next_message()
    expect(m["body"] == "to the new one", "body %r" % m["body"])
    await second.stop()
    await other.stop()


async def generated_resource():
    """RFC 6120 §7.6: with no resource requested the server makes one up,
    different for every session."""
    a = await Client(jid(user("alice")), "pw").start(presence=False)
    b = await Client(jid(user("alice")), "pw").start(presence=False)
    for c in (a, b):
        expect(c.boundjid.bare == jid(user("alice")), "bound bare JID %s" % c.boundjid.bare)
        expect(c.boundjid.resource != "", "no resource generated: %s" % c.boundjid)
    expect(a.boundjid.resource != b.boundjid.resource,
           "two sessions got the same resource %s" % a.boundjid.resource)
    # Both are real, separately addressable sessions.
    await a["xep_0199"].ping(b.boundjid, timeout=5)
    await b["xep_0199"].ping(a.boundjid, timeout=5)
    await a.stop()
    await b.stop()


async def own_presence():
    """RFC 6121 §4.2.2, §4.5.2: a resource coming online gets the presence
    of the user's other available resources and they get its presence;
    when it disconnects without saying goodbye, they get unavailable."""
    one = await Client(jid(user("alice"), "one"), "pw").start(priority=3)
    p = await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "one"))
    expect(p["type"] == "available", "own echo type %s" % p["type"])

    two = Client(jid(user("alice"), "two"), "pw")
    await two.start(priority=7)
    p = await two.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "one"))
    expect(p["type"] == "available" and p["priority"] == 3, "two saw one as %s/%s" % (p["type"], p["priority"]))
    p = await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "two"))
    expect(p["type"] == "available" and p["priority"] == 7, "one saw two as %s/%s" % (p["type"], p["priority"]))

    # A status change is broadcast too.
    two.send_presence(pshow="away", pstatus="lunch", ppriority=7)
    p = await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "two"))
    expect(p["show"] == "away" and p["status"] == "lunch", "status change seen as %s/%s" % (p["show"], p["status"]))

    # Abrupt disconnect (no unavailable presence, no </stream>).
    two.transport.abort()
    p = await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "two"))
    expect(p["type"] == "unavailable", "after disconnect one saw two as %s" % p["type"])

    # A clean goodbye is also passed on.
    three = await Client(jid(user("alice"), "three"), "pw").start()
    await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "three") and p["type"] == "available")
    await three.stop()
    p = await one.next_presence(lambda p: str(p["from"]) == jid(user("alice"), "three"))
    expect(p["type"] == "unavailable", "after logout one saw three as %s" % p["type"])
    await one.stop()


CASES = {f.__name__: f for f in (conflict, generated_resource, own_presence)}

if case not in CASES:
    raise SystemExit("unknown case %r" % case)
run(CASES[case])

"""Message and IQ routing by the rules of RFC 6121 §8 (and RFC 6120 §10).

usage: routing.py CASE, where CASE is one of the functions in CASES. Each
case uses its own accounts (CASE-named), so cases can share a server.
"""
import asyncio
import sys

from common import Client, DOMAIN, Failed, condition, expect, iq_error, jid, run

case = sys.argv[1]


def user(name):
    return "%s-%s" % (case, name)


async def login(name, resource, priority=None, presence=True, password="pw"):
    c = Client(jid(user(name), resource), password)
    return await c.start(presence=presence, priority=priority)


async def settle(*clients):
    """Let presence reach the server: a ping round trip from each client
    is ordered after the presence it sent on the same stream."""
    for c in clients:
        await c["xep_0199"].ping(DOMAIN, timeout=5)


async def got(c, body, mtype=None):
    m = await c.next_message()
    expect(m["body"] == body, "%s got %r, want %r" % (c.boundjid, m["body"], body))
    if mtype is not None:
        expect(m["type"] == mtype, "%s got type %r, want %r" % (c.boundjid, m["type"], mtype))
    return m


async def nothing(*clients):
    await asyncio.gather(*(c.no_message() for c in clients))


async def error_back(c, want, body, sent_to=None):
    """The next error message must be the bounce of the message with body
    (sent to sent_to, when given: the bounce comes from there)."""
    e = await c.next_error()
    expect(condition(e) == want, "error %r for %r, want %r" % (condition(e), body, want))
    expect(e["body"] == body, "error carries body %r, want %r" % (e["body"], body))
    expect(sent_to is None or str(e["from"]) == sent_to, "bounce from %s, want %s" % (e["from"], sent_to))
    # The body of the bounce was queued on messages too: drop it.
    m = await c.next_message()
    expect(m["type"] == "error", "unexpected message %s" % m)


async def priorities():
    """Bare-JID chat/normal go to the highest non-negative priority only;
    headline to every non-negative one; negative priority and bound-but-
    unavailable resources get nothing sent to the bare JID, yet full-JID
    messages reach them."""
    alice = await login("alice", "a")
    hi1 = await login("bob", "hi1", priority=5)
    hi2 = await login("bob", "hi2", priority=5)
    lo = await login("bob", "lo", priority=1)
    neg = await login("bob", "neg", priority=-1)
    quiet = await login("bob", "quiet", presence=False)
    await settle(hi1, hi2, lo, neg, quiet)
    for c in (hi1, hi2, lo, neg, quiet):
        await c.no_message(0.1)  # nothing stray so far
    bob = jid(user("bob"))

    for mtype in ("chat", "normal"):
        body = "bare %s" % mtype
        alice.send_message(mto=bob, mbody=body, mtype=mtype)
        await got(hi1, body)
        await got(hi2, body)
    await nothing(lo, neg, quiet)

    alice.send_message(mto=bob, mbody="news", mtype="headline")
    for c in (hi1, hi2, lo):
        await got(c, "news", "headline")
    await nothing(neg, quiet)

    for c, res in ((neg, "neg"), (quiet, "quiet"), (lo, "lo")):
        body = "direct to %s" % res
        alice.send_message(mto=jid(user("bob"), res), mbody=body, mtype="chat")
        await got(c, body)
    await nothing(hi1, hi2, lo, neg, quiet)
    await alice.no_error(0.1)

    # The highest priority leaves: bare-JID chat now goes to the next one.
    await hi1.stop()
    await hi2.stop()
    await settle(alice)
    alice.send_message(mto=bob, mbody="to lo", mtype="chat")
    await got(lo, "to lo")
    await nothing(neg, quiet)


async def unavailable_full_jid():
    """RFC 6121 §8.5.3.2.1: chat and normal to a full JID with no such
    resource are treated as sent to the bare JID; groupchat gets
    service-unavailable; headline is dropped. §8.5.3.2.3: an IQ request
    gets service-unavailable."""
    alice = await login("alice", "a")
    b1 = await login("bob", "b1", priority=2)
    await settle(b1)
    gone = jid(user("bob"), "gone")
    for mtype in ("chat", "normal"):
        body = "fallback %s" % mtype
        alice.send_message(mto=gone, mbody=body, mtype=mtype)
        await got(b1, body)
    alice.send_message(mto=gone, mbody="gc full", mtype="groupchat")
    await error_back(alice, "service-unavailable", "gc full")
    alice.send_message(mto=jid(user("bob")), mbody="gc bare", mtype="groupchat")
    await error_back(alice, "service-unavailable", "gc bare")
    alice.send_message(mto=gone, mbody="headline", mtype="headline")
    await nothing(b1, alice)

    req = alice.Iq(stype="get", sto=gone)
    req.enable("software_version")
    cond = await iq_error(req)
    expect(cond == "service-unavailable", "IQ get to %s: %r, want service-unavailable" % (gone, cond))


async def offline():
    """Chat and normal messages to a user with no available resource are
    stored offline (no error, RFC 6121 §8.5.2.2.1) and delivered at the
    next available presence; a user that does not exist, the server and
    another domain answer with errors; messages of type error are never
    answered (RFC 6120 §8.3.1)."""
    alice = await login("alice", "a")
    # carol is bound but has sent no presence: not available either.
    carol = await login("carol", "c", presence=False)
    await settle(carol)
    stored = [jid(user("bob")), jid(user("bob"), "phone"), jid(user("carol"))]
    for to in stored:
        for mtype in ("chat", "normal"):
            alice.send_message(mto=to, mbody="to %s (%s)" % (to, mtype), mtype=mtype)
    await alice.no_error(1.0)
    await carol.no_message(0.1)
    carol.send_presence()
    got = [(await carol.next_message())["body"] for _ in range(2)]
    want = ["to %s (chat)" % jid(user("carol")), "to %s (normal)" % jid(user("carol"))]
    expect(got == want, "carol's stored messages at presence: %r, want %r" % (got, want))

    errors = [
        (jid(user("nobody")), "service-unavailable"),
        ("someone@elsewhere.example", "remote-server-not-found"),
        ("elsewhere.example", "remote-server-not-found"),
        (DOMAIN, "service-unavailable"),  # the server has no message service
    ]
    for to, want in errors:
        for mtype in ("chat", "normal"):
            body = "to %s (%s)" % (to, mtype)
            alice.send_message(mto=to, mbody=body, mtype=mtype)
            await error_back(alice, want, body, sent_to=to)

    # Error stanzas are never bounced, nor stored.
    for to in stored + [to for to, _ in errors]:
        m = alice.make_message(mto=to, mbody="an error", mtype="error")
        m["error"]["condition"] = "item-not-found"
        m["error"]["type"] = "cancel"
        m.send()
    await asyncio.gather(alice.no_error(1.0), carol.no_message(0.5))
    # The stream survived all of it.
    await settle(alice)


async def iq_between_users():
    """An IQ to another user's full JID is delivered and its answer comes
    back; an IQ to the bare JID is answered by the server on the user's
    behalf; IQs to missing resources or users get service-unavailable."""
    alice = await login("alice", "a")
    bob = await login("bob", "b", presence=False)  # IQs do not need presence
    await settle(bob)
    res = await alice["xep_0092"].get_version(jid(user("bob"), "b"), timeout=10)
    expect(res["type"] == "result", "version result type %r" % res["type"])
    expect(str(res["from"]) == jid(user("bob"), "b"), "answer from %s" % res["from"])
    expect(res["software_version"]["name"] == "Slixmpp", "bob's client name %r" % res["software_version"]["name"])
    await bob["xep_0199"].ping(jid(user("alice"), "a"), timeout=5)

    info = await alice["xep_0030"].get_info(jid=jid(user("bob")), cached=False)
    ids = info["disco_info"]["identities"]
    expect(any(i[0] == "account" and i[1] == "registered" for i in ids),
           "bare-JID disco#info answered by the server with account/registered: %s" % (ids,))
    expect(str(info["from"]) == jid(user("bob")), "answer from %s" % info["from"])

    for to in (jid(user("bob"), "nope"), jid(user("nobody"), "x")):
        req = alice.Iq(stype="get", sto=to)
        req.enable("software_version")
        cond = await iq_error(req)
        expect(cond == "service-unavailable", "IQ to %s: %r" % (to, cond))
    # The server answers for bob's bare JID; it has no version service
    # for accounts (RFC 6121 §8.5.2.1.3).
    req = alice.Iq(stype="get", sto=jid(user("bob")))
    req.enable("software_version")
    cond = await iq_error(req)
    expect(cond == "service-unavailable", "version to a bare JID: %r" % cond)
    req = alice.Iq(stype="get", sto=jid(user("nobody")))
    req.enable("disco_info")
    cond = await iq_error(req)
    expect(cond == "service-unavailable", "disco#info to a missing account: %r" % cond)


CASES = {f.__name__: f for f in (priorities, unavailable_full_jid, offline, iq_between_users)}

if case not in CASES:
    raise SystemExit("unknown case %r" % case)
run(CASES[case])

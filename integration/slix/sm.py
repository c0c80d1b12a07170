"""XEP-0198 stream management with slixmpp's xep_0198 plugin: acks both
ways, resumption after the TCP connection is killed mid-conversation,
redelivery of what was queued meanwhile, refused resumption, and the
resume timeout rerouting to offline storage.

usage: sm.py CASE, CASE one of CASES; accounts are CASE-named.
"""
import asyncio
import sys

from common import Client, Failed, expect, jid, run

case = sys.argv[1]
PLUGINS = ("xep_0030", "xep_0199", "xep_0198", "xep_0203")


def user(name):
    return "%s-%s" % (case, name)


def sm_client(name, resource):
    c = Client(jid(user(name), resource), "pw", plugins=PLUGINS)
    c["xep_0198"].window = 1  # ask for an ack after every stanza
    c.enabled = asyncio.Event()
    c.resumed = asyncio.Event()
    c.sm_failed = asyncio.Event()
    c.add_event_handler("sm_enabled", lambda _: c.enabled.set())
    c.add_event_handler("session_resumed", lambda _: c.resumed.set())
    c.add_event_handler("sm_failed", lambda _: c.sm_failed.set())
    return c


async def eventually(cond, what, timeout=10):
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise Failed(what)


async def kill(c):
    """Kill the TCP connection as a network failure would: no </stream>."""
    c.transport.abort()
    await asyncio.wait_for(c.gone.wait(), 10)
    c.gone.clear()


async def acks():
    """Both sides count: the server acks every stanza the client sent, and
    the client's acks of what the server sent are accepted."""
    a = await sm_client("alice", "phone").start()
    await asyncio.wait_for(a.enabled.wait(), 10)
    sm = a["xep_0198"]
    expect(sm.sm_id, "no resumption id in <enabled/>")
    b = await Client(jid(user("bob"), "pc"), "pw").start()
    for i in range(5):
        await a["xep_0199"].ping(jid(user("alice")), timeout=5)
        a.send_message(mto=jid(user("bob"), "pc"), mbody="n%d" % i, mtype="chat")
        b.send_message(mto=jid(user("alice"), "phone"), mbody="r%d" % i, mtype="chat")
    for i in range(5):
        m = await a.next_message()
        expect(m["body"] == "r%d" % i, "alice got %r" % m["body"])
    # slixmpp may write its <r/> ahead of the stanza it follows; once a
    # ping is answered everything before it was handled, so ask again.
    await a["xep_0199"].ping(jid(user("alice")), timeout=5)
    sm.request_ack()
    await eventually(lambda: sm.last_ack == sm.seq and not sm.unacked_queue,
                     "server acked %s of %s stanzas; unacked %s" % (sm.last_ack, sm.seq, [str(x[1]) for x in sm.unacked_queue]))
    expect(sm.seq >= 11, "client counted %d stanzas sent" % sm.seq)
    expect(sm.handled >= 10, "client handled %d stanzas" % sm.handled)
    expect(a.stream_errors == [], "stream errors %s" % a.stream_errors)
    await a.stop()
    await b.stop()


async def resume():
    """Kill alice's TCP connection mid-conversation: her session stays
    (bob sees no unavailable), messages sent meanwhile wait, and after she
    resumes they all arrive, once, in order."""
    a = await sm_client("alice", "phone").start()
    await asyncio.wait_for(a.enabled.wait(), 10)
    b = await Client(jid(user("bob"), "pc"), "pw").start()
    b.send_presence(pto=jid(user("alice"), "phone"))
    await a.next_presence(lambda p: p["from"].bare == jid(user("bob")))
    b.send_message(mto=jid(user("alice"), "phone"), mbody="before", mtype="chat")
    m = await a.next_message()
    expect(m["body"] == "before", "got %r" % m["body"])
    sm_id = a["xep_0198"].sm_id
    await kill(a)
    for i in range(3):
        b.send_message(mto=jid(user("alice"), "phone"), mbody="while away %d" % i, mtype="chat")
    b.send_message(mto=jid(user("alice")), mbody="to the bare JID", mtype="chat")
    await asyncio.sleep(0.3)
    a.dial()
    await asyncio.wait_for(a.resumed.wait(), 10)
    expect(a["xep_0198"].sm_id == sm_id, "resumption id changed")
    expect(str(a.boundjid) == jid(user("alice"), "phone"), "resumed as %s" % a.boundjid)
    got = []
    for _ in range(4):
        got.append((await a.next_message())["body"])
    want = ["while away 0", "while away 1", "while away 2", "to the bare JID"]
    expect(got == want, "after resuming alice got %s, want %s" % (got, want))
    await a.no_message()  # "before" was acknowledged: not sent again
    # The session goes on both ways.
    a.send_message(mto=jid(user("bob"), "pc"), mbody="back", mtype="chat")
    m = await b.next_message()
    expect(m["body"] == "back", "bob got %r" % m["body"])
    await b.no_message(0.3)
    unavailable = [p for p in list(b.presences._queue) if p["type"] == "unavailable"]
    expect(not unavailable, "bob saw alice go away: %s" % unavailable)
    await a.stop()
    await b.stop()


async def refused():
    """An unknown resumption id is answered <failed/> and the client binds
    a new session on the same stream."""
    a = sm_client("alice", "phone")
    a["xep_0198"].sm_id = "no-such-session"
    await a.start()
    expect(a.sm_failed.is_set(), "no <failed/> for an unknown id")
    await asyncio.wait_for(a.enabled.wait(), 10)  # enabled afresh after bind
    await a["xep_0199"].ping(jid(user("alice")), timeout=5)
    await a.stop()


async def timeout():
    """Not resumed within the resume timeout: what was queued for the
    session goes to offline storage, delay-stamped, and a new login gets
    it."""
    a = await sm_client("alice", "phone").start()
    await asyncio.wait_for(a.enabled.wait(), 10)
    b = await Client(jid(user("bob"), "pc"), "pw").start()
    await kill(a)
    b.send_message(mto=jid(user("alice"), "phone"), mbody="lost?", mtype="chat")
    await asyncio.sleep(2.5)  # the server is configured with resume_timeout = 1s
    a2 = await Client(jid(user("alice"), "tablet"), "pw", plugins=PLUGINS).start()
    m = await a2.next_message()
    expect(m["body"] == "lost?", "got %r" % m["body"])
    expect(m["delay"]["stamp"] is not None, "no delay stamp on %s" % m)
    # And the old id is gone.
    a.dial()
    await asyncio.wait_for(a.sm_failed.wait(), 10)
    await a.stop()
    await a2.stop()
    await b.stop()


CASES = {f.__name__: f for f in (acks, resume, refused, timeout)}

if case not in CASES:
    raise SystemExit("unknown case %r" % case)
run(CASES[case])

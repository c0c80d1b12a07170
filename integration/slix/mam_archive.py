"""XEP-0313 on the wire: both sides archive, delivered messages carry a
XEP-0359 stanza id (forged ones stripped), chat states are not archived,
queries filter and page (XEP-0059) with complete only on the last page,
slixmpp's own MAM iterator reads the whole archive, and bad queries get
the right errors."""
import asyncio
import xml.etree.ElementTree as ET

from common import DOMAIN, expect, jid, run
from mam_lib import MamClient, SID, rsm_of, stanza_id


async def scenario():
    alice = await MamClient(jid("alice", "laptop"), "alice-pw").start()
    bob = await MamClient(jid("bob", "phone"), "bob-pw").start()
    await asyncio.sleep(0.3)

    info = await alice["xep_0030"].get_info(jid=jid("alice"))
    feats = info["disco_info"]["features"]
    for f in ("urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:sid:0"):
        expect(f in feats, "account feature %s missing: %s" % (f, feats))
    server = (await alice["xep_0030"].get_info(jid=DOMAIN))["disco_info"]["features"]
    expect("urn:xmpp:mam:2" not in server, "the domain advertises MAM but has no archive: %s" % server)

    ids = []
    for i in range(5):
        alice.send_message(mto=jid("bob"), mbody="a%d" % i, mtype="chat")
        m = await bob.next_message()
        expect(m["body"] == "a%d" % i, "bob got %r" % m["body"])
        got = stanza_id(m, jid("bob"))
        expect(len(got) == 1 and got[0], "message without bob's stanza id: %s" % m)
        ids.append(got[0])
    expect(ids == sorted(ids) and len(set(ids)) == 5, "stanza ids not distinct and ordered: %s" % ids)
    for i in range(2):
        bob.send_message(mto=jid("alice", "laptop"), mbody="b%d" % i, mtype="chat")
        m = await alice.next_message()
        expect(len(stanza_id(m, jid("alice"))) == 1, "alice's copy has no stanza id: %s" % m)

    # A stanza id in bob's name from alice is replaced by the server's.
    forged = alice.make_message(mto=jid("bob"), mbody="forged", mtype="chat")
    forged.xml.append(ET.fromstring("<stanza-id xmlns='%s' by='%s' id='forged-1'/>" % (SID, jid("bob"))))
    forged.send()
    m = await bob.next_message()
    got = stanza_id(m, jid("bob"))
    expect(len(got) == 1 and got[0] != "forged-1", "forged stanza id kept: %s" % got)

    # A chat state alone is routed but neither stamped nor archived.
    states = asyncio.Queue()
    bob.add_event_handler("chatstate", states.put_nowait)
    cs = alice.make_message(mto=jid("bob"), mtype="chat")
    cs["chat_state"] = "composing"
    cs.send()
    m = await asyncio.wait_for(states.get(), 10)
    expect(m["chat_state"] == "composing", "chat state lost: %s" % m)
    expect(not stanza_id(m, jid("bob")), "chat state stamped: %s" % m)

    # alice's archive: 5 sent, 2 received, 1 forged-id message sent.
    bodies, results, fin = await alice.query()
    expect(bodies == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "forged"], "alice's archive: %s" % bodies)
    r = rsm_of(fin)
    expect(r["complete"] and r["count"] == "8" and r["index"] == "0", "fin of the whole archive: %s" % r)
    fwd = results[5].find("{urn:xmpp:forward:0}forwarded")
    expect(fwd.find("{urn:xmpp:delay}delay").get("stamp"), "result without delay stamp")
    expect(fwd.find("{jabber:client}message").get("from") == jid("bob", "phone"), "archived from: %s" % ET.tostring(fwd))
    # bob's archive holds his copy of each, with the ids he was given.
    bodies, results, _ = await bob.query(form=[("with", jid("alice"))])
    expect(bodies == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "forged"], "bob's archive with alice: %s" % bodies)
    expect([x.get("id") for x in results[:5]] == ids, "archive ids differ from the stanza ids delivered")

    # Paging forwards: complete only on the last page.
    seen, after, pages = [], None, 0
    while True:
        rsm = "<max>3</max>" + ("<after>%s</after>" % after if after else "")
        bodies, _, fin = await alice.query(rsm=rsm)
        r = rsm_of(fin)
        pages += 1
        seen += bodies
        if r["complete"]:
            break
        expect(len(bodies) == 3, "short page that is not complete: %s" % bodies)
        after = r["last"]
        expect(pages < 5, "paging does not end")
    expect(pages == 3 and len(seen) == 8 and seen[0] == "a0", "forward pages: %d, %s" % (pages, seen))
    # Empty <before/>: the last page; then backwards to the start.
    bodies, _, fin = await alice.query(rsm="<max>3</max><before/>")
    r = rsm_of(fin)
    expect(bodies == ["b0", "b1", "forged"] and not r["complete"] and r["index"] == "5", "last page: %s %s" % (bodies, r))
    bodies, _, fin = await alice.query(rsm="<max>5</max><before>%s</before>" % r["first"])
    expect(bodies == ["a0", "a1", "a2", "a3", "a4"] and rsm_of(fin)["complete"], "first page backwards: %s %s" % (bodies, rsm_of(fin)))
    # #extended: after-id / before-id, flip-page.
    bodies, _, _ = await bob.query(form=[("after-id", ids[0]), ("before-id", ids[3])])
    expect(bodies == ["a1", "a2"], "after-id/before-id: %s" % bodies)
    bodies, _, _ = await alice.query(rsm="<max>2</max><before/>", extra="<flip-page xmlns='urn:xmpp:mam:2'/>")
    expect(bodies == ["forged", "b1"], "flip-page: %s" % bodies)

    # Errors.
    for what, kwargs, want in [
        ("unknown after", dict(rsm="<after>no-such-id</after>"), "item-not-found"),
        ("unknown before-id", dict(form=[("before-id", "no-such-id")]), "item-not-found"),
        ("unknown field", dict(form=[("full-text", "x")]), "bad-request"),
        ("bad start", dict(form=[("start", "yesterday")]), "bad-request"),
        ("someone else's archive", dict(to=jid("bob")), "forbidden"),
    ]:
        bodies, _, cond = await alice.query(**kwargs)
        expect(bodies is None and cond == want, "%s: %s, want %s" % (what, cond, want))

    # slixmpp's own MAM client: the form, and the iterator over pages of 3.
    form = await alice["xep_0313"].get_fields()
    names = [f.get("var") for f in form.xml.findall("{jabber:x:data}field")]
    expect(names == ["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"], "query form: %s" % names)
    got = []
    async for msg in alice["xep_0313"].iterate(with_jid=jid("bob"), rsm={"max": 3}):
        got.append(msg["mam_result"]["forwarded"]["stanza"]["body"])
    expect(got == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "forged"], "slixmpp iterate: %s" % got)

    # A message stored offline carries its stanza id when delivered later.
    await bob.stop()
    await asyncio.sleep(0.3)
    alice.send_message(mto=jid("bob"), mbody="while away", mtype="chat")
    await asyncio.sleep(0.3)
    bob2 = await MamClient(jid("bob", "tablet"), "bob-pw").start()
    m = await bob2.next_message()
    expect(m["body"] == "while away" and len(stanza_id(m, jid("bob"))) == 1, "offline message: %s" % m)
    bodies, _, _ = await bob2.query(rsm="<max>1</max><before/>")
    expect(bodies == ["while away"], "offline message archived for bob: %s" % bodies)

    await alice.stop()
    await bob2.stop()


run(scenario)

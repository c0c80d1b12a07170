"""Room archives and IQs to occupants on the wire (XEP-0313 MUC archives,
XEP-0045 IQ requests to occupants): reflected groupchat carries the room's
XEP-0359 stanza-id; slixmpp's xep_0313 retrieve(jid=room) returns those
messages from their occupants' room JIDs, with RSM paging; a hidden room
answers occupants only; unknown ids are item-not-found; the room
advertises urn:xmpp:mam:2. A version and a vCard request to an occupant's
room JID reach the occupant from the requester's room JID and the answer
comes back from the occupant's room JID; unknown nicks and non-occupants
are refused."""
import xml.etree.ElementTree as ET

from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from common import TIMEOUT, expect, run
from muc_lib import body, configure, connect, kind, room

R = room("archived")
MAM = "urn:xmpp:mam:2"
SID = "{urn:xmpp:sid:0}stanza-id"


def stanza_ids(el):
    return [e.get("id") for e in el.findall(SID) if e.get("by") == R]


async def retrieve(c, rsm=None):
    """slixmpp's retrieve(jid=room): (bodies, senders, ids, fin) or the
    error condition."""
    try:
        res = await c.plugin["xep_0313"].retrieve(jid=JID(R), timeout=TIMEOUT, rsm=rsm)
    except IqError as e:
        return e.iq["error"]["condition"]
    results = res["mam"]["results"]
    fwd = [m["mam_result"]["forwarded"]["stanza"] for m in results]
    return ([f["body"] for f in fwd], [str(f["from"]) for f in fwd],
            [m["mam_result"]["id"] for m in results], res.xml.find("{%s}fin" % MAM))


def answer_vcard(c, fn):
    """Make c answer vcard-temp requests itself (clients' slixmpp does
    not) and record who asked."""
    asked = []

    def handle(iq):
        asked.append(str(iq["from"]))
        r = iq.reply(clear=True)
        r.append(ET.fromstring("<vCard xmlns='vcard-temp'><FN>%s</FN></vCard>" % fn))
        r.send()
    c.register_handler(Callback("vcard get", MatchXPath("{jabber:client}iq/{vcard-temp}vCard"),
                                lambda iq: handle(iq) if iq["type"] == "get" else None))
    return asked


async def scenario():
    alice, bob, carol, dave = await connect("alice", "bob", "carol", "dave")
    for c in (alice, bob, carol, dave):
        for p in ("xep_0059", "xep_0092", "xep_0297", "xep_0313", "xep_0359"):
            c.register_plugin(p)

    await alice.join(R, "Alice")
    await alice.instant(R)
    await bob.join(R, "Bob")
    info = await alice.plugin["xep_0030"].get_info(jid=R, timeout=TIMEOUT)
    expect(MAM in info["disco_info"]["features"], "room features lack %s: %s" % (MAM, info["disco_info"]["features"]))

    # Reflected groupchat carries the room's stanza id; a forged one is
    # replaced.
    alice.drain()
    bob.drain()
    alice.send_message(mto=R, mtype="groupchat", mbody="first")
    alice.send_message(mto=R, mtype="groupchat", mbody="second")
    seen = []
    for _ in range(2):
        seen.append(await alice.next(lambda el: kind(el) == "message" and body(el), "groupchat"))
    bob.send_raw("<message type='groupchat' to='%s'><body>third</body><stanza-id xmlns='urn:xmpp:sid:0' by='%s' id='forged'/></message>" % (R, R))
    seen.append(await alice.next(lambda el: kind(el) == "message" and body(el), "groupchat"))
    ids = [stanza_ids(el) for el in seen]
    expect(all(len(i) == 1 for i in ids) and "forged" not in sum(ids, []), "stanza ids: %s" % ids)
    ids = [i[0] for i in ids]

    # The archive, through slixmpp.
    bodies, senders, got_ids, fin = await retrieve(bob)
    expect(bodies == ["first", "second", "third"], "archive bodies: %s" % bodies)
    expect(senders == [R + "/Alice", R + "/Alice", R + "/Bob"], "archive senders: %s" % senders)
    expect(got_ids == ids, "archive ids %s, reflected %s" % (got_ids, ids))
    expect(fin is not None and fin.get("complete") == "true", "fin of the whole archive")

    # RSM paging: two, then the rest after the first page's last.
    bodies, _, page, fin = await retrieve(bob, rsm={"max": 2})
    expect(bodies == ["first", "second"] and fin.get("complete") != "true", "first page: %s" % bodies)
    bodies, _, _, fin = await retrieve(bob, rsm={"max": 2, "after": page[-1]})
    expect(bodies == ["third"] and fin.get("complete") == "true", "second page: %s" % bodies)
    cond = await retrieve(bob, rsm={"after": "no-such-id"})
    expect(cond == "item-not-found", "unknown after id: %s" % cond)

    # A public room's archive is open; a hidden room's is for occupants.
    res = await retrieve(carol)
    expect(not isinstance(res, str) and res[0] == ["first", "second", "third"], "outsider, public room: %s" % (res,))
    cond = await configure(alice, R, publicroom=False)
    expect(cond is None, "hiding the room: %s" % cond)
    cond = await retrieve(carol)
    expect(cond == "forbidden", "outsider, hidden room: %s" % cond)
    res = await retrieve(bob)
    expect(not isinstance(res, str) and len(res[0]) == 3, "occupant, hidden room: %s" % (res,))

    # A version request to bob's room JID: answered by bob's client, from
    # bob's room JID.
    bob.drain()
    v = await alice.plugin["xep_0092"].get_version(JID(R + "/Bob"), timeout=TIMEOUT)
    expect(str(v["from"]) == R + "/Bob" and v["software_version"]["name"], "version answer: %s" % v)
    el = await bob.next(lambda el: kind(el) == "iq" and el.get("type") == "get", "relayed version request")
    expect(el.get("from") == R + "/Alice", "request from alice's room JID: %s" % el.get("from"))

    # A vCard request, answered by bob's own handler.
    asked = answer_vcard(bob, "Bob Builder")
    resp, cond = await alice.raw_iq("get", R + "/Bob", "<vCard xmlns='vcard-temp'/>")
    expect(cond is None and resp.get("from") == R + "/Bob", "vCard answer: %s %s" % (cond, resp.attrib))
    expect(resp.findtext("{vcard-temp}vCard/{vcard-temp}FN") == "Bob Builder", "vCard content")
    expect(asked == [R + "/Alice"], "bob was asked by %s" % asked)

    # Refusals: an unknown nick, and someone not in the room.
    _, cond = await alice.raw_iq("get", R + "/Nobody", "<vCard xmlns='vcard-temp'/>")
    expect(cond == "item-not-found", "unknown nick: %s" % cond)
    _, cond = await dave.raw_iq("get", R + "/Bob", "<vCard xmlns='vcard-temp'/>")
    expect(cond == "not-acceptable", "non-occupant: %s" % cond)

    for c in (alice, bob, carol, dave):
        await c.stop()


run(scenario)

"""XEP-0313 preferences on the wire: the default, never with an always
list, roster mode (a contact on the roster is archived, a stranger is
not), and bad preferences refused."""
import asyncio
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from common import TIMEOUT, expect, jid, run
from mam_lib import MAM, MamClient, stanza_id


async def prefs(client, typ, inner=None):
    iq = client.Iq()
    iq["type"] = typ
    iq.append(ET.fromstring(inner or "<prefs xmlns='%s'/>" % MAM))
    try:
        resp = await iq.send(timeout=TIMEOUT)
    except IqError as e:
        return None, e.iq["error"]["condition"]
    return resp.xml.find("{%s}prefs" % MAM), None


def jids(p, which):
    return [j.text for j in p.findall("{%s}%s/{%s}jid" % (MAM, which, MAM))]


async def scenario():
    alice = await MamClient(jid("alice", "a"), "alice-pw").start()
    bob = await MamClient(jid("bob", "b"), "bob-pw").start()
    carol = await MamClient(jid("carol", "c"), "carol-pw").start()
    dave = await MamClient(jid("dave", "d"), "dave-pw").start()
    await asyncio.sleep(0.3)

    p, err = await prefs(alice, "get")
    expect(err is None and p.get("default") == "always", "default prefs: %s %s" % (err, p))

    for bad, want in [("<prefs xmlns='%s' default='sometimes'/>" % MAM, "bad-request"),
                      ("<prefs xmlns='%s' default='never'><always><jid>@@@</jid></always></prefs>" % MAM, "jid-malformed")]:
        _, err = await prefs(alice, "set", bad)
        expect(err == want, "bad prefs %s: %s, want %s" % (bad, err, want))

    p, err = await prefs(alice, "set", "<prefs xmlns='%s' default='never'><always><jid>%s</jid></always></prefs>" % (MAM, jid("bob")))
    expect(err is None and p.get("default") == "never" and jids(p, "always") == [jid("bob")], "set prefs: %s %s" % (err, p))
    p, _ = await prefs(alice, "get")
    expect(p.get("default") == "never" and jids(p, "always") == [jid("bob")], "prefs read back: %s" % ET.tostring(p))

    bob.send_message(mto=jid("alice"), mbody="from bob", mtype="chat")
    m = await alice.next_message()
    expect(len(stanza_id(m, jid("alice"))) == 1, "an always JID's message has no stanza id")
    carol.send_message(mto=jid("alice"), mbody="from carol", mtype="chat")
    m = await alice.next_message()
    expect(not stanza_id(m, jid("alice")), "a message not archived carries a stanza id: %s" % m)
    bodies, _, _ = await alice.query()
    expect(bodies == ["from bob"], "never + always: %s" % bodies)
    # carol's own archive (default always) kept what she sent.
    bodies, _, _ = await carol.query()
    expect(bodies == ["from carol"], "carol's archive: %s" % bodies)

    # Roster mode: carol on alice's roster, dave not.
    await alice["xep_0030"].get_info(jid=jid("alice"))  # a round trip
    iq = alice.Iq()
    iq["type"] = "set"
    iq.append(ET.fromstring("<query xmlns='jabber:iq:roster'><item jid='%s'/></query>" % jid("carol")))
    await iq.send(timeout=TIMEOUT)
    p, err = await prefs(alice, "set", "<prefs xmlns='%s' default='roster'/>" % MAM)
    expect(err is None and p.get("default") == "roster", "roster prefs: %s" % err)
    carol.send_message(mto=jid("alice"), mbody="carol again", mtype="chat")
    dave.send_message(mto=jid("alice"), mbody="from dave", mtype="chat")
    for _ in range(2):
        await alice.next_message()
    bodies, _, _ = await alice.query()
    expect(bodies == ["from bob", "carol again"], "roster mode: %s" % bodies)

    for c in (alice, bob, carol, dave):
        await c.stop()


run(scenario)

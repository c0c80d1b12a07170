"""The small services every client expects (XEP-0030, XEP-0199, XEP-0092,
XEP-0202) and the IQ rules of RFC 6120 §8.2.3."""
import datetime
import xml.etree.ElementTree as ET

from common import Client, DOMAIN, expect, iq_error, jid, run


async def scenario():
    alice = await Client(jid("services-alice", "a"), "pw", plugins=("xep_0030", "xep_0092", "xep_0199", "xep_0202")).start()

    info = await alice["xep_0030"].get_info(jid=DOMAIN, cached=False)
    feats = info["disco_info"]["features"]
    for f in ("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
              "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time"):
        expect(f in feats, "server feature %s missing from %s" % (f, feats))
    expect(any(i[0] == "server" and i[1] == "im" for i in info["disco_info"]["identities"]),
           "server/im identity: %s" % (info["disco_info"]["identities"],))

    items = await alice["xep_0030"].get_items(jid=DOMAIN)
    expect(items["type"] == "result", "disco#items type %s" % items["type"])
    expect(str(items["from"]) == DOMAIN, "disco#items from %s" % items["from"])

    # The user's own account, with no 'to' and with the bare JID.
    own = await alice["xep_0030"].get_info(jid=jid("services-alice"), cached=False)
    expect(any(i[0] == "account" for i in own["disco_info"]["identities"]),
           "own account identities: %s" % (own["disco_info"]["identities"],))

    await alice["xep_0199"].ping(DOMAIN, timeout=5)
    await alice["xep_0199"].ping(jid("services-alice"), timeout=5)

    ver = await alice["xep_0092"].get_version(DOMAIN)
    sv = ver["software_version"]
    expect(sv["name"] == "xmppd" and sv["version"] != "", "version %r %r" % (sv["name"], sv["version"]))

    t = await alice["xep_0202"].get_entity_time(DOMAIN)
    # Parsed here: slixmpp 1.8's getter appends a second "Z" to the
    # XEP-0082 value and fails.
    raw = t["entity_time"].xml.findtext("{urn:xmpp:time}utc")
    expect(raw is not None and raw.endswith("Z"), "utc %r is not in UTC (XEP-0202)" % raw)
    utc = datetime.datetime.fromisoformat(raw[:-1] + "+00:00")
    tzo = t["entity_time"].xml.findtext("{urn:xmpp:time}tzo")
    expect(tzo is not None and (tzo == "Z" or len(tzo) == 6 and tzo[0] in "+-" and tzo[3] == ":"), "tzo %r" % tzo)
    now = datetime.datetime.now(datetime.timezone.utc)
    expect(abs((now - utc).total_seconds()) < 60, "server time %s, now %s" % (utc, now))

    # An unknown payload namespace: service-unavailable (RFC 6120 §8.4).
    for to in (DOMAIN, jid("services-alice"), None):
        req = alice.Iq(stype="get", sto=to)
        req.append(ET.Element("{urn:example:unknown}query"))
        cond = await iq_error(req)
        expect(cond == "service-unavailable", "unknown namespace to %s: %r" % (to, cond))

    # Two payloads: bad-request (RFC 6120 §8.2.3).
    req = alice.Iq(stype="get", sto=DOMAIN)
    req.append(ET.Element("{urn:xmpp:ping}ping"))
    req.append(ET.Element("{urn:xmpp:time}time"))
    cond = await iq_error(req)
    expect(cond == "bad-request", "two payloads: %r" % cond)

    # A get with no payload at all: bad-request too.
    req = alice.Iq(stype="get", sto=DOMAIN)
    cond = await iq_error(req)
    expect(cond == "bad-request", "no payload: %r" % cond)

    # The stream is still fine.
    await alice["xep_0199"].ping(DOMAIN, timeout=5)
    await alice.stop()


run(scenario)

"""Disco audit (XEP-0030): the features the server, an account and the MUC
service advertise are exactly the ones implemented, and every advertised
protocol that is reached by an IQ answers it.

usage: disco_audit.py — logs in audit-alice and audit-bob (password "pw").

EXPECTED lists what each feature package implements, one entry per
package; a feature advertised but not listed, or listed but not
advertised, fails. PROBES sends each IQ-based feature a request in its
namespace: an answer other than service-unavailable or
feature-not-implemented shows a handler serves it (forbidden or
bad-request are answers of a handler). Protocols without an IQ of their own
(msgoffline, the roster-notes and incremental-privacy extensions, the
stanza-id and MAM extended flags) are covered by their packages' tests.
Stream features (urn:xmpp:sm:3, urn:xmpp:csi:0, roster versioning and
pre-approval) are negotiated in <stream:features/>, not disco, and must not
appear here.
"""
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from common import Client, DOMAIN, Failed, expect, jid, run

DISCO_INFO = "http://jabber.org/protocol/disco#info"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
SERVICE = "conference." + DOMAIN

# Where each feature is implemented: package → (server, account) features.
EXPECTED = {
    "c2s (builtins)": (
        {DISCO_INFO, DISCO_ITEMS, "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", "jabber:iq:register"},
        {DISCO_INFO, DISCO_ITEMS},
    ),
    "carbons": ({"urn:xmpp:carbons:2"}, set()),
    "lastactivity": ({"jabber:iq:last"}, {"jabber:iq:last"}),
    "mam": (set(), {"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:sid:0"}),
    "privacy": (
        {"jabber:iq:privacy", "urn:xmppd:privacy-incremental:0", "urn:xmpp:blocking"},
        {"jabber:iq:privacy", "urn:xmppd:privacy-incremental:0", "urn:xmpp:blocking"},
    ),
    "vcard": ({"vcard-temp"}, {"vcard-temp"}),
    "offline": ({"msgoffline"}, set()),
    "roster": ({"urn:xmppd:roster-notes:0"}, {"urn:xmppd:roster-notes:0"}),
}
MUC_SERVICE = {DISCO_INFO, DISCO_ITEMS, "http://jabber.org/protocol/muc", "urn:xmpp:ping"}
STREAM_ONLY = {"urn:xmpp:sm:3", "urn:xmpp:csi:0", "urn:xmpp:features:rosterver", "urn:xmpp:features:pre-approval"}

ALICE, BOB = jid("audit-alice"), jid("audit-bob")

# feature → (where, sender, type, element) for the features reached by an IQ.
# where: "server" (to the domain), "self" (no 'to'), "account" (to
# audit-alice's bare JID), "service" (the MUC service).
PROBES = [
    ("server", DISCO_INFO, "alice", "get", "{%s}query" % DISCO_INFO),
    ("server", DISCO_ITEMS, "alice", "get", "{%s}query" % DISCO_ITEMS),
    ("server", "urn:xmpp:ping", "alice", "get", "{urn:xmpp:ping}ping"),
    ("server", "jabber:iq:version", "alice", "get", "{jabber:iq:version}query"),
    ("server", "jabber:iq:register", "alice", "get", "{jabber:iq:register}query"),
    ("server", "urn:xmpp:time", "alice", "get", "{urn:xmpp:time}time"),
    ("server", "urn:xmpp:carbons:2", "alice", "set", "{urn:xmpp:carbons:2}enable"),
    ("server", "jabber:iq:last", "alice", "get", "{jabber:iq:last}query"),
    ("self", "jabber:iq:privacy", "alice", "get", "{jabber:iq:privacy}query"),
    ("self", "urn:xmpp:blocking", "alice", "get", "{urn:xmpp:blocking}blocklist"),
    ("self", "vcard-temp", "alice", "get", "{vcard-temp}vCard"),
    ("account", DISCO_INFO, "bob", "get", "{%s}query" % DISCO_INFO),
    ("account", DISCO_ITEMS, "bob", "get", "{%s}query" % DISCO_ITEMS),
    ("account", "jabber:iq:last", "bob", "get", "{jabber:iq:last}query"),
    ("account", "jabber:iq:last", "alice", "get", "{jabber:iq:last}query"),
    ("account", "vcard-temp", "bob", "get", "{vcard-temp}vCard"),
    ("account", "urn:xmpp:mam:2", "alice", "set", "{urn:xmpp:mam:2}query"),
    ("account", "jabber:iq:privacy", "alice", "get", "{jabber:iq:privacy}query"),
    ("account", "urn:xmpp:blocking", "alice", "get", "{urn:xmpp:blocking}blocklist"),
    ("service", DISCO_INFO, "alice", "get", "{%s}query" % DISCO_INFO),
    ("service", DISCO_ITEMS, "alice", "get", "{%s}query" % DISCO_ITEMS),
    ("service", "urn:xmpp:ping", "alice", "get", "{urn:xmpp:ping}ping"),
]
TARGETS = {"server": DOMAIN, "self": None, "account": ALICE, "service": SERVICE}


def compare(what, got, want):
    extra, missing = sorted(got - want), sorted(want - got)
    expect(not extra and not missing,
           "%s: advertised but not implemented %s; implemented but not advertised %s" % (what, extra, missing))


async def features(client, to):
    info = await client["xep_0030"].get_info(jid=to, timeout=10)
    feats = info["disco_info"]["features"]
    expect(len(feats) == len(set(feats)), "%s advertises a feature twice: %s" % (to, feats))
    return set(feats)


async def probe(client, where, feature, typ, element):
    iq = client.make_iq(ifrom=client.boundjid, ito=TARGETS[where], itype=typ)
    iq.xml.append(ET.Element(element))
    try:
        await iq.send(timeout=10)
    except IqError as e:
        cond = e.iq["error"]["condition"]
        if cond in ("service-unavailable", "feature-not-implemented"):
            raise Failed("%s advertised on the %s but not served: %s" % (feature, where, cond))


async def scenario():
    alice = await Client(jid("audit-alice", "r"), "pw").start()
    bob = await Client(jid("audit-bob", "r"), "pw").start()
    server_want = set().union(*(s for s, _ in EXPECTED.values()))
    account_want = set().union(*(a for _, a in EXPECTED.values()))

    for who, c in (("owner", alice), ("another user", bob)):
        compare("server disco#info to %s" % who, await features(c, DOMAIN), server_want)
        compare("account disco#info to %s" % who, await features(c, ALICE), account_want)
    compare("MUC service disco#info", await features(alice, SERVICE), MUC_SERVICE)
    for f in STREAM_ONLY:
        expect(f not in server_want | account_want, "stream feature %s in disco" % f)

    items = await alice["xep_0030"].get_items(jid=DOMAIN, timeout=10)
    expect(SERVICE in {str(i[0]) for i in items["disco_items"]["items"]}, "MUC service not in the server's items")

    clients = {"alice": alice, "bob": bob}
    for where, feature, who, typ, element in PROBES:
        want = {"server": server_want, "self": server_want, "account": account_want, "service": MUC_SERVICE}[where]
        expect(feature in want, "probe of %s, which the %s does not advertise" % (feature, where))
        await probe(clients[who], where, feature, typ, element)
    for c in (alice, bob):
        await c.stop()


run(scenario)

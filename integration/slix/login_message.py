"""Two users log in (STARTTLS and direct TLS), exchange a message through
the bare JID, and query the server's disco, version, time and ping."""
import asyncio

from common import Client, DOMAIN, expect, jid, run


async def scenario():
    alice = await Client(jid("alice", "laptop"), "alice-pw").start()
    bob = await Client(jid("bob", "phone"), "bob-pw").start(direct_tls=True)
    expect(str(alice.boundjid) == jid("alice", "laptop"), "bound JID %s" % alice.boundjid)
    await asyncio.sleep(0.2)

    alice.send_message(mto=jid("bob"), mbody="hello bob", mtype="chat")
    m = await bob.next_message()
    expect(m["body"] == "hello bob", "body %r" % m["body"])
    expect(str(m["from"]) == jid("alice", "laptop"), "from stamped with full JID: %s" % m["from"])

    info = await alice["xep_0030"].get_info(jid=DOMAIN)
    feats = info["disco_info"]["features"]
    for f in ("http://jabber.org/protocol/disco#info", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time"):
        expect(f in feats, "server feature %s missing from %s" % (f, feats))
    ids = info["disco_info"]["identities"]
    expect(any(i[0] == "server" and i[1] == "im" for i in ids), "server/im identity: %s" % (ids,))

    ver = await alice["xep_0092"].get_version(DOMAIN)
    expect(ver["software_version"]["name"] == "xmppd", "version name %r" % ver["software_version"]["name"])

    await alice["xep_0199"].ping(DOMAIN, timeout=5)
    await alice.stop()
    await bob.stop()


run(scenario)

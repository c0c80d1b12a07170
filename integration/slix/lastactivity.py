"""XEP-0012 on the wire with slixmpp's plugin: the server's uptime, a
subscribed contact's last activity (0 while online, the logout status and
elapsed seconds afterwards), forbidden for someone not subscribed."""
import asyncio
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from common import DOMAIN, Client, TIMEOUT, expect, jid, run


async def last(client, who):
    try:
        r = await client["xep_0012"].get_last_activity(who, timeout=TIMEOUT)
    except IqError as e:
        return None, None, e.iq["error"]["condition"]
    return int(r["last_activity"]["seconds"]), r["last_activity"]["status"], None


async def scenario():
    plugins = ("xep_0030", "xep_0012")
    alice = await Client(jid("alice", "a"), "alice-pw", plugins=plugins).start()
    bob = await Client(jid("bob", "b"), "bob-pw", plugins=plugins).start()
    carol = await Client(jid("carol", "c"), "carol-pw", plugins=plugins).start()
    await asyncio.sleep(0.3)

    feats = (await bob["xep_0030"].get_info(jid=DOMAIN))["disco_info"]["features"]
    expect("jabber:iq:last" in feats, "server features lack jabber:iq:last: %s" % feats)
    secs, _, err = await last(bob, DOMAIN)
    expect(err is None and 0 <= secs < 600, "uptime: %s %s" % (secs, err))

    # bob subscribes to alice's presence (alice's client approves).
    bob.send_presence(pto=jid("alice"), ptype="subscribe")
    await bob.next_presence(lambda p: p["type"] == "subscribed" and p["from"].bare == jid("alice"))
    await asyncio.sleep(0.3)

    secs, status, err = await last(bob, jid("alice"))
    expect(err is None and secs == 0, "online contact: %s %s" % (secs, err))
    _, _, err = await last(carol, jid("alice"))
    expect(err == "forbidden", "not subscribed: %s" % err)
    _, _, err = await last(carol, jid("nobody"))
    expect(err == "forbidden", "unknown account: %s" % err)

    alice.send_presence(ptype="unavailable", pstatus="off to the rabbit hole")
    await alice.stop()
    await asyncio.sleep(2.2)
    secs, status, err = await last(bob, jid("alice"))
    expect(err is None and secs >= 2 and status == "off to the rabbit hole", "offline contact: %s %r %s" % (secs, status, err))

    # A dropped connection (no unavailable sent) is recorded too.
    carol.send_presence(pto=jid("bob"), ptype="subscribed")  # pre-approve, then bob asks
    bob.send_presence(pto=jid("carol"), ptype="subscribe")
    await bob.next_presence(lambda p: p["type"] == "subscribed" and p["from"].bare == jid("carol"))
    carol.transport.abort() if carol.transport else None
    await asyncio.sleep(1.5)
    secs, status, err = await last(bob, jid("carol"))
    expect(err is None and secs >= 1 and not status, "dropped contact: %s %r %s" % (secs, status, err))

    await bob.stop()


run(scenario)

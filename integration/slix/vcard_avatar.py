"""XEP-0054 and XEP-0153 on the wire: publish and read one's own vCard
with slixmpp's plugin, read a contact's, refuse writing another's, an
empty vCard for oneself and item-not-found for a contact without one,
the size limit, and the avatar hash the server puts into presence
(replacing whatever the client sent)."""
import asyncio
import hashlib
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from common import Client, TIMEOUT, expect, jid, run, iq_error

UPDATE = "{vcard-temp:x:update}"
AVATAR = b"\x89PNG\r\n\x1a\n not really an image, but bytes all the same"


def photo_hash(p):
    x = p.xml.find(UPDATE + "x")
    if x is None:
        return None
    photo = x.find(UPDATE + "photo")
    return None if photo is None else (photo.text or "")


async def scenario():
    plugins = ("xep_0030", "xep_0054")
    alice = await Client(jid("alice", "a"), "alice-pw", plugins=plugins).start()
    bob = await Client(jid("bob", "b"), "bob-pw", plugins=plugins).start()
    await asyncio.sleep(0.3)

    feats = (await alice["xep_0030"].get_info(jid=jid("alice")))["disco_info"]["features"]
    expect("vcard-temp" in feats, "account features lack vcard-temp: %s" % feats)

    # No vCard yet: empty for oneself, item-not-found for others.
    own = await alice["xep_0054"].get_vcard(jid("alice"), cached=False)
    expect(len(own["vcard_temp"].xml) == 0, "own missing vCard is not empty: %s" % own)
    iq = bob.make_iq_get(ito=jid("alice"))
    iq.append(ET.fromstring("<vCard xmlns='vcard-temp'/>"))
    expect(await iq_error(iq) == "item-not-found", "a contact's missing vCard")

    # Presence without a stored vCard is left as the client sent it.
    alice.send_presence(pto=jid("bob"), pstatus="plain")
    p = await bob.next_presence(lambda p: p["from"] == jid("alice", "a") and p["status"] == "plain")
    expect(photo_hash(p) is None, "x-update added without a vCard: %s" % p)

    vc = alice["xep_0054"].make_vcard()
    vc["FN"] = "Alice Liddell"
    vc["NICKNAME"] = "alice"
    vc["PHOTO"]["TYPE"] = "image/png"
    vc["PHOTO"]["BINVAL"] = AVATAR
    await alice["xep_0054"].publish_vcard(vc)
    got = await bob["xep_0054"].get_vcard(jid("alice"), cached=False)
    expect(got["vcard_temp"]["FN"] == "Alice Liddell", "bob reads FN %r" % got["vcard_temp"]["FN"])
    expect(got["vcard_temp"]["PHOTO"]["BINVAL"] == AVATAR, "photo changed on the way")
    own = await alice["xep_0054"].get_vcard(jid("alice"), cached=False)
    expect(own.xml.find("{vcard-temp}vCard/{vcard-temp}NICKNAME").text == "alice", "own vCard read back: %s" % own)

    # Writing someone else's vCard is forbidden.
    iq = bob.make_iq_set(ito=jid("alice"))
    iq.append(ET.fromstring("<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>"))
    expect(await iq_error(iq) == "forbidden", "bob set alice's vCard")
    # Too large (the test server allows 4096 bytes).
    iq = alice.make_iq_set()
    iq.append(ET.fromstring("<vCard xmlns='vcard-temp'><DESC>%s</DESC></vCard>" % ("x" * 5000)))
    expect(await iq_error(iq) == "not-acceptable", "oversized vCard accepted")
    got = await bob["xep_0054"].get_vcard(jid("alice"), cached=False)
    expect(got["vcard_temp"]["FN"] == "Alice Liddell", "a refused set changed the vCard")

    # The server puts the avatar hash into alice's presence, replacing a
    # wrong one her client sent.
    want = hashlib.sha1(AVATAR).hexdigest()
    pres = alice.make_presence(pto=jid("bob"), pstatus="with avatar")
    pres.xml.append(ET.fromstring("<x xmlns='vcard-temp:x:update'><photo>0000</photo></x>"))
    pres.send()
    p = await bob.next_presence(lambda p: p["from"] == jid("alice", "a") and p["status"] == "with avatar")
    expect(photo_hash(p) == want, "photo hash %r, want %r" % (photo_hash(p), want))
    expect(len(p.xml.findall(UPDATE + "x")) == 1, "two x-update elements: %s" % p)
    # Undirected presence too: alice's own echo carries it.
    alice.send_presence(pstatus="broadcast")
    p = await alice.next_presence(lambda p: p["from"] == jid("alice", "a") and p["status"] == "broadcast")
    expect(photo_hash(p) == want, "echoed presence hash %r" % photo_hash(p))

    # A vCard without photo: an empty <photo/>.
    vc = alice["xep_0054"].make_vcard()
    vc["FN"] = "Alice"
    await alice["xep_0054"].publish_vcard(vc)
    alice.send_presence(pto=jid("bob"), pstatus="no photo")
    p = await bob.next_presence(lambda p: p["from"] == jid("alice", "a") and p["status"] == "no photo")
    expect(photo_hash(p) == "", "hash after removing the photo: %r" % photo_hash(p))

    # slixmpp's XEP-0153 plugin on both sides: alice publishes an avatar
    # with set_avatar, carol's client sees the update event with its hash.
    alice2 = await Client(jid("alice", "a2"), "alice-pw", plugins=("xep_0030", "xep_0054", "xep_0153")).start()
    carol = await Client(jid("carol", "c"), "carol-pw", plugins=("xep_0030", "xep_0054", "xep_0153")).start()
    updates = asyncio.Queue()
    carol.add_event_handler("vcard_avatar_update", updates.put_nowait)
    new_avatar = b"GIF89a another avatar"
    await alice2["xep_0153"].set_avatar(avatar=new_avatar, mtype="image/gif")
    alice2.send_presence(pto=jid("carol"))
    p = await asyncio.wait_for(updates.get(), TIMEOUT)
    expect(p["vcard_temp_update"]["photo"] == hashlib.sha1(new_avatar).hexdigest(),
           "slixmpp saw photo %r" % p["vcard_temp_update"]["photo"])
    # alice's first session learnt the new hash too.
    alice.send_presence(pto=jid("carol"), pstatus="first session")
    p = await carol.next_presence(lambda p: p["from"] == jid("alice", "a") and p["status"] == "first session")
    expect(photo_hash(p) == hashlib.sha1(new_avatar).hexdigest(), "other session's hash %r" % photo_hash(p))

    for c in (alice, alice2, bob, carol):
        await c.stop()


run(scenario)

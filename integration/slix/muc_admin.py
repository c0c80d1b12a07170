"""XEP-0045 moderation and administration on the wire: a reserved room
configured with the muc#roomconfig form, moderated rooms and voice, kick
(307), ban (301), affiliation lists, the permission tables (forbidden,
not-allowed), members-only (registration-required), passwords
(not-authorized), max users (service-unavailable), config change
notices (104), destroy with an alternate venue, and cancelled creation."""
import asyncio

from common import expect, jid, run
from muc_lib import (CLIENT, USER, codes, configure, connect, err_condition, is_message, is_presence, item,
                     room)

R = room("council")
ALT = room("elsewhere")


async def scenario():
    alice, bob, carol, dave, erin = await connect("alice", "bob", "carol", "dave", "erin")

    # A reserved room: the owner gets the form, then submits it.
    await alice.join(R, "Alice")
    form = await alice.muc.get_room_config(R, timeout=10)
    fields = form.get_fields()
    expect(fields["FORM_TYPE"]["value"] in ("http://jabber.org/protocol/muc#roomconfig", ["http://jabber.org/protocol/muc#roomconfig"]), "FORM_TYPE: %r" % fields["FORM_TYPE"]["value"])
    for f in ("roomname", "persistentroom", "membersonly", "moderatedroom", "passwordprotectedroom",
              "roomsecret", "maxusers", "whois", "publicroom"):
        expect("muc#roomconfig_" + f in fields, "form has %s" % f)
    cond = await bob.join_error(R, "Bob")
    expect(cond == "item-not-found", "locked until configured: %s" % cond)
    cond = await configure(alice, R, roomname="Council", moderatedroom=True, maxusers="bogus")
    expect(cond == "not-acceptable", "bad maxusers: %s" % cond)
    cond = await configure(alice, R, roomname="Council", moderatedroom=True)
    expect(cond is None, "configured: %s" % cond)
    info = await dave.plugin["xep_0030"].get_info(jid=R, timeout=10)
    expect("muc_moderated" in info["disco_info"]["features"], "moderated feature")
    expect(any(i[3] == "Council" for i in info["disco_info"]["identities"]), "room name in identity")

    # Moderated: bob enters as a visitor and has no voice.
    pres, *_ = await bob.join(R, "Bob")
    expect(pres["muc"]["role"] == "visitor", "visitor in a moderated room: %s" % pres["muc"]["role"])
    bob.send_message(mto=R, mtype="groupchat", mbody="can I speak?")
    el = await bob.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "forbidden", "visitor message: %s" % err_condition(el))

    # Voice granted and revoked by the moderator; everyone sees it.
    alice.drain()
    await alice.muc.set_role(R, "Bob", "participant", timeout=10)
    el = await alice.next(is_presence(R + "/Bob"), "bob's new role")
    expect(item(el).get("role") == "participant", "voice granted: %s" % item(el).attrib)
    bob.send_message(mto=R, mtype="groupchat", mbody="thanks")
    await alice.next(is_message(R + "/Bob", "groupchat"), "bob speaks")
    await alice.muc.set_role(R, "Bob", "visitor", timeout=10)
    el = await bob.next(lambda e: e.get("from") == R + "/Bob" and item(e).get("role") == "visitor", "voice revoked")

    # Only moderators change roles; kick (307) with actor and reason.
    await carol.join(R, "Carol")
    cond = await bob.iq_condition(bob.muc.set_role(R, "Carol", "none", timeout=10))
    expect(cond == "forbidden", "visitor kicking: %s" % cond)
    bob.drain()
    await alice.muc.set_role(R, "Carol", "none", reason="be nice", timeout=10)
    el = await carol.next(is_presence(R + "/Carol", "unavailable"), "kicked")
    expect({307, 110} <= codes(el), "307 and 110 to the kicked: %s" % codes(el))
    expect(item(el).findtext(USER + "reason") == "be nice", "kick reason")
    el = await bob.next(is_presence(R + "/Carol", "unavailable"), "carol kicked")
    expect(307 in codes(el), "307 to the others: %s" % codes(el))

    # Ban (301): bob, in the room, and dave, outside it.
    await alice.muc.set_affiliation(R, "outcast", jid=jid("bob"), reason="spam", timeout=10)
    el = await bob.next(is_presence(R + "/Bob", "unavailable"), "banned")
    expect(301 in codes(el) and item(el).get("affiliation") == "outcast", "301 and outcast: %s %s" % (codes(el), item(el).attrib))
    await alice.muc.set_affiliation(R, "outcast", jid=jid("dave"), timeout=10)
    cond = await dave.join_error(R, "Dave")
    expect(cond == "forbidden", "banned join: %s" % cond)
    outcasts = {str(j) for j in await alice.muc.get_affiliation_list(R, "outcast", timeout=10)}
    expect(outcasts == {jid("bob"), jid("dave")}, "outcast list: %s" % outcasts)
    cond = await carol.iq_condition(carol.muc.get_affiliation_list(R, "member", timeout=10))
    expect(cond == "forbidden", "member list by a non-admin: %s" % cond)

    # Members-only: carol becomes a member, the room members-only; erin
    # may not enter, carol may.
    await alice.muc.set_affiliation(R, "member", jid=jid("carol"), timeout=10)
    await alice.muc.set_affiliation(R, "none", jid=jid("dave"), timeout=10)
    cond = await configure(alice, R, membersonly=True)
    expect(cond is None, "members-only: %s" % cond)
    el = await alice.next(is_message(R, "groupchat"), "config change notice")
    expect(104 in codes(el), "104 notice: %s" % codes(el))
    cond = await erin.join_error(R, "Erin")
    expect(cond == "registration-required", "non-member join: %s" % cond)
    pres, *_ = await carol.join(R, "Carol")
    expect(pres["muc"]["affiliation"] == "member" and pres["muc"]["role"] == "participant", "member enters with voice")
    members = {str(j) for j in await alice.muc.get_affiliation_list(R, "member", timeout=10)}
    expect(members == {jid("carol")}, "member list: %s" % members)

    # Password-protected.
    cond = await configure(alice, R, membersonly=False, passwordprotectedroom=True, roomsecret="")
    expect(cond == "not-acceptable", "password-protected without a password: %s" % cond)
    cond = await configure(alice, R, membersonly=False, passwordprotectedroom=True, roomsecret="s3cret")
    expect(cond is None, "password set: %s" % cond)
    cond = await dave.join_error(R, "Dave")
    expect(cond == "not-authorized", "no password: %s" % cond)
    cond = await dave.join_error(R, "Dave", password="wrong")
    expect(cond == "not-authorized", "wrong password: %s" % cond)
    await dave.join(R, "Dave", password="s3cret")
    info = await erin.plugin["xep_0030"].get_info(jid=R, timeout=10)
    expect("muc_passwordprotected" in info["disco_info"]["features"], "password feature")

    # Max users: alice, carol and dave are in; a cap of 3 keeps erin out.
    cond = await configure(alice, R, maxusers="3")
    expect(cond is None, "maxusers: %s" % cond)
    cond = await erin.join_error(R, "Erin", password="s3cret")
    expect(cond == "service-unavailable", "full room: %s" % cond)

    # Permission tables: a non-owner cannot configure; an admin cannot
    # kick an owner or change an admin.
    cond = await carol.iq_condition(carol.muc.get_room_config(R, timeout=10))
    expect(cond == "forbidden", "config form by a member: %s" % cond)
    await alice.muc.set_affiliation(R, "admin", jid=jid("carol"), timeout=10)
    el = await dave.next(lambda e: e.get("from") == R + "/Carol" and item(e).get("role") == "moderator", "carol promoted")
    cond = await carol.iq_condition(carol.muc.set_role(R, "Alice", "none", timeout=10))
    expect(cond == "not-allowed", "admin kicking the owner: %s" % cond)
    cond = await carol.iq_condition(carol.muc.set_affiliation(R, "owner", jid=jid("carol"), timeout=10))
    expect(cond == "forbidden", "admin granting owner: %s" % cond)
    cond = await alice.iq_condition(alice.muc.set_affiliation(R, "none", jid=jid("alice"), timeout=10))
    expect(cond == "conflict", "the last owner leaving ownership: %s" % cond)

    # Destroy with an alternate venue.
    cond = await carol.iq_condition(carol.muc.destroy(R, timeout=10))
    expect(cond == "forbidden", "destroy by an admin: %s" % cond)
    await alice.muc.destroy(R, reason="moving", altroom=ALT, timeout=10)
    for c, nick in ((alice, "Alice"), (carol, "Carol"), (dave, "Dave")):
        el = await c.next(is_presence(R + "/" + nick, "unavailable"), "destroyed")
        d = el.find(USER + "x/" + USER + "destroy")
        expect(d is not None and d.get("jid") == ALT and d.findtext(USER + "reason") == "moving",
               "destroy notice to %s" % nick)
    resp, cond = await erin.raw_iq("get", R, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    expect(cond == "item-not-found", "destroyed room gone: %s" % cond)

    # Cancelling the initial configuration destroys the new room.
    C = room("cancelled")
    await alice.join(C, "Alice")
    await alice.muc.cancel_config(C, timeout=10)
    await asyncio.sleep(0.2)
    resp, cond = await erin.raw_iq("get", C, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    expect(cond == "item-not-found", "cancelled room gone: %s" % cond)
    for c in (alice, bob, carol, dave, erin):
        await c.stop()


run(scenario)

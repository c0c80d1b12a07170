"""XEP-0045 invitations, declines and voice requests on the wire: a
mediated invitation reaches the invitee from the room with the inviter and
reason; a decline reaches the inviter; non-occupants cannot invite; in a
members-only room an owner's invitation makes the invitee a member; a
visitor's voice request reaches the moderators as a muc#request form and
the approval gives the visitor voice."""
from common import expect, jid, run
from muc_lib import USER, codes, configure, connect, err_condition, is_message, is_presence, item, room

R = room("party")
DATA = "{jabber:x:data}"


def invite_of(el):
    x = el.find(USER + "x")
    return None if x is None else x.find(USER + "invite")


def decline_of(el):
    x = el.find(USER + "x")
    return None if x is None else x.find(USER + "decline")


def field(form, var):
    for f in form.findall(DATA + "field"):
        if f.get("var") == var:
            return f.findtext(DATA + "value")
    return None


async def scenario():
    alice, bob, carol, dave = await connect("alice", "bob", "carol", "dave")
    await alice.join(R, "Alice")
    await alice.instant(R)

    # Mediated invitation and decline.
    alice.muc.invite(R, jid("bob"), reason="come over")
    el = await bob.next(lambda e: e.get("from") == R and invite_of(e) is not None, "invitation")
    inv = invite_of(el)
    expect(inv.get("from") == jid("alice") and inv.findtext(USER + "reason") == "come over",
           "invitation from alice with reason: %s" % inv.attrib)
    bob.muc.decline(R, jid("alice"), reason="busy")
    el = await alice.next(lambda e: e.get("from") == R and decline_of(e) is not None, "decline")
    d = decline_of(el)
    expect(d.get("from") == jid("bob") and d.findtext(USER + "reason") == "busy", "decline from bob: %s" % d.attrib)

    # Only occupants invite.
    dave.muc.invite(R, jid("carol"))
    el = await dave.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "not-acceptable", "non-occupant invitation: %s" % err_condition(el))
    await carol.nothing(lambda e: invite_of(e) is not None, what="invitation from a non-occupant")

    # Members-only: the owner's invitation makes carol a member.
    cond = await configure(alice, R, membersonly=True)
    expect(cond is None, "members-only: %s" % cond)
    cond = await carol.join_error(R, "Carol")
    expect(cond == "registration-required", "not yet a member: %s" % cond)
    alice.muc.invite(R, jid("carol"))
    await carol.next(lambda e: invite_of(e) is not None, "invitation")
    pres, *_ = await carol.join(R, "Carol")
    expect(pres["muc"]["affiliation"] == "member", "invitee became a member: %s" % pres["muc"]["affiliation"])

    # Voice requests in a moderated room.
    cond = await configure(alice, R, membersonly=False, moderatedroom=True)
    expect(cond is None, "moderated: %s" % cond)
    pres, *_ = await dave.join(R, "Dave")
    expect(pres["muc"]["role"] == "visitor", "dave is a visitor")
    alice.drain()
    dave.muc.request_voice(R, "participant")
    el = await alice.next(lambda e: e.get("from") == R and e.find(DATA + "x") is not None, "voice request form")
    form = el.find(DATA + "x")
    expect(field(form, "FORM_TYPE") == "http://jabber.org/protocol/muc#request", "muc#request form")
    expect(field(form, "muc#roomnick") == "Dave" and field(form, "muc#jid") == jid("dave", "r"),
           "request names dave: %s %s" % (field(form, "muc#roomnick"), field(form, "muc#jid")))
    await carol.nothing(lambda e: e.find(DATA + "x") is not None, what="voice request to a participant")
    # A participant cannot approve; the moderator can.
    approval = ("<message to='%s' xmlns='jabber:client'><x xmlns='jabber:x:data' type='submit'>"
                "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>"
                "<field var='muc#role'><value>participant</value></field>"
                "<field var='muc#jid'><value>%s</value></field>"
                "<field var='muc#roomnick'><value>Dave</value></field>"
                "<field var='muc#request_allow'><value>true</value></field></x></message>") % (R, jid("dave", "r"))
    carol.send_raw(approval)
    el = await carol.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "forbidden", "approval by a participant: %s" % err_condition(el))
    alice.send_raw(approval)
    el = await dave.next(lambda e: e.get("from") == R + "/Dave" and item(e).get("role") == "participant", "voice")
    expect(110 in codes(el), "dave's own presence")
    dave.send_message(mto=R, mtype="groupchat", mbody="finally")
    await carol.next(is_message(R + "/Dave", "groupchat"), "dave speaks")
    # Asking again with voice is refused.
    dave.muc.request_voice(R, "participant")
    el = await dave.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "not-acceptable", "request with voice: %s" % err_condition(el))
    for c in (alice, bob, carol, dave):
        await c.stop()


run(scenario)

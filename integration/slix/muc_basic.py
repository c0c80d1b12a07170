"""XEP-0045 occupant basics on the wire: room creation (201, locked until
the instant form), the presence order on join (others, then self with 110),
history before subject with XEP-0203 delays from the room, history limits,
nick conflict and nick change (303), groupchat fan-out with the same id,
private messages, non-occupants refused, disco of the service and rooms,
leaving, a dropped connection leaving its rooms, and temporary rooms
vanishing."""
import asyncio

from common import expect, jid, run
from muc_lib import (CLIENT, DELAY, SERVICE, USER, body, codes, connect, err_condition, is_message,
                     is_presence, item, kind, room)

R = room("lobby")


async def scenario():
    alice, bob, carol, dave = await connect("alice", "bob", "carol", "dave")

    # Creation: alice owns a new, locked room.
    pres, subject, occupants, history = await alice.join(R, "Alice")
    expect({110, 201} <= codes(pres.xml), "creation codes: %s" % codes(pres.xml))
    expect(item(pres.xml).get("affiliation") == "owner" and item(pres.xml).get("role") == "moderator",
           "creator is owner and moderator: %s" % item(pres.xml).attrib)
    expect(all(str(o["from"]) == R + "/Alice" for o in occupants) and not history, "a new room is empty")
    cond = await bob.join_error(R, "Bob")
    expect(cond == "item-not-found", "locked room refuses others: %s" % cond)
    await alice.instant(R)

    # Messages and subject before anyone else joins.
    for i in range(1, 4):
        alice.send_message(mto=R, mtype="groupchat", mbody="hello %d" % i)
    alice.muc.set_subject(R, "Welcome")
    await alice.next(lambda el: el.get("from") == R + "/Alice" and el.findtext(CLIENT + "subject") == "Welcome",
                     "subject reflection")

    # bob joins with maxstanzas=2: alice's presence, bob's self-presence
    # (110, last presence), history (2 newest, delayed from the room),
    # then the subject — nothing in between.
    bob.drain()
    pres, subject, occupants, history = await bob.join(R, "Bob", maxstanzas=2)
    seen = []
    while True:
        el = await bob.next()
        seen.append(el)
        if el.find(CLIENT + "subject") is not None:
            break
    kinds = [(kind(e), e.get("from")) for e in seen]
    expect(kinds == [("presence", R + "/Alice"), ("presence", R + "/Bob"),
                     ("message", R + "/Alice"), ("message", R + "/Alice"), ("message", R + "/Alice")],
           "join order: %s" % kinds)
    expect(codes(seen[0]) == set(), "others' presence has no 110: %s" % codes(seen[0]))
    expect(item(seen[0]).get("jid") is None, "participants do not see real JIDs in a semi-anonymous room")
    expect(110 in codes(seen[1]) and item(seen[1]).get("role") == "participant", "bob's self-presence")
    expect([body(e) for e in seen[2:4]] == ["hello 2", "hello 3"], "history limited to 2: %s" % [body(e) for e in seen[2:4]])
    for e in seen[2:4]:
        d = e.find(DELAY + "delay")
        expect(d is not None and d.get("from") == R and d.get("stamp"), "history carries a delay from the room")
    expect(seen[4].findtext(CLIENT + "subject") == "Welcome" and body(seen[4]) is None, "subject last, without body")
    expect(subject["subject"] == "Welcome", "slixmpp saw the subject")
    # alice, a moderator, sees bob's real JID.
    p = await alice.next(is_presence(R + "/Bob"), "bob's presence")
    expect(item(p).get("jid") == jid("bob", "r"), "moderator sees the real JID: %s" % item(p).attrib)

    # History limits: maxchars=0 gives none; seconds=3600 gives all three.
    carol.drain()
    await carol.join(R, "Carol", maxchars=0)
    await carol.next(lambda el: el.find(CLIENT + "subject") is not None, "subject")
    await carol.nothing(lambda el: el.find(DELAY + "delay") is not None, what="history with maxchars=0")

    # Nick conflict.
    cond = await dave.join_error(R, "Bob")
    expect(cond == "conflict", "nick conflict: %s" % cond)

    # Fan-out: everyone, sender included, gets the message from room/nick
    # with the sender's id.
    for c in (alice, bob, carol):
        c.drain()
    m = bob.make_message(mto=R, mtype="groupchat", mbody="hi all")
    m["id"] = "msg-1"
    m.send()
    for c in (alice, bob, carol):
        el = await c.next(is_message(R + "/Bob", "groupchat"), "bob's message")
        expect(body(el) == "hi all" and el.get("id") == "msg-1", "reflected message: %s" % el.attrib)

    # Non-occupants may not talk to the room or its occupants.
    dave.drain()
    dave.send_message(mto=R, mtype="groupchat", mbody="let me in")
    el = await dave.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "not-acceptable", "non-occupant groupchat: %s" % err_condition(el))
    dave.send_message(mto=R + "/Alice", mtype="chat", mbody="psst")
    el = await dave.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "not-acceptable", "non-occupant PM: %s" % err_condition(el))

    # Private messages go through the room, from the sender's room JID.
    carol.send_message(mto=R + "/Alice", mtype="chat", mbody="just you")
    el = await alice.next(is_message(R + "/Carol", "chat"), "PM")
    expect(body(el) == "just you" and el.find(USER + "x") is not None, "PM with muc#user x")
    await bob.nothing(is_message(R + "/Carol", "chat"), what="someone else's PM")
    carol.send_message(mto=R + "/Nobody", mtype="chat", mbody="?")
    el = await carol.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "item-not-found", "PM to unknown nick: %s" % err_condition(el))
    carol.send_message(mto=R + "/Alice", mtype="groupchat", mbody="?")
    el = await carol.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "bad-request", "groupchat to an occupant: %s" % err_condition(el))

    # Nick change: unavailable with 303 and the new nick, then available.
    alice.drain()
    bob.drain()
    bob.send_presence(pto=R + "/Robert")
    el = await alice.next(is_presence(R + "/Bob"), "old nick")
    expect(el.get("type") == "unavailable" and 303 in codes(el) and item(el).get("nick") == "Robert",
           "303 to others: %s %s" % (el.attrib, codes(el)))
    await alice.next(is_presence(R + "/Robert", "available"), "new nick")
    el = await bob.next(is_presence(R + "/Bob"), "own old nick")
    expect({303, 110} <= codes(el), "303 and 110 to self: %s" % codes(el))
    el = await bob.next(is_presence(R + "/Robert"), "own new nick")
    expect(110 in codes(el), "110 with the new nick")
    bob.send_presence(pto=R + "/Carol")
    el = await bob.next(is_presence(R + "/Carol", "error"), "nick change conflict")
    expect(err_condition(el) == "conflict", "nick change conflict: %s" % err_condition(el))

    # Presence change is broadcast.
    carol.send_presence(pto=R + "/Carol", pshow="away", pstatus="lunch")
    el = await alice.next(is_presence(R + "/Carol"), "carol away")
    expect(el.findtext(CLIENT + "show") == "away" and el.findtext(CLIENT + "status") == "lunch", "presence change")

    # Discovery.
    info = await dave.plugin["xep_0030"].get_info(jid=SERVICE, timeout=10)
    ids = info["disco_info"]["identities"]
    expect(any(i[0] == "conference" and i[1] == "text" for i in ids), "service identity: %s" % ids)
    expect("http://jabber.org/protocol/muc" in info["disco_info"]["features"], "service feature")
    items = await dave.plugin["xep_0030"].get_items(jid=SERVICE, timeout=10)
    expect(R in [i[0] for i in items["disco_items"]["items"]], "public room listed: %s" % items["disco_items"]["items"])
    info = await dave.plugin["xep_0030"].get_info(jid=R, timeout=10)
    feats = set(info["disco_info"]["features"])
    want = {"http://jabber.org/protocol/muc", "muc_public", "muc_temporary", "muc_open", "muc_unmoderated",
            "muc_semianonymous", "muc_unsecured"}
    expect(want <= feats, "room features: %s" % feats)
    items = await dave.plugin["xep_0030"].get_items(jid=SERVICE, timeout=10)
    server = await dave.plugin["xep_0030"].get_items(jid=jid("x").split("@")[1], timeout=10)
    expect(SERVICE in [i[0] for i in server["disco_items"]["items"]], "service listed by the server")

    # Leaving.
    alice.drain()
    carol.muc.leave_muc(R, "Carol", msg="bye")
    el = await carol.next(is_presence(R + "/Carol", "unavailable"), "own leave")
    expect(110 in codes(el), "110 on leaving")
    el = await alice.next(is_presence(R + "/Carol", "unavailable"), "carol left")
    expect(el.findtext(CLIENT + "status") == "bye", "leave status")

    # A dropped connection leaves its rooms.
    bob.transport.abort()
    await alice.next(is_presence(R + "/Robert", "unavailable"), "robert dropped")

    # The last one out: the temporary room is gone.
    alice.muc.leave_muc(R, "Alice")
    await alice.next(is_presence(R + "/Alice", "unavailable"), "own leave")
    await asyncio.sleep(0.2)
    resp, cond = await dave.raw_iq("get", R, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    expect(cond == "item-not-found", "the temporary room is gone: %s" % cond)
    for c in (alice, carol, dave):
        await c.stop()


run(scenario)

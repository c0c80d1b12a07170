"""MUC limits on the wire, with the server configured tight (see
muc_test.go): message size (not-acceptable), per-occupant message rate
(resource-constraint, nothing delivered), rooms per user
(resource-constraint) and the occupant cap (service-unavailable); each
error carries a text saying which limit."""
from common import expect, run
from muc_lib import CLIENT, connect, err_condition, is_message, room

R = room("limits")


def text(el):
    return el.findtext(CLIENT + "error/{urn:ietf:params:xml:ns:xmpp-stanzas}text") or ""


async def scenario():
    alice, bob, carol, dave = await connect("alice", "bob", "carol", "dave")
    await alice.join(R, "Alice")
    await alice.instant(R)
    await bob.join(R, "Bob")

    # Size: max_message_bytes = 100.
    alice.send_message(mto=R, mtype="groupchat", mbody="x" * 101)
    el = await alice.next(is_message(typ="error"), "error")
    expect(err_condition(el) == "not-acceptable" and "too large" in text(el), "size: %s %r" % (err_condition(el), text(el)))
    await bob.nothing(is_message(R + "/Alice", "groupchat"), what="oversized message")

    # Rate: burst 3, then refused.
    bob.drain()
    for i in range(5):
        alice.send_message(mto=R, mtype="groupchat", mbody="m%d" % i)
    el = await alice.next(is_message(typ="error"), "rate error")
    expect(err_condition(el) == "resource-constraint" and "slow down" in text(el), "rate: %s %r" % (err_condition(el), text(el)))
    got = []
    for _ in range(3):
        got.append((await bob.next(is_message(R + "/Alice", "groupchat"), "message")).findtext(CLIENT + "body"))
    expect(got == ["m0", "m1", "m2"], "burst delivered in order: %s" % got)
    await bob.nothing(is_message(R + "/Alice", "groupchat"), what="message past the rate")

    # Rooms per user: max_rooms_per_user = 2.
    await bob.join(room("second"), "Bob")
    await bob.instant(room("second"))
    cond = await bob.join_error(room("third"), "Bob")
    expect(cond == "resource-constraint", "rooms per user: %s" % cond)

    # Occupant cap: max_occupants = 3.
    await carol.join(R, "Carol")
    cond = await dave.join_error(R, "Dave")
    expect(cond == "service-unavailable", "occupant cap: %s" % cond)
    for c in (alice, bob, carol, dave):
        await c.stop()


run(scenario)

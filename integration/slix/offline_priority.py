"""A session with negative priority gets no offline messages (XEP-0160
§2) until it sends presence with a non-negative priority; messages to
bob meanwhile are stored, not delivered to it."""
from common import expect, jid, run
from offline_lib import OfflineClient, check_delay, utcnow


async def scenario():
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()
    t0 = utcnow()
    alice.send_raw_message(jid("bob"), "p1", body="before login")
    await alice.sync()

    bob = await OfflineClient(jid("bob", "hidden"), "bob-pw").start(priority=-1)
    await bob.nothing_more()
    # Stored while bob has only a negative-priority resource.
    alice.send_raw_message(jid("bob"), "p2", body="while hidden")
    await alice.sync()
    await bob.nothing_more(0.7)
    # Still negative: nothing.
    bob.send_presence(ppriority=-5, pstatus="still hidden")
    await bob.nothing_more(0.7)

    bob.send_presence(ppriority=0)
    got = await bob.collect(2)
    ids = [m["id"] for m in got]
    expect(ids == ["p1", "p2"], "after priority 0 got %s, want p1 p2" % ids)
    for m in got:
        check_delay(m, t0)
    await bob.nothing_more()
    # Going negative and back finds nothing new.
    bob.send_presence(ppriority=-1)
    bob.send_presence(ppriority=3)
    await bob.nothing_more()
    await alice.no_error()
    await bob.stop()
    await alice.stop()


run(scenario)

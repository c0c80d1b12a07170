"""A full offline queue (max_messages = 2) answers the sender with
<resource-constraint/> of type wait; what was stored is still delivered,
and delivery frees the queue."""
from common import condition, expect, jid, run
from offline_lib import OfflineClient


async def scenario():
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()
    for i in (1, 2, 3):
        alice.send_raw_message(jid("bob"), "q%d" % i, body="quota %d" % i)
    await alice.sync()
    err = await alice.next_error()
    expect(err["id"] == "q3", "error for %s, want q3" % err["id"])
    expect(condition(err) == "resource-constraint" and err["error"]["type"] == "wait",
           "q3 answered %s (%s), want resource-constraint (wait)" % (condition(err), err["error"]["type"]))
    await alice.no_error()

    bob = await OfflineClient(jid("bob", "phone"), "bob-pw").start()
    ids = [m["id"] for m in await bob.collect(2)]
    expect(ids == ["q1", "q2"], "delivered %s, want q1 q2" % ids)
    await bob.nothing_more()
    await bob.stop()

    # Delivered messages left the queue: two more fit again.
    alice.send_raw_message(jid("bob"), "q4", body="again")
    alice.send_raw_message(jid("bob"), "q5", body="again")
    await alice.sync()
    await alice.no_error()
    await alice.stop()


run(scenario)

"""Alice (whose debug switch is on) and bob exchange messages, alice
reads her roster, writes to carol, who is offline, and blocks dave: her
message to dave is refused by her blocklist, dave's to her by the same
list, bob's passes it. The Go test watches alice's live trace."""
import asyncio

from common import DOMAIN, Client, condition, expect, jid, run

PLUGINS = ("xep_0030", "xep_0092", "xep_0199", "xep_0191")


async def scenario():
    alice = await Client(jid("alice", "desk"), "pw", PLUGINS).start()
    bob = await Client(jid("bob", "phone"), "pw").start()
    dave = await Client(jid("dave", "pad"), "pw").start()
    await asyncio.sleep(0.2)

    # storage calls: alice's roster get; bob's, which is not hers
    await alice.get_roster()
    await bob.get_roster()

    alice.send_message(mto=jid("bob"), mbody="trace-alice-to-bob", mtype="chat")
    m = await bob.next_message()
    expect(m["body"] == "trace-alice-to-bob", "bob got %r" % m["body"])

    bob.send_message(mto=jid("alice"), mbody="trace-bob-to-alice", mtype="chat")
    m = await alice.next_message()
    expect(m["body"] == "trace-bob-to-alice", "alice got %r" % m["body"])

    # bob's own traffic, which no watcher of alice may see
    bob.send_message(mto=jid("carol"), mbody="trace-bob-to-carol", mtype="chat")
    alice.send_message(mto=jid("carol"), mbody="trace-alice-to-carol", mtype="chat")
    await bob["xep_0199"].ping(DOMAIN, timeout=5)
    await alice["xep_0199"].ping(DOMAIN, timeout=5)

    # privacy verdicts: alice's blocklist refuses her message to dave
    # (outbound) and dave's to her (inbound); bob's passes it (no item).
    await alice["xep_0191"].block(jid("dave"), timeout=5)
    alice.send_message(mto=jid("dave"), mbody="trace-alice-to-blocked-dave", mtype="chat")
    err = await alice.next_error()
    expect(condition(err) == "not-acceptable", "alice to blocked dave: %s" % condition(err))
    dave.send_message(mto=jid("alice", "desk"), mbody="trace-dave-to-alice", mtype="chat")
    err = await dave.next_error()
    expect(condition(err) == "service-unavailable", "dave to alice who blocks him: %s" % condition(err))
    bob.send_message(mto=jid("alice", "desk"), mbody="trace-bob-after-block", mtype="chat")
    m = await alice.next_message()
    while m["type"] == "error":  # the bounce of her message to dave
        m = await alice.next_message()
    expect(m["body"] == "trace-bob-after-block", "alice got %r" % m["body"])
    await alice.no_message(0.3)

    print("RESULT done", flush=True)
    for c in (alice, bob, dave):
        await c.stop()


run(scenario)

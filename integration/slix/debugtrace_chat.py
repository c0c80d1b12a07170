"""Alice (whose debug switch is on) and bob exchange messages, and alice
writes to carol, who is offline; the Go test watches alice's live trace."""
import asyncio

from common import DOMAIN, Client, expect, jid, run


async def scenario():
    alice = await Client(jid("alice", "desk"), "pw").start()
    bob = await Client(jid("bob", "phone"), "pw").start()
    await asyncio.sleep(0.2)

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
    print("RESULT done", flush=True)
    await alice.stop()
    await bob.stop()


run(scenario)

"""Bob writes to alice and carol while they are offline; prints whether
each message was stored (alice then logs in and gets hers) or bounced.
The Go test flips the offline_storage toggle between runs."""
import asyncio
import sys

from common import Client, expect, jid, run

TAG = sys.argv[1]


async def outcome(bob, to):
    bob.send_message(mto=jid(to), mbody="%s-to-%s" % (TAG, to), mtype="chat")
    try:
        e = await asyncio.wait_for(bob.message_errors.get(), 2)
        return e["error"]["condition"]
    except asyncio.TimeoutError:
        return "stored"


async def scenario():
    bob = await Client(jid("bob", "p"), "pw").start()
    for to in ("alice", "carol"):
        print("RESULT %s %s" % (to, await outcome(bob, to)), flush=True)
    await bob.stop()
    alice = await Client(jid("alice", "x"), "pw").start()
    m = await alice.next_message()
    expect(m["body"] == "%s-to-alice" % TAG, "alice got %r" % m["body"])
    await alice.stop()


run(scenario)

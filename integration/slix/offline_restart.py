"""Offline messages survive a server restart. Run twice: 'store' before
the restart, 'fetch' after it."""
import sys

from common import expect, jid, run
from offline_lib import OfflineClient

PHASE = sys.argv[1]


async def store():
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()
    for i in (1, 2, 3):
        alice.send_raw_message(jid("bob"), "s%d" % i, body="survives %d" % i)
    await alice.sync()
    await alice.no_error()
    await alice.stop()


async def fetch():
    bob = await OfflineClient(jid("bob", "phone"), "bob-pw").start()
    ids = [m["id"] for m in await bob.collect(3)]
    expect(ids == ["s1", "s2", "s3"], "after restart got %s, want s1 s2 s3" % ids)
    await bob.nothing_more()
    await bob.stop()


run({"store": store, "fetch": fetch}[PHASE])

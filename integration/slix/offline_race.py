"""Two resources of bob come online at the same moment: each stored
message reaches exactly one of them, once."""
import asyncio

from common import expect, jid, run
from offline_lib import OfflineClient

N = 60


async def scenario():
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()
    for i in range(N):
        alice.send_raw_message(jid("bob"), "r%02d" % i, body="race %d" % i)
    await alice.sync()
    await alice.no_error()

    b1 = OfflineClient(jid("bob", "one"), "bob-pw")
    b2 = OfflineClient(jid("bob", "two"), "bob-pw")
    await asyncio.gather(b1.start(), b2.start())
    await asyncio.sleep(2)
    counts = {}
    per = {}
    for c in (b1, b2):
        ids = []
        while not c.all.empty():
            ids.append(c.all.get_nowait()["id"])
        per[str(c.boundjid)] = ids
        expect(ids == sorted(ids), "%s got them out of order: %s" % (c.boundjid, ids))
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
    missing = ["r%02d" % i for i in range(N) if "r%02d" % i not in counts]
    dups = [i for i, n in counts.items() if n != 1]
    expect(not missing and not dups, "missing %s, duplicated %s (per resource %s)" % (missing, dups, {k: len(v) for k, v in per.items()}))
    print("delivered per resource:", {k: len(v) for k, v in per.items()})
    await b1.stop()
    await b2.stop()
    await alice.stop()


run(scenario)

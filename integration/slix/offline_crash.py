"""Offline messages and a crash (SIGKILL) during a burst of deliveries.
Phases: 'store N' fills bob's queue; 'burst FILE' logs bob in and appends
each id it receives to FILE until the server dies under it; 'fetch FILE N'
logs bob in after the restart and checks that every one of the N messages
arrived in one login or the other (at least once: a message whose
acknowledgement the crash prevented comes again)."""
import asyncio
import sys

from common import expect, jid, run
from offline_lib import OfflineClient


def ids_of(n):
    return ["c%04d" % i for i in range(n)]


async def store(n):
    alice = await OfflineClient(jid("alice", "laptop"), "alice-pw").start()
    for i in ids_of(n):
        alice.send_raw_message(jid("bob"), i, body="burst " + i)
    await alice.sync()
    await alice.no_error()
    await alice.stop()


async def burst(path):
    bob = OfflineClient(jid("bob", "phone"), "bob-pw")
    with open(path, "a") as f:
        bob.add_event_handler("message", lambda m: (f.write(m["id"] + "\n"), f.flush()))
        await bob.start()
        await asyncio.wait_for(bob.gone.wait(), 60)


async def fetch(path, n):
    with open(path) as f:
        before = [l.strip() for l in f if l.strip()]
    bob = await OfflineClient(jid("bob", "phone"), "bob-pw").start()
    after = []
    while True:
        try:
            m = await asyncio.wait_for(bob.all.get(), 3)
        except asyncio.TimeoutError:
            break
        after.append(m["id"])
    got = set(before) | set(after)
    missing = [i for i in ids_of(n) if i not in got]
    expect(not missing, "lost %d of %d messages (e.g. %s); %d before the crash, %d after"
           % (len(missing), n, missing[:5], len(before), len(after)))
    expect(after == sorted(after), "after the restart out of order")
    print("before the crash: %d, after: %d, redelivered: %d" % (len(before), len(after), len(set(before) & set(after))))
    await bob.stop()


phase = sys.argv[1]
if phase == "store":
    run(lambda: store(int(sys.argv[2])))
elif phase == "burst":
    run(lambda: burst(sys.argv[2]))
else:
    run(lambda: fetch(sys.argv[2], int(sys.argv[3])))

"""Roster notes across a key rotation (driven by notes_test.go, which
rotates the keys and runs xmppd notes rekey between the steps).

    notes_rekey.py set      alice sets notes on bob and carol
    notes_rekey.py add      alice sets a note on dave
    notes_rekey.py check N  alice's roster shows exactly the notes set so
                            far (N = 2 or 3), and a new login reads them too
"""
import sys

from common import expect, jid, run
from roster_lib import Q, RosterClient

NOTES = {
    "bob": "duo partner <3 & mains support \u2014 \u0440\u0430\u043d\u043a\u0435\u0434",
    "carol": "owes me a rematch",
    "dave": "added after the new key became current",
}


async def set_notes(names):
    alice = await RosterClient(jid("alice", "laptop"), "alice-pw").start()
    await alice.items()
    for name in names:
        _, err = await alice.set_item(jid(name), name=name.title(), note=NOTES[name])
        expect(err is None, "set %s's note: %s" % (name, err))
        item, _ = await alice.next_push()
        expect(item.get("jid") == jid(name) and item.findtext(Q + "note") == NOTES[name],
               "push of %s's note: %r" % (name, item.findtext(Q + "note")))
    await alice.stop()


async def check(n):
    names = ["bob", "carol", "dave"][:n]
    # A fresh session each time: the notes come from storage, not a cache.
    alice = await RosterClient(jid("alice", "phone"), "alice-pw").start()
    items, _ = await alice.items()
    expect(sorted(items) == sorted(jid(x) for x in names), "alice's roster: %s" % sorted(items))
    for name in names:
        got = items[jid(name)].findtext(Q + "note")
        expect(got == NOTES[name], "%s's note reads %r, want %r" % (name, got, NOTES[name]))
        expect(items[jid(name)].get("name") == name.title(), "%s's name: %s" % (name, items[jid(name)].attrib))
    await alice.stop()


async def scenario():
    mode = sys.argv[1]
    if mode == "set":
        await set_notes(["bob", "carol"])
    elif mode == "add":
        await set_notes(["dave"])
    elif mode == "check":
        await check(int(sys.argv[2]))
    else:
        raise SystemExit("unknown mode %r" % mode)


run(scenario)

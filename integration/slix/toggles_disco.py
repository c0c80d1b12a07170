"""Feature toggles on the wire: each user asks the server's disco#info
(XEP-0030) and reports whether urn:xmppd:roster-notes:0 is advertised to
them; the Go test compares with the rollout it configured.

usage: toggles_disco.py PREFIX N — logs in PREFIX0 … PREFIX<N-1> (password
"pw") and prints one line "RESULT USER yes|no" each.
"""
import sys

from common import Client, DOMAIN, jid, run

prefix, n = sys.argv[1], int(sys.argv[2])
FEATURE = "urn:xmppd:roster-notes:0"


async def scenario():
    for i in range(n):
        c = await Client(jid("%s%d" % (prefix, i), "r"), "pw").start(presence=False)
        info = await c["xep_0030"].get_info(jid=DOMAIN, timeout=10)
        feats = info["disco_info"]["features"]
        print("RESULT %s%d %s" % (prefix, i, "yes" if FEATURE in feats else "no"), flush=True)
        await c.stop()


run(scenario)

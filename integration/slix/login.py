"""Log in once and report how it went.

usage: login.py LOCALPART PASSWORD ok|not-authorized [MECHANISM|any] [starttls|direct]

With ok, the login must succeed (with MECHANISM when one is named), the
bound JID must be the account's, and the server must answer a ping. With a
SASL condition, the first SASL failure must carry exactly that condition
and no session may start.
"""
import sys

from common import Client, DOMAIN, expect, jid, run

local, password, want = sys.argv[1], sys.argv[2], sys.argv[3]
mech = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "any" else None
direct = len(sys.argv) > 5 and sys.argv[5] == "direct"


async def scenario():
    c = Client(jid(local, "login"), password, mechanism=mech)
    if want != "ok":
        cond = await c.start_failing(direct_tls=direct)
        expect(cond == want, "SASL failure %r, want %r" % (cond, want))
        return
    await c.start(direct_tls=direct, presence=False)
    used = c["feature_mechanisms"].mech.name
    expect(mech is None or used == mech, "authenticated with %s, want %s" % (used, mech))
    expect(str(c.boundjid) == jid(local, "login"), "bound JID %s" % c.boundjid)
    tls = c.transport.get_extra_info("ssl_object")
    expect(tls is not None, "the stream is not encrypted")
    expect(tls.version() in ("TLSv1.2", "TLSv1.3"), "TLS version %s" % tls.version())
    await c["xep_0199"].ping(DOMAIN, timeout=5)
    print("logged in as %s with %s over %s (%s)" % (c.boundjid, used, tls.version(), "direct TLS" if direct else "STARTTLS"))
    await c.stop()


run(scenario)

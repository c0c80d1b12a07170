"""In-band registration (XEP-0077) with slixmpp's xep_0077.

usage: register.py LOCALPART PASSWORD allowed|refused|not-allowed

allowed: the server advertises the register stream feature, the account
is created before SASL and the same connection then logs in with it.
not-allowed: registration is on but the registration toggle excludes
this account: the feature is offered, the registration IQ gets
<not-allowed/>, and SASL for the account fails.
refused: registration is off; the register stream feature must not be
offered, so the client cannot register, and SASL for the account fails.
(A forced registration IQ on such a stream is tested in raw_test.go:
slixmpp 1.8's force_registration never fires after asyncio TLS.)
"""
import sys

from common import Client, TIMEOUT, expect, jid, run
from slixmpp.exceptions import IqError, IqTimeout

local, password, want = sys.argv[1], sys.argv[2], sys.argv[3]


class Registrant(Client):
    def __init__(self):
        super().__init__(jid(local, "reg"), password, plugins=("xep_0030", "xep_0199", "xep_0004", "xep_0066", "xep_0077"))
        # slixmpp 1.8 holds back every IQ until a session has started,
        # the registration IQs (sent before SASL) included; this switch
        # lets them through.
        self._always_send_everything = True
        self.offered = False
        self.registered = None  # True, or the error condition / "no answer"
        self.add_event_handler("register", self.register)

    async def register(self, form):
        self.offered = True
        q = form["register"].xml
        for field in ("username", "password"):
            expect(q.find("{jabber:iq:register}" + field) is not None, "registration form without %s: %s" % (field, form))
        iq = self.Iq(stype="set")
        iq["register"]["username"] = local
        iq["register"]["password"] = password
        try:
            await iq.send(timeout=TIMEOUT)
            self.registered = True
        except IqError as e:
            self.registered = e.iq["error"]["condition"]
            self.disconnect()
        except IqTimeout:
            self.registered = "no answer"
            self.disconnect()


async def scenario():
    c = Registrant()
    c.dial()
    outcome = await c.session_outcome()
    if want == "allowed":
        expect(c.offered, "register stream feature not offered")
        expect(c.registered is True, "registration: %s" % c.registered)
        expect(outcome == "session_start", "after registering: %s" % outcome)
        expect(str(c.boundjid) == jid(local, "reg"), "bound %s" % c.boundjid)
        await c.stop()
        print("registered and logged in as", jid(local))
        return
    if want == "not-allowed":
        expect(c.offered, "register stream feature not offered")
        expect(c.registered == "not-allowed", "registration answer %r, want not-allowed" % c.registered)
        print("gated: registration answer", c.registered)
        await c.stop()
        return
    expect(not c.offered, "register stream feature offered although registration is off")
    expect(outcome == "failed_auth", "without registration: %s, want failed_auth" % outcome)
    print("refused: outcome %s, registration answer %s, stream errors %s" % (outcome, c.registered, c.stream_errors))
    await c.stop()


run(scenario)
